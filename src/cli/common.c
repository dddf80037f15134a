/* src/cli/common.c -- messages and helpers shared by the subcommands of `sana`. Only this layer
 * prints: every library error comes back as a status with a message (sana_last_error), printed as
 * one line "sana: error: ..." with exit status 1 (2 for usage errors). */
#define _GNU_SOURCE
#include <errno.h>
#include <libgen.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#include "sana.h"
#include "cli/cli.h"

static int quiet;

static void vfail(const char *fmt, va_list ap)
{
    char msg[2048];
    vsnprintf(msg, sizeof msg, fmt, ap);
    /* one line: newlines of a message become spaces */
    for (char *s = msg; *s; s++)
        if (*s == '\n') *s = ' ';
    fprintf(stderr, "sana: error: %s\n", msg);
}

int cli_fail(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vfail(fmt, ap);
    va_end(ap);
    return 1;
}

int cli_usage_fail(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vfail(fmt, ap);
    va_end(ap);
    return 2;
}

void cli_set_quiet(int q) { quiet = q; }

void cli_say(const char *fmt, ...)
{
    if (quiet) return;
    va_list ap;
    va_start(ap, fmt);
    fputs("sana: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}

double cli_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

int cli_check_writable(const char *path)
{
    char *copy = strdup(path);
    if (!copy) return cli_fail("out of memory");
    const char *dir = dirname(copy);
    struct stat st;
    int r = 0;
    if (stat(path, &st) == 0 && S_ISDIR(st.st_mode)) r = cli_fail("%s: is a folder, not an output file name", path);
    else if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode)) r = cli_fail("%s: cannot write there: folder %s does not exist", path, dir);
    else if (access(dir, W_OK) != 0) r = cli_fail("%s: cannot write there: folder %s is not writable", path, dir);
    free(copy);
    return r;
}

int cli_prepare(const cli_opts *o)
{
    if (!o->model) return cli_usage_fail("no model folder: give -m DIR (see sana --help)");
    if (o->output && cli_check_writable(o->output)) return 1;
    return 0;
}

int cli_load_pipeline(const cli_opts *o, sana_pipeline **p)
{
    if (!o->model) return cli_usage_fail("no model folder: give -m DIR (see sana --help)");
    double t0 = cli_now();
    sana_load_options lo = {.variant = o->variant, .low_memory = o->lowmem, .backend = o->backend,
                            .threads = o->threads, .quantize = o->quantize, .lora = o->lora, .nlora = o->nlora,
                            .controlnet = o->controlnet};
    if (sana_pipeline_load(p, o->model, &lo) != 0) return cli_fail("%s", sana_last_error());
    double mib = (double)sana_pipeline_weight_bytes(*p, NULL) / 1048576.0;
    cli_say("load: %s (%s, sampler %s, backend %s%s%s, prepared weights %.1f MiB): %.2f s", o->model,
            sana_pipeline_class_name(*p), sana_pipeline_sampler(*p), sana_pipeline_backend_name(*p),
            o->quantize ? ", quantize " : "", o->quantize ? o->quantize : "", mib, cli_now() - t0);
    return 0;
}

void cli_free_lines(char **v, int n)
{
    for (int i = 0; i < n; i++) free(v[i]);
    free(v);
}

/* Append a copy of line to *v (growing it); 0 or -1 when out of memory. */
static int push_line(char ***v, int *k, int *cap, const char *line)
{
    if (*k == *cap) {
        int ncap = *cap ? 2 * *cap : 16;
        char **nv = realloc(*v, sizeof(char *) * (size_t)ncap);
        if (!nv) return -1;
        *v = nv;
        *cap = ncap;
    }
    char *s = strdup(line);
    if (!s) return -1;
    (*v)[(*k)++] = s;
    return 0;
}

int cli_read_lines(const char *path, char ***lines, int *n, int skip_empty)
{
    FILE *f = fopen(path, "rb");
    if (!f) return cli_fail("%s: cannot open: %s", path, strerror(errno));
    char **v = NULL, *line = NULL;
    int k = 0, cap = 0, rc = 0, lineno = 0;
    size_t lcap = 0;
    ssize_t len;
    while (rc == 0 && (len = getline(&line, &lcap, f)) >= 0) {
        lineno++;
        while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r')) line[--len] = 0;
        if (skip_empty && len == 0) continue;
        if (!sana_utf8_valid(line)) rc = cli_fail("%s: line %d is not valid UTF-8", path, lineno);
        else if (push_line(&v, &k, &cap, line)) rc = cli_fail("out of memory");
    }
    free(line);
    fclose(f);
    if (rc) {
        cli_free_lines(v, k);
        return rc;
    }
    *lines = v;
    *n = k;
    return 0;
}

int cli_read_chi(const char *chi_file, sana_chi_mode *mode, char ***chi, int *nchi)
{
    *mode = SANA_CHI_DEFAULT;
    *chi = NULL;
    *nchi = 0;
    if (!chi_file) return 0;
    if (!strcmp(chi_file, "none")) {
        *mode = SANA_CHI_NONE;
        return 0;
    }
    if (cli_read_lines(chi_file, chi, nchi, 0)) return 1;
    *mode = *nchi ? SANA_CHI_CUSTOM : SANA_CHI_NONE;
    return 0;
}

char *cli_numbered(const char *out, int k, int many)
{
    size_t n = strlen(out) + 24;
    char *s = malloc(n);
    if (!s) return NULL;
    if (!many) {
        snprintf(s, n, "%s", out);
        return s;
    }
    const char *dot = strrchr(out, '.'), *slash = strrchr(out, '/');
    if (!dot || (slash && dot < slash)) dot = out + strlen(out);
    snprintf(s, n, "%.*s-%d%s", (int)(dot - out), out, k, dot);
    return s;
}

int cli_read_latents(const char *path, float **lat, int64_t shape[4])
{
    int64_t s[SANA_TENSOR_MAX_DIMS];
    int nd = 0;
    if (sana_tensor_read_f32(path, "latents", lat, &nd, s) != 0) return cli_fail("%s", sana_last_error());
    if (nd != 4) {
        free(*lat);
        *lat = NULL;
        return cli_fail("%s: \"latents\" must have 4 dimensions [B, C, h, w], not %d", path, nd);
    }
    memcpy(shape, s, 4 * sizeof *shape);
    return 0;
}
