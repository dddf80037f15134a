/* src/pipeline/pipeline_convert.c -- `sana convert`: a pipeline folder with its transformer and text
 * encoder quantized once (doc/quantization.md), which `sana generate` maps directly.
 *
 * The quantized components are loaded by the models themselves (ref backend, quantize at load,
 * every weight noted), so exactly the matrices that `--quantize` quantizes are quantized, with the
 * same bits; everything else of their files is written as it was. The other components are copied.
 * The folder is written under OUT.tmp-PID and renamed at the end: nothing half-written is left.
 */
#include "pipeline/pipeline_impl.h"
#include "core/json.h"
#include "io/safetensors.h"

#include <dirent.h>
#include <errno.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char *join(const char *a, const char *b)
{
    size_t n = strlen(a) + strlen(b) + 2;
    char *s = malloc(n);
    if (s) snprintf(s, n, "%s/%s", a, b);
    return s;
}

static sana_status copy_file(const char *from, const char *to)
{
    FILE *in = fopen(from, "rb");
    if (!in) return sana_err(SANA_ERR_IO, "%s: %s", from, strerror(errno));
    FILE *out = fopen(to, "wb");
    if (!out) {
        fclose(in);
        return sana_err(SANA_ERR_IO, "%s: %s", to, strerror(errno));
    }
    char buf[1 << 16];
    size_t n;
    int ok = 1;
    while (ok && (n = fread(buf, 1, sizeof buf, in)) > 0) ok = fwrite(buf, 1, n, out) == n;
    ok = ok && !ferror(in);
    fclose(in);
    if (fclose(out) != 0) ok = 0;
    return ok ? SANA_OK : sana_err(SANA_ERR_IO, "%s: cannot copy to %s", from, to);
}

/* Copy the folder from into to (regular files and folders; other entries are skipped). skip: a
 * NULL-terminated list of names at this level not to copy. */
static sana_status copy_tree(const char *from, const char *to, const char *const *skip)
{
    if (mkdir(to, 0755) != 0 && errno != EEXIST) return sana_err(SANA_ERR_IO, "%s: %s", to, strerror(errno));
    DIR *d = opendir(from);
    if (!d) return sana_err(SANA_ERR_IO, "%s: %s", from, strerror(errno));
    sana_status st = SANA_OK;
    struct dirent *e;
    while (st == SANA_OK && (e = readdir(d))) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
        int skipped = 0;
        for (int i = 0; skip && skip[i]; i++) skipped |= !strcmp(skip[i], e->d_name);
        if (skipped) continue;
        char *a = join(from, e->d_name), *b = join(to, e->d_name);
        struct stat s;
        if (!a || !b) st = sana_err(SANA_ERR_NOMEM, "out of memory");
        else if (stat(a, &s) != 0) st = SANA_OK; /* a dangling link: nothing to copy */
        else if (S_ISDIR(s.st_mode)) st = copy_tree(a, b, NULL);
        else if (S_ISREG(s.st_mode)) st = copy_file(a, b);
        free(a);
        free(b);
    }
    closedir(d);
    return st;
}

static void remove_tree(const char *path)
{
    DIR *d = opendir(path);
    if (d) {
        struct dirent *e;
        while ((e = readdir(d))) {
            if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
            char *p = join(path, e->d_name);
            struct stat s;
            if (p && lstat(p, &s) == 0 && S_ISDIR(s.st_mode)) remove_tree(p);
            else if (p) unlink(p);
            free(p);
        }
        closedir(d);
    }
    rmdir(path);
}

/* Copy in/name to out/name. */
static sana_status copy_dir_named(const char *in, const char *out, const char *name)
{
    char *a = join(in, name), *b = join(out, name);
    sana_status st = a && b ? copy_tree(a, b, NULL) : sana_err(SANA_ERR_NOMEM, "out of memory");
    free(a);
    free(b);
    return st;
}

