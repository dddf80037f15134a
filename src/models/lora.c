/* src/models/lora.c -- LoRA files parsed, matched to weights by name, merged (see lora.h). */
#include "models/lora.h"
#include "io/safetensors.h"

#include <cblas.h>
#include <json-c/json.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    char *module; /* dotted ("transformer_blocks.0.attn1.to_q"), or kohya's flat ("transformer_blocks_0_attn1_to_q") */
    int flat;
    const sana_wt *A, *B;
    float alpha; /* < 0: not given by the file (the default applies) */
    float scale; /* user scale * alpha / r (or / sqrt(r) with rsLoRA), set once every tensor is read */
    const char *file;
    int used;
} entry;

struct sana_lora {
    sana_st_file **files;
    int nfiles;
    entry *e;
    int n, cap;
};

void sana_lora_free(sana_lora *l)
{
    if (!l) return;
    for (int i = 0; i < l->n; i++) free(l->e[i].module);
    free(l->e);
    for (int i = 0; i < l->nfiles; i++) sana_st_close(l->files[i]);
    free(l->files);
    free(l);
}

static entry *find_or_add(sana_lora *l, const char *module, size_t len, int flat, const char *file)
{
    for (int i = 0; i < l->n; i++)
        if (l->e[i].file == file && l->e[i].flat == flat && strlen(l->e[i].module) == len &&
            !strncmp(l->e[i].module, module, len))
            return &l->e[i];
    if (l->n == l->cap) {
        int nc = l->cap ? 2 * l->cap : 64;
        entry *ne = realloc(l->e, (size_t)nc * sizeof *ne);
        if (!ne) return NULL;
        l->e = ne;
        l->cap = nc;
    }
    entry *e = &l->e[l->n];
    memset(e, 0, sizeof *e);
    e->module = strndup(module, len);
    if (!e->module) return NULL;
    e->flat = flat;
    e->alpha = -1;
    e->file = file;
    l->n++;
    return e;
}

static int starts(const char *s, const char *p) { return !strncmp(s, p, strlen(p)); }

/* The metadata of diffusers' save_lora_weights: "transformer.<LoraConfig field>" -> value. */
typedef struct {
    double alpha; /* < 0: none */
    int rslora;
    json_object *alpha_pattern; /* owned by root */
    json_object *root;
} meta;

static void meta_read(meta *m, const sana_st_file *f)
{
    memset(m, 0, sizeof *m);
    m->alpha = -1;
    const char *raw = sana_st_meta(f, "lora_adapter_metadata");
    if (!raw || !(m->root = json_tokener_parse(raw)) || !json_object_is_type(m->root, json_type_object)) return;
    json_object *v;
    if (json_object_object_get_ex(m->root, "transformer.lora_alpha", &v) || json_object_object_get_ex(m->root, "lora_alpha", &v))
        m->alpha = json_object_get_double(v);
    if (json_object_object_get_ex(m->root, "transformer.use_rslora", &v) || json_object_object_get_ex(m->root, "use_rslora", &v))
        m->rslora = json_object_get_boolean(v);
    if ((json_object_object_get_ex(m->root, "transformer.alpha_pattern", &v) ||
         json_object_object_get_ex(m->root, "alpha_pattern", &v)) && json_object_is_type(v, json_type_object))
        m->alpha_pattern = v;
}

/* PEFT's pattern match of a module name: the key itself, or a suffix after a dot ("^" anchors). */
static int pattern_match(const char *module, const char *key)
{
    if (*key == '^') return !strcmp(module, key + 1);
    size_t n = strlen(module), k = strlen(key);
    return n >= k && !strcmp(module + n - k, key) && (n == k || module[n - k - 1] == '.');
}

