/*
 * tests/test-backend-ops.c -- every op of every compiled backend against ref (after ggml's
 * tests/test-backend-ops.cpp).
 *
 *   test-backend-ops [test] [-o OP[,OP..]] [-b BACKEND] [--all]     compare (what make check runs)
 *   test-backend-ops perf [-o OP[,OP..]] [-b BACKEND] [-t SECONDS]  time per call, GFLOP/s and GB/s
 *
 * Test mode: each case (tests/backend_ops_<family>.c) runs on ref twice (same thread count, same
 * bits: determinism) and on each other backend twice (determinism again); the backend's output
 * must agree with ref within the op's tolerance (tests/tolerances.def, the backend_* entries,
 * relative to max |ref output|), NaN/Inf must appear at the same places, and the guard floats after
 * each output must survive. Every op must have a case and a tolerance.
 *
 * Fused against unfused: a backend with a fusion switch (cpu: SANA_CPU_FUSION=0, read once when
 * the backend is made) is run a second time by a child process, this program re-executed with
 * the switch off and --unfused-dump FILE: it runs the same cases on that backend only and writes
 * their outputs. The parent then checks, case by case, unfused against ref (the fallback path is
 * correct too) and fused against unfused (the fused kernel computes what the unfused sequence
 * does), both within the op's tolerance, and prints "same bits" where the two paths agree exactly
 * (no fused kernel for that case).
 *
 * Under AddressSanitizer the cases marked BO_BIG (real-config sizes that take seconds on ref) are
 * skipped, and said so, unless --all.
 */
#include "config.h"
#include "backend_ops.h"
#include "golden.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#if defined(__unix__) || defined(__APPLE__)
#include <sys/wait.h>
#include <unistd.h>
#define HAVE_FORK_EXEC 1
#endif

#if defined(__SANITIZE_ADDRESS__)
#define SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SANITIZED 1
#endif
#endif
#ifndef SANITIZED
#define SANITIZED 0
#endif

static const bo_case *const families[] = {bo_cases_core, bo_cases_dit, bo_cases_dcae, bo_cases_gemma};

/* The tolerance of each op's backend comparison: an entry of tests/tolerances.def. */
static const struct { sana_op op; const char *tol; } op_tols[] = {
    {SANA_OP_linear, "backend_linear"}, {SANA_OP_conv2d, "backend_linear"}, {SANA_OP_mlp2, "backend_linear"},
    {SANA_OP_patch_embed, "backend_linear"}, {SANA_OP_glumbconv, "backend_linear"},
    {SANA_OP_glumbconv_tokens, "backend_linear"},
    {SANA_OP_layer_norm, "backend_norm"}, {SANA_OP_rms_norm, "backend_norm"},
    {SANA_OP_modulated_layer_norm, "backend_norm"}, {SANA_OP_rms_norm_2d, "backend_norm"},
    {SANA_OP_batch_norm_2d, "backend_norm"}, {SANA_OP_gemma_rms_norm, "backend_norm"},
    {SANA_OP_silu, "backend_activation"}, {SANA_OP_gelu_tanh, "backend_activation"},
    {SANA_OP_gelu_erf, "backend_activation"}, {SANA_OP_mish, "backend_activation"},
    {SANA_OP_gemma_geglu, "backend_activation"},
    {SANA_OP_timestep_embedding, "backend_trig"}, {SANA_OP_pos_embed_2d, "backend_trig"},
    {SANA_OP_gemma_rope, "backend_trig"},
    {SANA_OP_linear_attn, "backend_attn"}, {SANA_OP_softmax_attn, "backend_attn"},
    {SANA_OP_ms_linear_attn, "backend_attn"}, {SANA_OP_ms_quadratic_attn, "backend_attn"},
    {SANA_OP_gemma_attention, "backend_attn"},
    {SANA_OP_gated_residual, "backend_rounding"}, {SANA_OP_attn_mask_bias, "backend_rounding"},
    {SANA_OP_dcae_shortcut_down, "backend_rounding"},
    {SANA_OP_relu, "backend_exact"}, {SANA_OP_add, "backend_exact"}, {SANA_OP_unpatchify, "backend_exact"},
    {SANA_OP_transpose_batched, "backend_exact"}, {SANA_OP_dit_modulation, "backend_exact"},
    {SANA_OP_pixel_shuffle, "backend_exact"}, {SANA_OP_pixel_unshuffle, "backend_exact"},
    {SANA_OP_upsample_nearest, "backend_exact"}, {SANA_OP_dcae_shortcut_up, "backend_exact"},
    {SANA_OP_gemma_embed, "backend_exact"},
};

