/* src/api/checkpoint.c -- sana_checkpoint_describe: what `sana info DIR` prints about a pipeline
 * folder (each component: class, size on disk, config keys, parameter counts and dtypes), written
 * into a malloc'd string (open_memstream) so that the library prints nothing itself. */
#define _POSIX_C_SOURCE 200809L
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "sana.h"
#include "core/json.h"
#include "core/status.h"
#include "io/safetensors.h"

/* Total size of the regular files directly in a folder. */
static long long folder_bytes(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d) return 0;
    long long total = 0;
    struct dirent *e;
    char path[4096];
    while ((e = readdir(d)) != NULL) {
        struct stat st;
        if ((size_t)snprintf(path, sizeof path, "%s/%s", dir, e->d_name) >= sizeof path) continue;
        if (stat(path, &st) == 0 && S_ISREG(st.st_mode)) total += st.st_size;
    }
    closedir(d);
    return total;
}

/* The keys of a config file (those starting with "_" left out, except _class_name). */
static void put_config(FILE *out, const char *path)
{
    sana_json j;
    if (sana_json_load(&j, path) != SANA_OK) {
        fprintf(out, "  config: %s\n", sana_errmsg());
        return;
    }
    json_object_object_foreach(j.root, key, val) {
        if (key[0] == '_' && strcmp(key, "_class_name") != 0) continue;
        fprintf(out, "    %s: %s\n", key, val ? json_object_to_json_string_ext(val, JSON_C_TO_STRING_PLAIN) : "null");
    }
    sana_json_free(&j);
}

/* Parameters and dtypes of the weights of a component folder (each variant present). */
static void put_weights(FILE *out, const char *dir, const char *base)
{
    static const char *const variants[] = {NULL, "fp16", "bf16"};
    for (int v = 0; v < 3; v++) {
        sana_st_set *s = NULL;
        if (sana_st_set_open(&s, dir, base, variants[v]) != SANA_OK) continue;
        long long params = 0, per[SANA_FILE_DTYPE_COUNT] = {0};
        for (int f = 0; f < s->nfiles; f++)
            for (int i = 0; i < s->files[f]->ntensors; i++) {
                const sana_st_tensor *t = &s->files[f]->tensors[i];
                long long n = sana_wt_numel(&t->wt);
                params += n;
                per[t->wt.dtype] += n;
            }
        fprintf(out, "  weights%s%s: %lld parameters (%.1f M) in %d file%s, dtype", variants[v] ? " variant " : "",
                variants[v] ? variants[v] : "", params, params / 1e6, s->nfiles, s->nfiles == 1 ? "" : "s");
        for (int d = 0; d < SANA_FILE_DTYPE_COUNT; d++)
            if (per[d]) fprintf(out, " %s", sana_dtype_name((sana_dtype)d));
        fprintf(out, "\n");
        sana_st_set_close(s);
    }
}

/* The first config file of a component folder that exists. */
static void put_component_config(FILE *out, const char *cdir)
{
    static const char *const cfgs[] = {"config.json", "scheduler_config.json", "tokenizer_config.json"};
    char path[4096];
    struct stat st;
    for (int c = 0; c < 3; c++) {
        if ((size_t)snprintf(path, sizeof path, "%s/%s", cdir, cfgs[c]) >= sizeof path) continue;
        if (stat(path, &st) != 0) continue;
        fprintf(out, "  %s:\n", cfgs[c]);
        if (c == 2) fprintf(out, "    (tokenizer settings; vocabulary in tokenizer.json)\n");
        else put_config(out, path);
        return;
    }
}

static void put_component(FILE *out, const char *dir, const sana_model_index *mi, int i)
{
    char cdir[2048];
    if ((size_t)snprintf(cdir, sizeof cdir, "%s/%s", dir, mi->name[i]) >= sizeof cdir) return;
    fprintf(out, "\n%s: %s.%s, %.2f MB on disk\n", mi->name[i], mi->library[i] ? mi->library[i] : "-",
            mi->cls[i] ? mi->cls[i] : "-", folder_bytes(cdir) / 1e6);
    struct stat st;
    if (stat(cdir, &st) != 0 || !S_ISDIR(st.st_mode)) {
        fprintf(out, "  (missing folder)\n");
        return;
    }
    put_component_config(out, cdir);
    if (!strcmp(mi->name[i], "transformer") || !strcmp(mi->name[i], "vae"))
        put_weights(out, cdir, "diffusion_pytorch_model");
    else if (!strcmp(mi->name[i], "text_encoder"))
        put_weights(out, cdir, "model");
}

int sana_checkpoint_describe(const char *dir, char **text)
{
    *text = NULL;
    char path[4096];
    if ((size_t)snprintf(path, sizeof path, "%s/model_index.json", dir) >= sizeof path)
        return sana_err(SANA_ERR_ARG, "%s: path too long", dir);
    sana_model_index mi;
    sana_status st = sana_model_index_load(&mi, path);
    if (st != SANA_OK) return st;
    size_t len = 0;
    FILE *out = open_memstream(text, &len);
    if (!out) {
        sana_model_index_free(&mi);
        return sana_err(SANA_ERR_NOMEM, "out of memory");
    }
    fprintf(out, "%s: %s (diffusers %s)\n", dir, mi.class_name, mi.diffusers_version ? mi.diffusers_version : "?");
    for (int i = 0; i < mi.ncomponents; i++) put_component(out, dir, &mi, i);
    sana_model_index_free(&mi);
    if (fclose(out) != 0 || !*text) {
        free(*text);
        *text = NULL;
        return sana_err(SANA_ERR_NOMEM, "out of memory");
    }
    return SANA_OK;
}
