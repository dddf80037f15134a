/*
 * src/core/json.c -- typed reads of JSON configs over json-c.
 *
 * json-c (Debian libjson-c-dev) is chosen because it accepts what Python's
 * json module writes, including the bare Infinity, -Infinity and NaN of real
 * SANA scheduler_config.json files ("lambda_min_clipped": -Infinity).
 */
#include "core/json.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* Largest config file we read (real ones are a few KB; tokenizer.json has its own reader). */
#define JSON_MAX_FILE ((size_t)64 << 20)

sana_status sana_json_parse(sana_json *j, const char *text, size_t len, const char *name)
{
    memset(j, 0, sizeof *j);
    json_tokener *tok = json_tokener_new_ex(64);
    if (!tok) return sana_err(SANA_ERR_NOMEM, "%s: out of memory", name);
    json_object *root = json_tokener_parse_ex(tok, text, (int)len);
    enum json_tokener_error e = json_tokener_get_error(tok);
    size_t end = json_tokener_get_parse_end(tok);
    json_tokener_free(tok);
    if (!root || e != json_tokener_success) {
        json_object_put(root);
        return sana_err(SANA_ERR_FORMAT, "%s: invalid JSON: %s", name,
                        e == json_tokener_continue ? "unexpected end of file" : json_tokener_error_desc(e));
    }
    for (size_t i = end; i < len; i++)
        if (text[i] != ' ' && text[i] != '\n' && text[i] != '\r' && text[i] != '\t') {
            json_object_put(root);
            return sana_err(SANA_ERR_FORMAT, "%s: invalid JSON: trailing characters after the top-level value",
                            name);
        }
    if (!json_object_is_type(root, json_type_object)) {
        json_object_put(root);
        return sana_err(SANA_ERR_FORMAT, "%s: invalid JSON: the top level is not an object", name);
    }
    j->root = root;
    j->path = strdup(name);
    return SANA_OK;
}

sana_status sana_json_load(sana_json *j, const char *path)
{
    memset(j, 0, sizeof *j);
    char *buf;
    size_t n;
    sana_status st = sana_read_file(path, JSON_MAX_FILE, &buf, &n);
    if (st != SANA_OK) return st;
    st = sana_json_parse(j, buf, n, path);
    free(buf);
    return st;
}

void sana_json_free(sana_json *j)
{
    json_object_put(j->root);
    free(j->path);
    j->root = NULL;
    j->path = NULL;
}

static json_object *get(const sana_json *j, const char *key)
{
    json_object *v = NULL;
    if (!j->root || !json_object_object_get_ex(j->root, key, &v)) return NULL;
    return v; /* NULL also for a JSON null */
}

int sana_json_has(const sana_json *j, const char *key) { return get(j, key) != NULL; }

sana_status sana_json_bad(const sana_json *j, const char *key, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return sana_err(SANA_ERR_FORMAT, "%s: key \"%s\": %s", j->path ? j->path : "(json)", key, msg);
}

static const char *type_name(json_object *v) { return json_type_to_name(json_object_get_type(v)); }

sana_status sana_json_int(const sana_json *j, const char *key, int64_t def, int64_t *out)
{
    json_object *v = get(j, key);
    *out = def;
    if (!v) return SANA_OK;
    if (json_object_is_type(v, json_type_int)) {
        *out = json_object_get_int64(v);
        return SANA_OK;
    }
    /* Python writes 2.0 for some integer fields; accept integral doubles as diffusers would. */
    if (json_object_is_type(v, json_type_double)) {
        double d = json_object_get_double(v);
        if (d == floor(d) && fabs(d) < 9e15) {
            *out = (int64_t)d;
            return SANA_OK;
        }
    }
    return sana_json_bad(j, key, "expected an integer, found %s %s", type_name(v), json_object_to_json_string(v));
}

sana_status sana_json_double(const sana_json *j, const char *key, double def, double *out)
{
    json_object *v = get(j, key);
    *out = def;
    if (!v) return SANA_OK;
    if (json_object_is_type(v, json_type_int) || json_object_is_type(v, json_type_double)) {
        *out = json_object_get_double(v);
        return SANA_OK;
    }
    return sana_json_bad(j, key, "expected a number, found %s", type_name(v));
}

sana_status sana_json_bool(const sana_json *j, const char *key, int def, int *out)
{
    json_object *v = get(j, key);
    *out = def;
    if (!v) return SANA_OK;
    if (json_object_is_type(v, json_type_boolean)) {
        *out = json_object_get_boolean(v) ? 1 : 0;
        return SANA_OK;
    }
    return sana_json_bad(j, key, "expected true or false, found %s", type_name(v));
}

sana_status sana_json_string(const sana_json *j, const char *key, const char *def, char **out)
{
    json_object *v = get(j, key);
    const char *s = def;
    if (v) {
        if (!json_object_is_type(v, json_type_string))
            return sana_json_bad(j, key, "expected a string, found %s", type_name(v));
        s = json_object_get_string(v);
    }
    *out = s ? strdup(s) : NULL;
    return SANA_OK;
}