/* One adapter file: its tensors into entries; then alpha and scale per entry. */
static sana_status read_file(sana_lora *l, sana_st_file *f, const char *path, float user)
{
    const int first = l->n;
    for (int i = 0; i < f->ntensors; i++) {
        const char *k = f->tensors[i].name;
        const sana_wt *t = &f->tensors[i].wt;
        int flat = 0;
        const char *m = k;
        if (starts(m, "text_encoder.") || starts(m, "lora_te"))
            return sana_err(SANA_ERR_UNSUPPORTED, "%s: \"%s\" is a text-encoder LoRA; SANA's LoRAs (diffusers' "
                            "SanaLoraLoaderMixin) adapt only the transformer", path, k);
        if (starts(m, "transformer.")) m += strlen("transformer.");
        else if (starts(m, "base_model.model.")) m += strlen("base_model.model.");
        else if (starts(m, "lora_transformer_")) m += strlen("lora_transformer_"), flat = 1;
        else if (starts(m, "lora_unet_")) m += strlen("lora_unet_"), flat = 1;
        static const char *const kinds[] = {".lora_A.weight", ".lora_B.weight", ".lora_down.weight",
                                            ".lora_up.weight", ".alpha"};
        int kind = -1;
        size_t len = 0;
        for (int j = 0; j < 5 && kind < 0; j++) {
            const char *p = strstr(m, kinds[j]);
            if (p && !strcmp(p, kinds[j])) kind = j, len = (size_t)(p - m);
        }
        if (kind < 0 || len == 0)
            return sana_err(SANA_ERR_UNSUPPORTED, "%s: tensor \"%s\" is not a LoRA weight libsana reads (lora_A / "
                            "lora_B, lora_down / lora_up / alpha; no DoRA, no LoRA biases)", path, k);
        entry *e = find_or_add(l, m, len, flat, path);
        if (!e) return sana_err(SANA_ERR_NOMEM, "%s: out of memory", path);
        if (kind == 4) {
            if (sana_wt_numel(t) != 1 || t->dtype > SANA_BF16)
                return sana_err(SANA_ERR_FORMAT, "%s: \"%s\" must be one float", path, k);
            float a;
            sana_wt_range_f32(&a, t, 0, 1);
            if (!isfinite(a)) return sana_err(SANA_ERR_FORMAT, "%s: \"%s\" is not finite", path, k);
            e->alpha = a;
            continue;
        }
        if (t->dtype != SANA_F32 && t->dtype != SANA_F16 && t->dtype != SANA_BF16)
            return sana_err(SANA_ERR_FORMAT, "%s: tensor \"%s\" has dtype %s (F32, F16 or BF16)", path, k,
                            sana_dtype_name(t->dtype));
        if (kind == 0 || kind == 2) e->A = t;
        else e->B = t;
    }
    meta md;
    meta_read(&md, f);
    /* diffusers without metadata: lora_alpha = the rank of the first lora_B in name order */
    double dflt = -1;
    const char *firstB = NULL;
    for (int i = first; i < l->n; i++) {
        entry *e = &l->e[i];
        if (!e->A || !e->B) {
            json_object_put(md.root);
            return sana_err(SANA_ERR_FORMAT, "%s: LoRA module \"%s\" has %s but no %s", path, e->module,
                            e->A ? "lora_A" : "lora_B", e->A ? "lora_B" : "lora_A");
        }
        const int64_t r = e->A->shape[0];
        if (e->A->ndim < 2 || e->B->ndim < 2 || e->B->shape[1] != r || r <= 0) {
            json_object_put(md.root);
            return sana_err(SANA_ERR_FORMAT, "%s: LoRA module \"%s\": lora_A [%lld, ...] and lora_B [%lld, %lld, ...] "
                            "disagree on the rank", path, e->module, (long long)e->A->shape[0],
                            (long long)e->B->shape[0], (long long)(e->B->ndim > 1 ? e->B->shape[1] : 0));
        }
        if (!firstB || strcmp(e->module, firstB) < 0) firstB = e->module, dflt = (double)r;
    }
    for (int i = first; i < l->n; i++) {
        entry *e = &l->e[i];
        const double r = (double)e->A->shape[0];
        double a = e->alpha >= 0 ? e->alpha : md.alpha >= 0 ? md.alpha : dflt;
        if (md.alpha_pattern) {
            json_object_object_foreach(md.alpha_pattern, pk, pv)
            {
                if (pattern_match(e->module, pk)) a = json_object_get_double(pv);
            }
        }
        e->scale = (float)((double)user * a / (md.rslora ? sqrt(r) : r));
    }
    json_object_put(md.root);
    return SANA_OK;
}