/* Backends whose fused kernels can be switched off by an environment variable. */
static const struct { const char *backend, *env; } fusion_switches[] = {{"cpu", "SANA_CPU_FUSION"}};

typedef struct {
    int perf, all;
    const char *ops;     /* -o: comma-separated op names, NULL: all */
    const char *backend; /* -b: NULL: all */
    double seconds;      /* -t */
    const char *dump;    /* --unfused-dump FILE (the child of the fusion check) */
    const char *dump_backend;
} options;

static const char *op_tol(sana_op op)
{
    for (size_t i = 0; i < sizeof op_tols / sizeof op_tols[0]; i++)
        if (op_tols[i].op == op) return op_tols[i].tol;
    return NULL;
}

/* 1 when op is in the comma-separated list (NULL: every op). */
static int op_selected(const char *list, sana_op op)
{
    if (!list) return 1;
    const char *name = sana_op_name(op);
    size_t len = strlen(name);
    for (const char *s = list; *s;) {
        const char *e = strchr(s, ',');
        size_t n = e ? (size_t)(e - s) : strlen(s);
        if (n == len && !strncmp(s, name, n)) return 1;
        s += n + (e != NULL);
    }
    return 0;
}

/* 1 when the case runs in this invocation; *why says why not. */
static int case_selected(const options *o, const bo_case *c, const char **why)
{
    *why = NULL;
    if (!op_selected(o->ops, c->op)) return 0;
    if (SANITIZED && !o->perf && !o->all && (c->flags & BO_BIG)) {
        *why = "real-config size, skipped under AddressSanitizer (--all runs it)";
        return 0;
    }
    return 1;
}

static float *run_case(const bo_case *c, const sana_backend *be, const options *o, int64_t *n)
{
    bo_rng r = {0x5a4a};
    memset(&bo_state, 0, sizeof bo_state);
    bo_state.op = c->op;
    bo_state.prep_flags = (c->flags & BO_COMPACT) ? SANA_PREP_COMPACT : 0;
    bo_state.perf = o->perf;
    bo_state.perf_seconds = o->seconds;
    *n = 0;
    float *out = c->run(c, be, &r, n);
    bo_release_all();
    return out;
}

/* ---------------------------------------------------------------- comparison */

typedef struct {
    double err, scale; /* max |a - b| over finite pairs, max |a| */
    int special;       /* NaN/Inf at different places */
    int same_bits;
} diff;

static diff compare(const float *a, const float *b, int64_t n)
{
    diff d = {0, 0, 0, memcmp(a, b, (size_t)n * sizeof(float)) == 0};
    for (int64_t i = 0; i < n; i++) {
        if (isfinite(a[i]) != isfinite(b[i]) || (isnan(a[i]) != isnan(b[i]))) d.special = 1;
        else if (isfinite(a[i])) {
            d.scale = fmax(d.scale, fabs(a[i]));
            d.err = fmax(d.err, fabs((double)a[i] - b[i]));
        }
    }
    return d;
}

/* Print one comparison line; return 1 on failure. */
static int report(const char *what, const bo_case *c, const float *want, const float *got, int64_t n, double tol)
{
    diff d = compare(want, got, n);
    int bad = d.special || d.err > tol * fmax(d.scale, 1e-30);
    printf("%s: %-20s %-16s %-46s max_abs=%.3e rel=%.3e tol=%.1e%s%s\n", bad ? "FAIL" : "ok  ", what,
           sana_op_name(c->op), c->name, d.err, d.err / fmax(d.scale, 1e-30), tol, d.special ? " NaN/Inf mismatch" : "",
           d.same_bits ? " (same bits)" : "");
    return bad;
}

/* ---------------------------------------------------------------- fused vs unfused (child) */

typedef struct { int32_t index, status; int64_t n; } dump_rec; /* status: 0 ok, 1 not supported, 2 failed */

/* The child: run the selected cases on one backend, with the environment's fusion switch as set,
 * and write each output to the dump file. */
static int child_dump(const options *o)
{
    const sana_backend *be = sana_backend_find(o->dump_backend);
    FILE *f = fopen(o->dump, "wb");
    if (!be || !f) {
        fprintf(stderr, "test-backend-ops: cannot dump %s to %s\n", o->dump_backend, o->dump);
        if (f) fclose(f);
        return 99;
    }
    int32_t index = 0;
    for (size_t fam = 0; fam < sizeof families / sizeof families[0]; fam++)
        for (const bo_case *c = families[fam]; c->name; c++, index++) {
            const char *why;
            if (!case_selected(o, c, &why)) continue;
            int64_t n;
            float *out = run_case(c, be, o, &n);
            dump_rec h = {index, bo_state.unsupported ? 1 : bo_state.guard_damaged ? 2 : 0, n};
            if (h.status) h.n = 0;
            if (fwrite(&h, sizeof h, 1, f) != 1 || (h.n && fwrite(out, sizeof(float), (size_t)h.n, f) != (size_t)h.n)) {
                fclose(f);
                return 99;
            }
            free(out);
        }
    return fclose(f) ? 99 : 0;
}