/* config.json of a component with "quantization_config" added (what was quantized, how). */
static sana_status write_config(const char *from_dir, const char *to_dir, sana_quant q)
{
    char *from = join(from_dir, "config.json"), *to = join(to_dir, "config.json");
    sana_status st = from && to ? SANA_OK : sana_err(SANA_ERR_NOMEM, "out of memory");
    json_object *root = st == SANA_OK ? json_object_from_file(from) : NULL;
    if (st == SANA_OK && !json_object_is_type(root, json_type_object))
        st = sana_err(SANA_ERR_FORMAT, "%s: not a JSON object", from);
    if (st == SANA_OK) {
        json_object *qc = json_object_new_object();
        json_object_object_add(qc, "quant_method", json_object_new_string("libsana"));
        json_object_object_add(qc, "weights", json_object_new_string(sana_quant_name(q)));
        if (q == SANA_Q4) json_object_object_add(qc, "group_size", json_object_new_int(SANA_Q4_GROUP));
        json_object_object_add(qc, "scale_suffix", json_object_new_string("_scale"));
        json_object_object_add(root, "quantization_config", qc);
        if (json_object_to_file_ext(to, root, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE) != 0)
            st = sana_err(SANA_ERR_IO, "%s: cannot write", to);
    }
    json_object_put(root);
    free(from);
    free(to);
    return st;
}

/* Write the weights a model read (store w, in the order it read them) and the other tensors of its
 * files (set) into path: Q8 as I8 + F32 scales, Q4 as U8 [rows, cols / 2] + F32 scales. */
static sana_status write_weights(const char *path, const sana_weights *w, const sana_st_set *set)
{
    int cap = 2 * w->nrec + 16, n = 0;
    for (int f = 0; f < set->nfiles; f++) cap += set->files[f]->ntensors;
    sana_st_write_tensor *t = calloc((size_t)cap, sizeof *t);
    char **names = calloc((size_t)cap, sizeof *names);
    sana_status st = t && names ? SANA_OK : sana_err(SANA_ERR_NOMEM, "out of memory");
    const char *key;
    const sana_wt *x;
    for (int i = 0; st == SANA_OK && sana_weights_each(w, i, &key, &x); i++) {
        sana_st_write_tensor *e = &t[n++];
        e->name = key;
        e->dtype = x->dtype == SANA_Q8 ? SANA_I8 : x->dtype == SANA_Q4 ? SANA_U8 : x->dtype;
        e->ndim = x->ndim;
        memcpy(e->shape, x->shape, sizeof e->shape);
        e->data = x->data;
        if (x->dtype != SANA_Q8 && x->dtype != SANA_Q4) continue;
        const int64_t rows = sana_wt_rows(x), cols = sana_wt_cols(x);
        if (x->dtype == SANA_Q4) {
            e->ndim = 2;
            e->shape[0] = rows;
            e->shape[1] = cols / 2;
        }
        size_t len = strlen(key) + 8;
        char *sn = names[n] = malloc(len);
        if (!sn) {
            st = sana_err(SANA_ERR_NOMEM, "out of memory");
            break;
        }
        snprintf(sn, len, "%s_scale", key);
        sana_st_write_tensor *s = &t[n++];
        s->name = sn;
        s->dtype = SANA_F32;
        s->ndim = x->dtype == SANA_Q8 ? 1 : 2;
        s->shape[0] = rows;
        s->shape[1] = cols / SANA_Q4_GROUP;
        s->data = x->scale;
    }
    /* tensors of the files that the model does not read: as they are */
    for (int f = 0; st == SANA_OK && f < set->nfiles; f++)
        for (int i = 0; i < set->files[f]->ntensors; i++) {
            const sana_st_tensor *ft = &set->files[f]->tensors[i];
            int seen = 0;
            for (int j = 0; j < n && !seen; j++) seen = !strcmp(t[j].name, ft->name);
            if (seen) continue;
            sana_st_write_tensor *e = &t[n++];
            e->name = ft->name;
            e->dtype = ft->wt.dtype;
            e->ndim = ft->wt.ndim;
            memcpy(e->shape, ft->wt.shape, sizeof e->shape);
            e->data = ft->wt.data;
        }
    static const char *const meta[] = {"format", "pt", "quantized_by", "libsana sana convert"};
    if (st == SANA_OK) st = sana_st_write(path, t, n, meta, 2);
    for (int i = 0; names && i < cap; i++) free(names[i]);
    free(names);
    free(t);
    return st;
}