sana_status sana_lora_open(sana_lora **out, const char *const *specs, int n)
{
    *out = NULL;
    sana_lora *l = calloc(1, sizeof *l);
    if (!l || !(l->files = calloc((size_t)(n > 0 ? n : 1), sizeof *l->files))) {
        free(l);
        return sana_err(SANA_ERR_NOMEM, "out of memory");
    }
    for (int i = 0; i < n; i++) {
        char path[4096];
        snprintf(path, sizeof path, "%s", specs[i]);
        float user = 1.0f;
        char *colon = strrchr(path, ':');
        if (colon) { /* FILE:SCALE; a colon that is not followed by a number belongs to the name */
            char *end;
            double v = strtod(colon + 1, &end);
            if (end != colon + 1 && !*end) {
                if (!isfinite(v) || fabs(v) > 1000) {
                    sana_lora_free(l);
                    return sana_err(SANA_ERR_ARG, "--lora %s: scale %s is out of range (-1000 .. 1000)", specs[i],
                                    colon + 1);
                }
                user = (float)v;
                *colon = 0;
            }
        }
        sana_st_file *f = NULL;
        sana_status st = sana_st_open(&f, path);
        if (st == SANA_OK) {
            l->files[l->nfiles++] = f;
            st = read_file(l, f, f->path, user);
        }
        if (st != SANA_OK) {
            sana_lora_free(l);
            return st;
        }
    }
    *out = l;
    return SANA_OK;
}

/* Whether entry e targets module (dotted). */
static int matches(const entry *e, const char *module, size_t len)
{
    if (!e->flat) return strlen(e->module) == len && !strncmp(e->module, module, len);
    if (strlen(e->module) != len) return 0;
    for (size_t i = 0; i < len; i++)
        if (e->module[i] != (module[i] == '.' ? '_' : module[i])) return 0;
    return 1;
}

sana_status sana_lora_merge(sana_lora *l, const char *key, const sana_wt *w, float **merged)
{
    *merged = NULL;
    const char *dot = strstr(key, ".weight");
    if (!l || !dot || strcmp(dot, ".weight")) return SANA_OK;
    const size_t len = (size_t)(dot - key);
    const int64_t N = sana_wt_rows(w), K = sana_wt_cols(w), numel = sana_wt_numel(w);
    float *y = NULL;
    for (int i = 0; i < l->n; i++) {
        entry *e = &l->e[i];
        if (!matches(e, key, len)) continue;
        const int64_t r = e->A->shape[0];
        const int conv = w->ndim == 4 && w->shape[2] == 1 && w->shape[3] == 1;
        int ok = (w->ndim == 2 || conv) && sana_wt_numel(e->A) == r * K && sana_wt_numel(e->B) == N * r &&
                 e->B->shape[0] == N && e->A->ndim == w->ndim && e->B->ndim == w->ndim;
        if (!ok) {
            free(y);
            return sana_err(SANA_ERR_FORMAT, "%s: LoRA module \"%s\" (rank %lld: A %lld values, B %lld) does not fit "
                            "the weight \"%s\" [%lld, %lld]%s", e->file, e->module, (long long)r,
                            (long long)sana_wt_numel(e->A), (long long)sana_wt_numel(e->B), key, (long long)N,
                            (long long)K, conv ? ", 1, 1" : "");
        }
        if (!y) {
            y = malloc((size_t)(numel > 0 ? numel : 1) * sizeof(float));
            if (!y) return sana_err(SANA_ERR_NOMEM, "%s: out of memory merging LoRA", key);
            sana_wt_range_f32(y, w, 0, numel);
        }
        float *ao = NULL, *bo = NULL;
        const float *a = sana_wt_f32_view(e->A, &ao), *b = sana_wt_f32_view(e->B, &bo);
        if (!a || !b) {
            free(ao), free(bo), free(y);
            return sana_err(SANA_ERR_NOMEM, "%s: out of memory merging LoRA", key);
        }
        /* W += scale * B A: [N, r] x [r, K] */
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)N, (int)K, (int)r, e->scale, b, (int)r, a, (int)K,
                    1.0f, y, (int)K);
        free(ao);
        free(bo);
        e->used = 1;
    }
    *merged = y;
    return SANA_OK;
}

sana_status sana_lora_check_used(const sana_lora *l, const char *model_desc)
{
    for (int i = 0; l && i < l->n; i++)
        if (!l->e[i].used)
            return sana_err(SANA_ERR_FORMAT, "%s: LoRA module \"%s\" matches no weight of %s (a LoRA for another "
                            "model?)", l->e[i].file, l->e[i].module, model_desc);
    return SANA_OK;
}
