/* tests/golden.c -- the golden conformance harness (see golden.h). */
#include "golden.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int total_checks, total_failures;

static const struct { const char *name; double tol; } tolerances[] = {
#define TOL(name, value, why) {#name, value},
#include "tolerances.def"
#undef TOL
};

double golden_tol(const char *tol_name)
{
    for (size_t i = 0; i < sizeof tolerances / sizeof tolerances[0]; i++)
        if (strcmp(tolerances[i].name, tol_name) == 0) return tolerances[i].tol;
    fprintf(stderr, "FAIL: no tolerance named \"%s\" in tests/tolerances.def\n", tol_name);
    exit(99);
}

void golden_fail(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("FAIL: ", stdout);
    vprintf(fmt, ap);
    fputc('\n', stdout);
    va_end(ap);
    fflush(stdout);
    total_checks++;
    total_failures++;
}

const char *golden_dir(void)
{
    const char *d = getenv("GOLDEN_DIR");
    return d && *d ? d : "golden";
}

golden *golden_open(const char *name)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", golden_dir(), name);
    if (access(path, R_OK) != 0) snprintf(path, sizeof path, "%s/%s.gz", golden_dir(), name);
    golden *g = calloc(1, sizeof *g);
    if (sana_st_open(&g->f, path) != SANA_OK) {
        printf("ERROR: cannot open golden %s: %s\n", name, sana_errmsg());
        exit(99);
    }
    g->path = strdup(path);
    printf("golden %s (script %s, diffusers %s, torch %s)\n", name,
           golden_meta(g, "script") ? golden_meta(g, "script") : "?",
           golden_meta(g, "diffusers") ? golden_meta(g, "diffusers") : "-",
           golden_meta(g, "torch") ? golden_meta(g, "torch") : "?");
    return g;
}

int golden_has(golden *g, const char *name) { return sana_st_find(g->f, name) != NULL; }

const sana_st_tensor *golden_get(golden *g, const char *name)
{
    const sana_st_tensor *t = sana_st_find(g->f, name);
    if (!t) {
        printf("ERROR: golden %s has no tensor \"%s\"\n", g->path, name);
        exit(99);
    }
    return t;
}

float *golden_f32(golden *g, const char *name, int64_t *numel)
{
    const sana_st_tensor *t = golden_get(g, name);
    int64_t n = sana_wt_numel(&t->wt);
    float *v = malloc((size_t)(n > 0 ? n : 1) * sizeof(float));
    sana_convert_f32(v, t->wt.data, t->wt.dtype, 0, n);
    if (numel) *numel = n;
    return v;
}

int64_t *golden_i64(golden *g, const char *name, int64_t *numel)
{
    const sana_st_tensor *t = golden_get(g, name);
    int64_t n = sana_wt_numel(&t->wt);
    int64_t *v = malloc((size_t)(n > 0 ? n : 1) * sizeof(int64_t));
    const unsigned char *p = t->wt.data;
    for (int64_t i = 0; i < n; i++) {
        switch (t->wt.dtype) {
        case SANA_I64: memcpy(&v[i], p + 8 * i, 8); break;
        case SANA_I32: { int32_t x; memcpy(&x, p + 4 * i, 4); v[i] = x; break; }
        case SANA_U8: case SANA_BOOL: v[i] = p[i]; break;
        default: { float f; sana_convert_f32(&f, t->wt.data, t->wt.dtype, i, 1); v[i] = (int64_t)f; }
        }
    }
    if (numel) *numel = n;
    return v;
}

const char *golden_meta(golden *g, const char *key) { return sana_st_meta(g->f, key); }

int golden_compare(golden *g, const char *what, const float *got, const float *want, int64_t n,
                   const char *tol_name)
{
    double tol = golden_tol(tol_name), scale = 0, max_abs = 0, max_rel = 0;
    int64_t worst = -1, bad_special = -1;
    for (int64_t i = 0; i < n; i++)
        if (isfinite(want[i]) && fabs(want[i]) > scale) scale = fabs(want[i]);
    for (int64_t i = 0; i < n; i++) {
        int fg = isfinite(got[i]), fw = isfinite(want[i]);
        if (fg != fw || (!fw && !(isnan(got[i]) && isnan(want[i])) && got[i] != want[i])) {
            if (bad_special < 0) bad_special = i;
            continue;
        }
        if (!fw) continue;
        double d = fabs((double)got[i] - want[i]);
        if (d > max_abs) { max_abs = d; worst = i; }
        /* elementwise relative error, with a floor at 1e-3 of the scale so near-zeros do not dominate */
        double r = d / fmax(fabs(want[i]), 1e-3 * scale + 1e-30);
        if (r > max_rel) max_rel = r;
    }
    double err = max_abs / fmax(scale, 1e-30);
    int fail = bad_special >= 0 || err > tol || n <= 0;
    printf("%s: %-40s n=%-8lld max_abs=%.3e max_abs/scale=%.3e max_rel=%.3e tol=%.1e (%s)\n",
           fail ? "FAIL" : "ok  ", what, (long long)n, max_abs, err, max_rel, tol, tol_name);
    if (bad_special >= 0)
        printf("      NaN/Inf mismatch at %lld: got %g want %g\n", (long long)bad_special, got[bad_special],
               want[bad_special]);
    else if (fail && worst >= 0)
        printf("      worst at %lld: got %.9g want %.9g\n", (long long)worst, got[worst], want[worst]);
    fflush(stdout);
    total_checks++;
    total_failures += fail;
    if (g) { g->checks++; g->failures += fail; }
    return fail;
}

int golden_check(golden *g, const char *what, const float *got, int64_t n, const char *want_name,
                 const char *tol_name)
{
    int64_t m;
    float *want = golden_f32(g, want_name, &m);
    int fail;
    if (m != n) {
        golden_fail("%s: %lld values computed, golden \"%s\" has %lld", what, (long long)n, want_name,
                    (long long)m);
        if (g) { g->checks++; g->failures++; }
        fail = 1;
    } else {
        fail = golden_compare(g, what, got, want, n, tol_name);
    }
    free(want);
    return fail;
}

int golden_check_i64(golden *g, const char *what, const int64_t *got, int64_t n, const char *want_name)
{
    int64_t m;
    int64_t *want = golden_i64(g, want_name, &m);
    int64_t bad = -1;
    for (int64_t i = 0; i < n && i < m && bad < 0; i++)
        if (got[i] != want[i]) bad = i;
    int fail = m != n || bad >= 0;
    printf("%s: %-40s n=%lld exact\n", fail ? "FAIL" : "ok  ", what, (long long)n);
    if (m != n) printf("      length %lld, golden %lld\n", (long long)n, (long long)m);
    if (bad >= 0) printf("      first mismatch at %lld: got %lld want %lld\n", (long long)bad, (long long)got[bad],
                         (long long)want[bad]);
    free(want);
    total_checks++;
    total_failures += fail;
    if (g) { g->checks++; g->failures += fail; }
    return fail;
}

int golden_close(golden *g)
{
    int f = g->failures;
    sana_st_close(g->f);
    free(g->path);
    free(g);
    return f;
}

void golden_pass(void)
{
    total_checks++;
}

int golden_exit(void)
{
    printf("%d checks, %d failed\n", total_checks, total_failures);
    if (total_checks == 0) {
        printf("FAIL: no check ran\n");
        return 1;
    }
    return total_failures ? 1 : 0;
}