/* One quantized component: load it recorded, write config.json and the weights. */
static sana_status convert_component(const char *in, const char *out, const char *name, const char *variant,
                                     sana_quant q)
{
    char *from = join(in, name), *to = join(out, name);
    sana_status st = from && to ? SANA_OK : sana_err(SANA_ERR_NOMEM, "out of memory");
    const int dit = !strcmp(name, "transformer");
    sana_dit *m = NULL;
    sana_gemma2 *g = NULL;
    if (st == SANA_OK && mkdir(to, 0755) != 0) st = sana_err(SANA_ERR_IO, "%s: %s", to, strerror(errno));
    if (st == SANA_OK)
        st = dit ? sana_dit_load_recorded(&m, from, variant, sana_backend_ref(), q)
                 : sana_gemma2_load_recorded(&g, from, variant, sana_backend_ref(), q);
    /* the files other than weights (e.g. generation_config.json) */
    static const char *const skip[] = {"config.json", NULL};
    if (st == SANA_OK) st = copy_tree(from, to, skip);
    if (st == SANA_OK) {
        DIR *d = opendir(to); /* the copied weight files are replaced by the one written below */
        struct dirent *e;
        while (d && (e = readdir(d))) {
            const char *dot = strstr(e->d_name, ".safetensors");
            if (!dot) continue;
            char *p = join(to, e->d_name);
            if (p) unlink(p);
            free(p);
        }
        if (d) closedir(d);
    }
    if (st == SANA_OK) st = write_config(from, to, q);
    if (st == SANA_OK) {
        char *wp = join(to, dit ? "diffusion_pytorch_model.safetensors" : "model.safetensors");
        st = wp ? write_weights(wp, dit ? sana_dit_weights(m) : sana_gemma2_weights(g),
                                dit ? sana_dit_tensors(m) : sana_gemma2_tensors(g))
                : sana_err(SANA_ERR_NOMEM, "out of memory");
        free(wp);
    }
    if (m) sana_dit_free(m);
    if (g) sana_gemma2_free(g);
    free(from);
    free(to);
    return st;
}

int sana_pipeline_convert(const char *in, const char *out, const sana_load_options *opt)
{
    sana_err_clear();
    comps c;
    memset(&c, 0, sizeof c);
    struct stat s;
    sana_status st = SANA_OK;
    char *mip = in ? join(in, "model_index.json") : NULL;
    if (!in || !out || !*out) st = sana_err(SANA_ERR_ARG, "convert: give the input folder and the output folder");
    else if (!mip || stat(mip, &s) != 0)
        st = sana_err(SANA_ERR_MISSING, "%s: no model_index.json (not a diffusers pipeline folder)", in);
    else if (stat(out, &s) == 0) st = sana_err(SANA_ERR_ARG, "%s: exists already (convert writes a new folder)", out);
    if (st == SANA_OK) st = sana_pipeline_parse_quantize(&c.te_quant, &c.dit_quant, opt ? opt->quantize : NULL);
    if (st == SANA_OK && c.te_quant == SANA_F32 && c.dit_quant == SANA_F32)
        st = sana_err(SANA_ERR_ARG, "convert: nothing to do: give --quantize int8|q4 (or component=type,...)");
    sana_model_index mi;
    memset(&mi, 0, sizeof mi);
    if (st == SANA_OK) st = sana_model_index_load(&mi, mip);
    if (st == SANA_OK && (!sana_model_index_class(&mi, "transformer") || !sana_model_index_class(&mi, "text_encoder")))
        st = sana_err(SANA_ERR_MISSING, "%s: model_index.json names no transformer or no text_encoder", mip);
    char tmp[4096];
    snprintf(tmp, sizeof tmp, "%s.tmp-%ld", out ? out : "", (long)getpid());
    int made = 0;
    if (st == SANA_OK) {
        static const char *const skip[] = {"transformer", "text_encoder", NULL};
        made = 1;
        st = copy_tree(in, tmp, skip);
    }
    const char *variant = opt ? opt->variant : NULL;
    if (st == SANA_OK)
        st = c.dit_quant == SANA_F32 ? copy_dir_named(in, tmp, "transformer")
                                     : convert_component(in, tmp, "transformer", variant, c.dit_quant);
    if (st == SANA_OK)
        st = c.te_quant == SANA_F32 ? copy_dir_named(in, tmp, "text_encoder")
                                    : convert_component(in, tmp, "text_encoder", variant, c.te_quant);
    if (st == SANA_OK && rename(tmp, out) != 0) st = sana_err(SANA_ERR_IO, "%s: cannot rename to %s: %s", tmp, out, strerror(errno));
    if (st != SANA_OK && made) remove_tree(tmp);
    sana_model_index_free(&mi);
    free(mip);
    return st;
}
