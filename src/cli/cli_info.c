/* src/cli/cli_info.c -- `sana info DIR` (each component: config, parameter count, dtypes, file size)
 * and `sana info IMAGE.png` (the generation parameters stored in the image). */
#define _POSIX_C_SOURCE 200809L
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli/cli.h"
#include "core/json.h"
#include "io/pngio.h"
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

static void print_config(const char *path)
{
    sana_json j;
    if (sana_json_load(&j, path) != SANA_OK) {
        printf("  config: %s\n", sana_errmsg());
        return;
    }
    json_object_object_foreach(j.root, key, val) {
        if (key[0] == '_' && strcmp(key, "_class_name") != 0) continue;
        printf("    %s: %s\n", key, val ? json_object_to_json_string_ext(val, JSON_C_TO_STRING_PLAIN) : "null");
    }
    sana_json_free(&j);
}

/* Parameters and dtypes of the weights of a component folder (any variant present). */
static void print_weights(const char *dir, const char *base)
{
    static const char *const variants[] = {NULL, "fp16", "bf16"};
    for (int v = 0; v < 3; v++) {
        sana_st_set *s = NULL;
        if (sana_st_set_open(&s, dir, base, variants[v]) != SANA_OK) continue;
        long long params = 0, per[SANA_DTYPE_COUNT] = {0};
        for (int f = 0; f < s->nfiles; f++)
            for (int i = 0; i < s->files[f]->ntensors; i++) {
                const sana_st_tensor *t = &s->files[f]->tensors[i];
                long long n = sana_wt_numel(&t->wt);
                params += n;
                per[t->wt.dtype] += n;
            }
        printf("  weights%s%s: %lld parameters (%.1f M) in %d file%s, dtype", variants[v] ? " variant " : "",
               variants[v] ? variants[v] : "", params, params / 1e6, s->nfiles, s->nfiles == 1 ? "" : "s");
        for (int d = 0; d < SANA_DTYPE_COUNT; d++)
            if (per[d]) printf(" %s", sana_dtype_name((sana_dtype)d));
        printf("\n");
        sana_st_set_close(s);
    }
}

static int info_dir(const char *dir)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/model_index.json", dir);
    sana_model_index mi;
    if (sana_model_index_load(&mi, path) != SANA_OK) return cli_fail("%s", sana_errmsg());
    printf("%s: %s (diffusers %s)\n", dir, mi.class_name, mi.diffusers_version ? mi.diffusers_version : "?");
    for (int i = 0; i < mi.ncomponents; i++) {
        char cdir[2048];
        if ((size_t)snprintf(cdir, sizeof cdir, "%s/%s", dir, mi.name[i]) >= sizeof cdir) continue;
        printf("\n%s: %s.%s, %.2f MB on disk\n", mi.name[i], mi.library[i] ? mi.library[i] : "-",
               mi.cls[i] ? mi.cls[i] : "-", folder_bytes(cdir) / 1e6);
        struct stat st;
        if (stat(cdir, &st) != 0 || !S_ISDIR(st.st_mode)) {
            printf("  (missing folder)\n");
            continue;
        }
        const char *cfgs[] = {"config.json", "scheduler_config.json", "tokenizer_config.json"};
        for (int c = 0; c < 3; c++) {
            if ((size_t)snprintf(path, sizeof path, "%s/%s", cdir, cfgs[c]) >= sizeof path) continue;
            if (stat(path, &st) == 0) {
                printf("  %s:\n", cfgs[c]);
                if (c == 2) printf("    (tokenizer settings; vocabulary in tokenizer.json)\n");
                else print_config(path);
                break;
            }
        }
        if (!strcmp(mi.name[i], "transformer") || !strcmp(mi.name[i], "vae"))
            print_weights(cdir, "diffusion_pytorch_model");
        else if (!strcmp(mi.name[i], "text_encoder"))
            print_weights(cdir, "model");
    }
    sana_model_index_free(&mi);
    return 0;
}

int cli_info(int argc, char **argv)
{
    if (argc != 2 || argv[1][0] == '-') {
        fprintf(stderr, "sana: error: usage: sana info DIR | IMAGE.png\n");
        return 2;
    }
    const char *what = argv[1];
    struct stat st;
    if (stat(what, &st) != 0) return cli_fail("%s: no such file or folder", what);
    if (S_ISDIR(st.st_mode)) return info_dir(what);
    if (!sana_png_is_png(what)) return cli_fail("%s: neither a pipeline folder nor a PNG image", what);
    char *params = NULL;
    if (sana_png_read_parameters(what, &params) != SANA_OK) return cli_fail("%s", sana_errmsg());
    if (!params) {
        printf("%s: no generation parameters stored\n", what);
        return 0;
    }
    printf("%s\n", params);
    free(params);
    return 0;
}