typedef struct {
    const sana_backend *be; /* the backend with a fusion switch */
    FILE *f;                /* the child's outputs, read case by case */
    char path[256];
} unfused_run;

/* Re-execute this program with the fusion switch off; the child writes outputs to a file. */
static int start_unfused(unfused_run *u, const sana_backend *be, const char *env, const options *o, const char *argv0)
{
#ifdef HAVE_FORK_EXEC
    const char *tmp = getenv("TMPDIR");
    snprintf(u->path, sizeof u->path, "%s/sana-bops-unfused-%ld.bin", tmp && *tmp ? tmp : "/tmp", (long)getpid());
    const char *exe = access("/proc/self/exe", X_OK) == 0 ? "/proc/self/exe" : argv0;
    char *args[12];
    int na = 0;
    args[na++] = (char *)argv0;
    args[na++] = "--unfused-dump";
    args[na++] = u->path;
    args[na++] = (char *)be->name;
    if (o->ops) { args[na++] = "-o"; args[na++] = (char *)o->ops; }
    if (o->all) args[na++] = "--all";
    args[na] = NULL;
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        setenv(env, "0", 1);
        execv(exe, args);
        _exit(127);
    }
    int st = 0;
    if (pid < 0 || waitpid(pid, &st, 0) < 0 || !WIFEXITED(st) || WEXITSTATUS(st) != 0) {
        printf("FAIL: the unfused run (%s=0 %s --unfused-dump) did not finish\n", env, argv0);
        remove(u->path);
        return 1;
    }
    u->be = be;
    u->f = fopen(u->path, "rb");
    return u->f == NULL;
#else
    (void)u; (void)be; (void)env; (void)o; (void)argv0;
    printf("skip: fused vs unfused: no fork/exec on this system\n");
    return 0;
#endif
}

/* Compare the child's output of case `index` with ref's and with the fused one; return failures. */
static int check_unfused(unfused_run *u, int32_t index, const bo_case *c, const float *want, const float *fused,
                         int64_t n, double tol)
{
    dump_rec h;
    if (!u->f) return 0;
    if (fread(&h, sizeof h, 1, u->f) != 1 || h.index != index) {
        printf("FAIL: %s unfused: the dump does not hold case %s\n", u->be->name, c->name);
        fclose(u->f);
        u->f = NULL;
        return 1;
    }
    if (h.status == 1) { /* said with the fused run's line, unless only the unfused path lacks it */
        if (fused) printf("skip: %-20s %-16s %s (not supported)\n", "unfused", sana_op_name(c->op), c->name);
        return 0;
    }
    float *o = malloc((size_t)(h.n > 0 ? h.n : 1) * sizeof(float));
    int fail = h.status != 0 || h.n != n || fread(o, sizeof(float), (size_t)h.n, u->f) != (size_t)h.n;
    char what[64];
    if (fail) printf("FAIL: %s unfused %s: %s\n", u->be->name, c->name, h.status ? "guard or op failure" : "size");
    else {
        snprintf(what, sizeof what, "%s unfused", u->be->name);
        fail += report(what, c, want, o, n, tol);
        if (fused) {
            snprintf(what, sizeof what, "%s fused-vs-unfused", u->be->name);
            fail += report(what, c, o, fused, n, tol);
        }
    }
    free(o);
    return fail;
}

/* ---------------------------------------------------------------- test mode */