static sana_status array_of(const sana_json *j, const char *key, int max, int *n, json_object **arr)
{
    json_object *v = get(j, key);
    *n = -1;
    *arr = NULL;
    if (!v) return SANA_OK;
    if (!json_object_is_type(v, json_type_array))
        return sana_json_bad(j, key, "expected an array, found %s", type_name(v));
    size_t len = json_object_array_length(v);
    if (len > (size_t)max) return sana_json_bad(j, key, "array of %zu items, at most %d supported", len, max);
    *n = (int)len;
    *arr = v;
    return SANA_OK;
}

sana_status sana_json_int_array(const sana_json *j, const char *key, int64_t *out, int max, int *n)
{
    json_object *a;
    sana_status st = array_of(j, key, max, n, &a);
    for (int i = 0; st == SANA_OK && a && i < *n; i++) {
        json_object *e = json_object_array_get_idx(a, (size_t)i);
        if (!json_object_is_type(e, json_type_int))
            return sana_json_bad(j, key, "item %d is not an integer", i);
        out[i] = json_object_get_int64(e);
    }
    return st;
}

sana_status sana_json_double_array(const sana_json *j, const char *key, double *out, int max, int *n)
{
    json_object *a;
    sana_status st = array_of(j, key, max, n, &a);
    for (int i = 0; st == SANA_OK && a && i < *n; i++) {
        json_object *e = json_object_array_get_idx(a, (size_t)i);
        if (!json_object_is_type(e, json_type_int) && !json_object_is_type(e, json_type_double))
            return sana_json_bad(j, key, "item %d is not a number", i);
        out[i] = json_object_get_double(e);
    }
    return st;
}

sana_status sana_json_string_array(const sana_json *j, const char *key, char **out, int max, int *n)
{
    json_object *a;
    sana_status st = array_of(j, key, max, n, &a);
    for (int i = 0; st == SANA_OK && a && i < *n; i++) {
        json_object *e = json_object_array_get_idx(a, (size_t)i);
        if (!json_object_is_type(e, json_type_string)) {
            for (int k = 0; k < i; k++) free(out[k]);
            *n = -1;
            return sana_json_bad(j, key, "item %d is not a string", i);
        }
        out[i] = strdup(json_object_get_string(e));
    }
    return st;
}

/* ------------------------------------------------------------------ model_index.json */

void sana_model_index_free(sana_model_index *mi)
{
    free(mi->class_name);
    free(mi->diffusers_version);
    for (int i = 0; i < mi->ncomponents; i++) {
        free(mi->name[i]);
        free(mi->library[i]);
        free(mi->cls[i]);
    }
    memset(mi, 0, sizeof *mi);
}

/*
 * model_index.json, as DiffusionPipeline.save_pretrained writes it:
 *   {"_class_name": "SanaPipeline", "_diffusers_version": "0.35.2",
 *    "transformer": ["diffusers", "SanaTransformer2DModel"], "feature_extractor": [null, null], ...}
 * Keys starting with "_" are pipeline attributes; every other key whose value is a
 * two-item array is a component. A non-array value (a config flag) is skipped.
 */
sana_status sana_model_index_load(sana_model_index *mi, const char *path)
{
    memset(mi, 0, sizeof *mi);
    sana_json j;
    sana_status st = sana_json_load(&j, path);
    if (st != SANA_OK) return st;
    if ((st = sana_json_string(&j, "_class_name", NULL, &mi->class_name)) != SANA_OK ||
        (st = sana_json_string(&j, "_diffusers_version", NULL, &mi->diffusers_version)) != SANA_OK)
        goto fail;
    if (!mi->class_name) {
        st = sana_json_bad(&j, "_class_name", "missing: not a diffusers model_index.json");
        goto fail;
    }
    json_object_object_foreach(j.root, key, val) {
        if (key[0] == '_' || !val || !json_object_is_type(val, json_type_array)) continue;
        if (json_object_array_length(val) != 2) {
            st = sana_json_bad(&j, key, "a component must be [library, class]");
            goto fail;
        }
        json_object *lib = json_object_array_get_idx(val, 0), *cls = json_object_array_get_idx(val, 1);
        if ((lib && !json_object_is_type(lib, json_type_string)) || (cls && !json_object_is_type(cls, json_type_string))) {
            st = sana_json_bad(&j, key, "a component must be [library, class] strings or nulls");
            goto fail;
        }
        if (mi->ncomponents == SANA_MAX_COMPONENTS) {
            st = sana_json_bad(&j, key, "more than %d components", SANA_MAX_COMPONENTS);
            goto fail;
        }
        int i = mi->ncomponents++;
        mi->name[i] = strdup(key);
        mi->library[i] = lib ? strdup(json_object_get_string(lib)) : NULL;
        mi->cls[i] = cls ? strdup(json_object_get_string(cls)) : NULL;
    }
    sana_json_free(&j);
    return SANA_OK;
fail:
    sana_json_free(&j);
    sana_model_index_free(mi);
    return st;
}

const char *sana_model_index_class(const sana_model_index *mi, const char *component)
{
    for (int i = 0; i < mi->ncomponents; i++)
        if (strcmp(mi->name[i], component) == 0) return mi->cls[i];
    return NULL;
}
