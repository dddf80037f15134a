/* src/server/request.c -- the bodies of POST /v1/images/generations (OpenAI) and POST /sdapi/v1/txt2img
 * (AUTOMATIC1111) to a srv_gen. Strict: the body is one JSON object (json-c's strict mode, nothing
 * after it), every field is known and of its type and range, or the answer is a 400 that names the
 * field and the problem. Nothing here touches the pipeline: absurd requests are refused before any
 * work. */
#define _GNU_SOURCE
#include <errno.h>
#include <json-c/json.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sana.h"
#include "server/server.h"

/* The fields of each API, each declared once: its JSON name, its kind, and where it goes. */
typedef enum {
    FLD_PROMPT,   /* required string */
    FLD_NEGATIVE, /* string */
    FLD_N,        /* whole number 1 .. SRV_MAX_IMAGES */
    FLD_SIZE,     /* "WxH" */
    FLD_WIDTH,    /* whole number */
    FLD_HEIGHT,
    FLD_STEPS,    /* whole number 1 .. SRV_MAX_STEPS */
    FLD_CFG,      /* number 0 .. SRV_MAX_SCALE */
    FLD_PAG,
    FLD_SEED,     /* whole number 0 .. SRV_MAX_SEED, or -1 (random) */
    FLD_FORMAT,   /* response_format: "b64_json" */
    FLD_IGNORED   /* a string the API sends that changes nothing here (model, user) */
} field_kind;

typedef struct {
    const char *name;
    field_kind kind;
} field;

static const field openai_fields[] = {
    {"prompt", FLD_PROMPT}, {"n", FLD_N}, {"size", FLD_SIZE}, {"response_format", FLD_FORMAT},
    {"model", FLD_IGNORED}, {"user", FLD_IGNORED},
    /* SANA's own fields, as extensions */
    {"negative_prompt", FLD_NEGATIVE}, {"seed", FLD_SEED}, {"num_inference_steps", FLD_STEPS},
    {"guidance_scale", FLD_CFG}, {"pag_scale", FLD_PAG},
};

static const field a1111_fields[] = {
    {"prompt", FLD_PROMPT}, {"negative_prompt", FLD_NEGATIVE}, {"steps", FLD_STEPS}, {"cfg_scale", FLD_CFG},
    {"width", FLD_WIDTH}, {"height", FLD_HEIGHT}, {"seed", FLD_SEED}, {"batch_size", FLD_N},
    {"pag_scale", FLD_PAG},
};

#define NFIELDS(a) ((int)(sizeof a / sizeof a[0]))

static int fail(char *err, size_t nerr, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int fail(char *err, size_t nerr, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, nerr, fmt, ap);
    va_end(ap);
    return -1;
}

/* ------------------------------------------------------------------ typed values */

static int get_string(const char *name, json_object *v, size_t max, char **out, char *err, size_t nerr)
{
    if (!json_object_is_type(v, json_type_string)) return fail(err, nerr, "%s: must be a string", name);
    const char *s = json_object_get_string(v);
    size_t len = (size_t)json_object_get_string_len(v);
    if (strlen(s) != len) return fail(err, nerr, "%s: must not contain NUL characters", name);
    if (len > max) return fail(err, nerr, "%s: %zu bytes, more than the limit of %zu", name, len, max);
    if (!sana_utf8_valid(s)) return fail(err, nerr, "%s: is not valid UTF-8", name);
    if (out && !(*out = strdup(s))) return fail(err, nerr, "out of memory");
    return 0;
}

/* A whole number in [lo, hi]: a JSON integer (not 2.0, not "2", not true). */
static int get_int(const char *name, json_object *v, int64_t lo, int64_t hi, int64_t *out, char *err, size_t nerr)
{
    if (!json_object_is_type(v, json_type_int)) return fail(err, nerr, "%s: must be a whole number", name);
    errno = 0;
    int64_t x = json_object_get_int64(v);
    /* json-c clamps what does not fit in int64 (and says so in errno for uint64 values) */
    if (errno || x < lo || x > hi || (x == INT64_MAX && json_object_get_uint64(v) != (uint64_t)INT64_MAX))
        return fail(err, nerr, "%s: must be between %lld and %lld", name, (long long)lo, (long long)hi);
    *out = x;
    return 0;
}

static int get_number(const char *name, json_object *v, double lo, double hi, double *out, char *err, size_t nerr)
{
    if (!json_object_is_type(v, json_type_int) && !json_object_is_type(v, json_type_double))
        return fail(err, nerr, "%s: must be a number", name);
    double x = json_object_get_double(v);
    if (!isfinite(x) || x < lo || x > hi) return fail(err, nerr, "%s: must be between %g and %g", name, lo, hi);
    *out = x;
    return 0;
}

/* Any side in range: the server generates with resolution binning (the default of sana_generate), which
 * runs the model at the nearest aspect-ratio bin and resizes the image back, as diffusers does. */
static int check_side(const char *name, int64_t x, char *err, size_t nerr)
{
    if (x < SANA_MIN_SIZE || x > SRV_MAX_SIDE)
        return fail(err, nerr, "%s: %lld is not between %d and %d", name, (long long)x, SANA_MIN_SIZE, SRV_MAX_SIDE);
    return 0;
}