/* One case on ref (twice) and on every selected backend (twice); return failures. */
static int test_case(const options *o, const bo_case *c, int32_t index, unfused_run *u)
{
    const char *tol_name = op_tol(c->op); /* NULL: check_coverage has failed the run already */
    const int glu = c->op == SANA_OP_glumbconv || c->op == SANA_OP_glumbconv_tokens;
    const double tol_op = tol_name ? golden_tol(tol_name) : 0, tol_int8 = golden_tol(glu ? "backend_int8_glu" : "backend_int8");
    int64_t n1, n2;
    double t0 = bo_now();
    float *a = run_case(c, sana_backend_ref(), o, &n1);
    double t_ref = bo_now() - t0;
    int guard = bo_state.guard_damaged;
    float *b = run_case(c, sana_backend_ref(), o, &n2);
    int same = n1 == n2 && memcmp(a, b, (size_t)n1 * sizeof(float)) == 0, finite = 1;
    for (int64_t i = 0; i < n1; i++) finite &= isfinite(a[i]) != 0;
    int failures = guard || !same || !finite;
    printf("%s: %-20s %-16s %-46s n=%lld %.0f ms%s%s%s\n", failures ? "FAIL" : "ok  ", "ref", sana_op_name(c->op),
           c->name, (long long)n1, 1e3 * t_ref, guard ? " guard floats overwritten" : "",
           same ? "" : " not deterministic", finite ? "" : " non-finite output");
    free(b);
    const float *fused_out = NULL;
    float *keep = NULL;
    int fused_int8 = 0;
    for (int k = 1; k < sana_backend_count(); k++) {
        const sana_backend *be = sana_backend_get(k);
        if (o->backend && strcmp(o->backend, be->name)) continue;
        int64_t nb, nb2;
        float *out = run_case(c, be, o, &nb);
        if (bo_state.unsupported) {
            printf("skip: %-20s %-16s %s (not supported)\n", be->name, sana_op_name(c->op), c->name);
            free(out);
            continue;
        }
        if (bo_state.guard_damaged || nb != n1) {
            printf("FAIL: %-20s %-16s %s: %s\n", be->name, sana_op_name(c->op), c->name,
                   bo_state.guard_damaged ? "guard floats overwritten or op failure" : "size differs");
            failures++;
            free(out);
            continue;
        }
        /* int8 products (the main weight, Q8, packed for them) quantize the activations too */
        const double tol = bo_state.have_wdtype && bo_state.wdtype == SANA_PACKED && bo_state.file_wdtype == SANA_Q8
                               ? tol_int8 : tol_op;
        failures += report(be->name, c, a, out, n1, tol);
        float *again = run_case(c, be, o, &nb2);
        if (nb2 != nb || memcmp(out, again, (size_t)nb * sizeof(float))) {
            printf("FAIL: %-20s %-16s %s: not deterministic (two runs differ)\n", be->name, sana_op_name(c->op),
                   c->name);
            failures++;
        }
        free(again);
        if (u->be == be) fused_out = keep = out, fused_int8 = tol == tol_int8 && tol != tol_op;
        else free(out);
    }
    if (u->be) failures += check_unfused(u, index, c, a, fused_out, n1, fused_int8 ? tol_int8 : tol_op);
    free(keep);
    free(a);
    return failures;
}

/* Every op has a case and a tolerance; return failures. */
static int check_coverage(void)
{
    int covered[SANA_OP_COUNT] = {0}, failures = 0;
    for (size_t f = 0; f < sizeof families / sizeof families[0]; f++)
        for (const bo_case *c = families[f]; c->name; c++) covered[c->op] = 1;
    for (int op = 0; op < SANA_OP_COUNT; op++) {
        if (!covered[op]) {
            printf("FAIL: op %s has no case in tests/backend_ops_*.c\n", sana_op_name((sana_op)op));
            failures++;
        }
        if (!op_tol((sana_op)op)) {
            printf("FAIL: op %s has no tolerance in op_tols (tests/test-backend-ops.c)\n", sana_op_name((sana_op)op));
            failures++;
        }
    }
    return failures;
}

/* Start the fusion check's child for the first selected backend with a fusion switch. */
static int start_fusion_check(unfused_run *u, const options *o, const char *argv0)
{
    for (size_t i = 0; i < sizeof fusion_switches / sizeof fusion_switches[0]; i++) {
        const sana_backend *be = sana_backend_find(fusion_switches[i].backend);
        if (!be || (o->backend && strcmp(o->backend, be->name))) continue;
        const char *v = getenv(fusion_switches[i].env);
        if (v && !strcmp(v, "0")) {
            printf("skip: fused vs unfused on %s: %s=0 is set, this run is the unfused one\n", be->name,
                   fusion_switches[i].env);
            return 0;
        }
        return start_unfused(u, be, fusion_switches[i].env, o, argv0);
    }
    return 0;
}

static int test_mode(const options *o, const char *argv0)
{
    int failures = check_coverage(), ncases = 0, nskipped = 0;
    unfused_run u = {0};
    if (o->backend && !sana_backend_find(o->backend)) {
        printf("FAIL: no backend named %s\n", o->backend);
        return 1;
    }
    failures += start_fusion_check(&u, o, argv0);
    double t0 = bo_now();
    int32_t index = 0;
    for (size_t f = 0; f < sizeof families / sizeof families[0]; f++)
        for (const bo_case *c = families[f]; c->name; c++, index++) {
            const char *why;
            if (!case_selected(o, c, &why)) {
                if (why) {
                    printf("skip: %-20s %-16s %s: %s\n", "all", sana_op_name(c->op), c->name, why);
                    nskipped++;
                }
                continue;
            }
            ncases++;
            failures += test_case(o, c, index, &u);
            fflush(stdout);
        }
    if (u.f) fclose(u.f);
    if (u.be) remove(u.path);
    printf("%d cases (%d skipped) on %d backend(s)%s, %.1f s, %d failed\n", ncases, nskipped, sana_backend_count(),
           u.be ? ", fused vs unfused" : "", bo_now() - t0, failures);
    return failures ? 1 : 0;
}

/* ---------------------------------------------------------------- perf mode */

static int perf_mode(const options *o)
{
    printf("%-16s %-46s %-4s %6s %12s %12s %9s %9s\n", "op", "case", "be", "calls", "us/call", "best us", "GFLOP/s",
           "GB/s");
    for (size_t f = 0; f < sizeof families / sizeof families[0]; f++)
        for (const bo_case *c = families[f]; c->name; c++) {
            const char *why;
            if (!case_selected(o, c, &why)) continue;
            for (int k = 0; k < sana_backend_count(); k++) {
                const sana_backend *be = sana_backend_get(k);
                if (o->backend && strcmp(o->backend, be->name)) continue;
                int64_t n;
                free(run_case(c, be, o, &n));
                if (bo_state.unsupported) {
                    printf("%-16s %-46s %-4s (not supported)\n", sana_op_name(c->op), c->name, be->name);
                    continue;
                }
                double t = bo_state.seconds / (double)(bo_state.calls ? bo_state.calls : 1);
                printf("%-16s %-46s %-4s %6lld %12.1f %12.1f %9.2f %9.2f\n", sana_op_name(c->op), c->name, be->name,
                       (long long)bo_state.calls, 1e6 * t, 1e6 * bo_state.best, bo_state.flops / t * 1e-9,
                       bo_state.bytes / t * 1e-9);
                fflush(stdout);
            }
        }
    return 0;
}

/* ---------------------------------------------------------------- main */

static void usage(FILE *f)
{
    fprintf(f, "usage: test-backend-ops [test|perf] [-o OP[,OP...]] [-b BACKEND] [-t SECONDS] [--all]\n"
               "  test (default): every case on ref and on each backend, compared with ref\n"
               "  perf: time per call, GFLOP/s and GB/s of each case on each backend (ref included)\n"
               "  -o: only these ops   -b: only this backend (test: compared with ref; perf: timed alone)\n"
               "  -t: seconds of timed calls per case and backend in perf (default 0.5)\n"
               "  --all: also the real-config cases skipped under sanitizers\n"
               "ops:");
    for (int op = 0; op < SANA_OP_COUNT; op++) fprintf(f, " %s", sana_op_name((sana_op)op));
    fprintf(f, "\nbackends:");
    for (int k = 0; k < sana_backend_count(); k++) fprintf(f, " %s", sana_backend_get(k)->name);
    fprintf(f, "\n");
}

int main(int argc, char **argv)
{
    options o = {0};
    o.seconds = 0.5;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "test")) o.perf = 0;
        else if (!strcmp(a, "perf")) o.perf = 1;
        else if (!strcmp(a, "--all")) o.all = 1;
        else if (!strcmp(a, "-o") && v) o.ops = argv[++i];
        else if (!strcmp(a, "-b") && v) o.backend = argv[++i];
        else if (!strcmp(a, "-t") && v) o.seconds = atof(argv[++i]);
        else if (!strcmp(a, "--unfused-dump") && v && i + 2 < argc) {
            o.dump = argv[++i];
            o.dump_backend = argv[++i];
        } else {
            usage(strcmp(a, "-h") && strcmp(a, "--help") ? stderr : stdout);
            return strcmp(a, "-h") && strcmp(a, "--help") ? 2 : 0;
        }
    }
    if (o.ops)
        for (int op = 0, any = 0; op <= SANA_OP_COUNT; op++) {
            if (op == SANA_OP_COUNT) {
                if (!any) { fprintf(stderr, "test-backend-ops: no op in \"%s\" (-h lists them)\n", o.ops); return 2; }
            } else any |= op_selected(o.ops, (sana_op)op);
        }
    if (o.dump) return child_dump(&o);
    if (SANITIZED && !o.perf) printf("note: AddressSanitizer build: real-config cases are skipped (--all runs them)\n");
    return o.perf ? perf_mode(&o) : test_mode(&o, argv[0]);
}