/* size: "WxH", both sides whole numbers in range. */
static int get_size(json_object *v, srv_gen *g, char *err, size_t nerr)
{
    if (!json_object_is_type(v, json_type_string)) return fail(err, nerr, "size: must be a string \"WIDTHxHEIGHT\"");
    const char *s = json_object_get_string(v);
    char *end;
    long long w = -1, h = -1;
    if (*s >= '0' && *s <= '9') {
        errno = 0;
        w = strtoll(s, &end, 10);
        if (!errno && *end == 'x' && end[1] >= '0' && end[1] <= '9') {
            h = strtoll(end + 1, &end, 10);
            if (errno || *end) h = -1;
        } else w = -1;
    }
    if (w < 0 || h < 0) return fail(err, nerr, "size: \"%.40s\" is not \"WIDTHxHEIGHT\" (e.g. \"512x512\")", s);
    if (check_side("size: width", w, err, nerr) || check_side("size: height", h, err, nerr)) return -1;
    g->width = (int)w, g->height = (int)h;
    return 0;
}

/* ------------------------------------------------------------------ fields */

static int set_field(const field *f, json_object *v, srv_gen *g, char *err, size_t nerr)
{
    int64_t x;
    switch (f->kind) {
    case FLD_PROMPT: return get_string(f->name, v, SRV_MAX_PROMPT, &g->prompt, err, nerr);
    case FLD_NEGATIVE: return get_string(f->name, v, SRV_MAX_PROMPT, &g->negative, err, nerr);
    case FLD_IGNORED: return get_string(f->name, v, 256, NULL, err, nerr);
    case FLD_N:
        if (get_int(f->name, v, 1, SRV_MAX_IMAGES, &x, err, nerr)) return -1;
        g->n = (int)x;
        return 0;
    case FLD_SIZE: return get_size(v, g, err, nerr);
    case FLD_WIDTH:
    case FLD_HEIGHT:
        if (get_int(f->name, v, INT32_MIN, INT32_MAX, &x, err, nerr) || check_side(f->name, x, err, nerr)) return -1;
        *(f->kind == FLD_WIDTH ? &g->width : &g->height) = (int)x;
        return 0;
    case FLD_STEPS:
        if (get_int(f->name, v, 1, SRV_MAX_STEPS, &x, err, nerr)) return -1;
        g->steps = (int)x;
        return 0;
    case FLD_CFG: g->cfg_set = 1; return get_number(f->name, v, 0, SRV_MAX_SCALE, &g->cfg, err, nerr);
    case FLD_PAG: g->pag_set = 1; return get_number(f->name, v, 0, SRV_MAX_SCALE, &g->pag, err, nerr);
    case FLD_SEED:
        if (get_int(f->name, v, -1, SRV_MAX_SEED, &x, err, nerr)) return -1;
        g->seed_random = x < 0;
        g->seed = x < 0 ? 0 : (uint64_t)x;
        return 0;
    case FLD_FORMAT: {
        if (!json_object_is_type(v, json_type_string)) return fail(err, nerr, "response_format: must be a string");
        const char *s = json_object_get_string(v);
        if (!strcmp(s, "b64_json")) return 0;
        if (!strcmp(s, "url"))
            return fail(err, nerr, "response_format: \"url\" is not supported: this server keeps no files; "
                                   "use \"b64_json\"");
        return fail(err, nerr, "response_format: \"%.40s\" is not \"b64_json\"", s);
    }
    }
    return fail(err, nerr, "%s: unknown field kind", f->name);
}

static const field *find_field(srv_api api, const char *name)
{
    const field *t = api == SRV_API_OPENAI ? openai_fields : a1111_fields;
    int n = api == SRV_API_OPENAI ? NFIELDS(openai_fields) : NFIELDS(a1111_fields);
    for (int i = 0; i < n; i++)
        if (!strcmp(t[i].name, name)) return &t[i];
    return NULL;
}

static int parse_object(srv_api api, json_object *obj, srv_gen *g, char *err, size_t nerr)
{
    json_object_object_foreach(obj, key, val) {
        const field *f = find_field(api, key);
        if (!f) return fail(err, nerr, "%.64s: unknown field", key);
        if (!val) return fail(err, nerr, "%s: must not be null", key);
        if (set_field(f, val, g, err, nerr)) return -1;
    }
    if (!g->prompt) return fail(err, nerr, "prompt: missing (a string is required)");
    if ((g->width == 0) != (g->height == 0)) return fail(err, nerr, "%s: missing (give width and height, or neither)",
                                                         g->width ? "height" : "width");
    return 0;
}

int srv_request_parse(srv_api api, const char *body, size_t len, srv_gen *g, char *err, size_t nerr)
{
    memset(g, 0, sizeof *g);
    g->api = api;
    g->n = 1;
    g->seed_random = 1;
    if (len == 0) return fail(err, nerr, "body: empty (a JSON object is required)");
    if (len > SRV_MAX_BODY) return fail(err, nerr, "body: %zu bytes, more than the limit of %d", len, SRV_MAX_BODY);
    json_tokener *tok = json_tokener_new_ex(16);
    if (!tok) return fail(err, nerr, "out of memory");
    json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
    json_object *obj = json_tokener_parse_ex(tok, body, (int)len);
    enum json_tokener_error jerr = json_tokener_get_error(tok);
    size_t used = json_tokener_get_parse_end(tok);
    json_tokener_free(tok);
    int rc = 0;
    if (!obj || jerr != json_tokener_success)
        rc = fail(err, nerr, "body: not valid JSON (%s at byte %zu)",
                  jerr == json_tokener_continue ? "unexpected end" : json_tokener_error_desc(jerr), used);
    else if (used < len && strspn(body + used, " \t\r\n") < len - used)
        rc = fail(err, nerr, "body: text after the JSON object at byte %zu", used);
    else if (!json_object_is_type(obj, json_type_object)) rc = fail(err, nerr, "body: must be a JSON object");
    else rc = parse_object(api, obj, g, err, nerr);
    json_object_put(obj);
    if (rc) srv_gen_free(g);
    return rc;
}

void srv_gen_free(srv_gen *g)
{
    free(g->prompt);
    free(g->negative);
    g->prompt = g->negative = NULL;
}
