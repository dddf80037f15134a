/* accel/cpu/cpu_dnnl_mm.c -- the cpu backend's matrix products on weights packed at load, through
 * oneDNN's matmul (see cpu_pack.h): int8 (Q8 weights) and float32.
 *
 * Measured on the 600M DiT's shapes (M = 512 tokens, K, N = 1152..5760, 2 threads, AVX-512 VNNI):
 * oneDNN's brgemm int8 matmul on weights packed at load runs 2.5-4.7x the float32 sgemm rate;
 * on weights left in plain layout (packed at every call) 0.9-2.5x; with a run-time M (one
 * primitive for all M) it falls back to a slower gemm (0.6-1.7x). Its float32 brgemm on packed
 * weights: 218-231 GFLOP/s against OpenBLAS's 184-209 at M = 256..2048 (plain weights: 210), 226
 * against 60 at M = 16, 51 against 16 at M = 2 (the timestep modulation). So a primitive is made
 * per (kind, M, K, N, bias) and kept in a small table; the packed layout does not depend on M (the
 * plans of every M are made on the weight's own descriptor).
 */
#include "config.h"
#include "accel/cpu/cpu_dnnl.h"
#include "accel/cpu/cpu_pack.h"
#include "accel/cpu/cpu_kern.h"
#ifdef SANA_HAVE_AVX2_KERNELS
#include "accel/cpu/cpu_avx2.h"
#endif

#include <dnnl.h>
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define PLANS 64
/* The M the weights are packed for (any: the layout is the same for every M). */
#define PACK_M 64

typedef struct {
    cpu_pack_kind kind;
    int64_t M, K, N;
    int bias; /* float32: the bias is the matmul's */
    dnnl_primitive_t mm;
    dnnl_memory_desc_t src, w, b, dst, scratch;
} plan;

static struct {
    int ready, broken;
    dnnl_engine_t eng;
    dnnl_stream_t strm;
    plan plans[PLANS];
    int next;
    int8_t *xq;
    float *sx;
    int32_t *acc;
    float *xf, *yf; /* float32: x and y in rows, where the caller's are channel-major */
    void *scratch;
    size_t cap_xq, cap_sx, cap_acc, cap_xf, cap_yf, cap_scratch;
} Q;

static void mm_cleanup(void)
{
    for (int i = 0; i < PLANS; i++)
        if (Q.plans[i].mm) dnnl_primitive_destroy(Q.plans[i].mm);
    free(Q.xq);
    free(Q.sx);
    free(Q.acc);
    free(Q.xf);
    free(Q.yf);
    free(Q.scratch);
    if (Q.strm) dnnl_stream_destroy(Q.strm);
    if (Q.eng) dnnl_engine_destroy(Q.eng);
    memset(&Q, 0, sizeof Q);
    Q.broken = 1;
}

static int mm_start(void)
{
    if (Q.ready || Q.broken) return Q.ready;
    if (dnnl_engine_create(&Q.eng, dnnl_cpu, 0) != dnnl_success ||
        dnnl_stream_create(&Q.strm, Q.eng, dnnl_stream_default_flags) != dnnl_success) {
        Q.broken = 1;
        return 0;
    }
    atexit(mm_cleanup);
    Q.ready = 1;
    return 1;
}

/* The matmul [M, K] x [K, N] (weights: the layout oneDNN picks, or *wmd) -> [M, N]: int8: s8 x s8 ->
 * s32; float32: f32 x f32 (+ bias [1, N] when bias) -> f32. brg: 1 when oneDNN runs it by brgemm. */
static int plan_make(plan *p, cpu_pack_kind kind, int64_t M, int64_t K, int64_t N, const dnnl_memory_desc_t *wmd,
                     int bias, int *brg)
{
    memset(p, 0, sizeof *p);
    const int s8 = kind == CPU_PACK_S8;
    dnnl_dims_t sd = {M, K}, wd = {K, N}, dd = {M, N}, bd = {1, N};
    dnnl_memory_desc_t w_any;
    if (dnnl_memory_desc_init_by_tag(&p->src, 2, sd, s8 ? dnnl_s8 : dnnl_f32, dnnl_ab) ||
        dnnl_memory_desc_init_by_tag(&w_any, 2, wd, s8 ? dnnl_s8 : dnnl_f32, dnnl_format_tag_any) ||
        dnnl_memory_desc_init_by_tag(&p->dst, 2, dd, s8 ? dnnl_s32 : dnnl_f32, dnnl_ab) ||
        (bias && dnnl_memory_desc_init_by_tag(&p->b, 2, bd, dnnl_f32, dnnl_ab)))
        return 0;
    dnnl_matmul_desc_t md;
    if (dnnl_matmul_desc_init(&md, &p->src, wmd ? wmd : &w_any, bias ? &p->b : NULL, &p->dst) != dnnl_success)
        return 0;
    dnnl_primitive_desc_t pd;
    if (cpu_dnnl_pd_user_scratchpad(&pd, &md, Q.eng) != dnnl_success) return 0;
    p->w = *dnnl_primitive_desc_query_md(pd, dnnl_query_weights_md, 0);
    p->scratch = *dnnl_primitive_desc_query_md(pd, dnnl_query_scratchpad_md, 0);
    if (brg) {
        const char *impl = NULL;
        *brg = dnnl_primitive_desc_query(pd, dnnl_query_impl_info_str, 0, &impl) == dnnl_success && impl &&
               !strncmp(impl, "brg", 3);
    }
    int ok = dnnl_primitive_create(&p->mm, pd) == dnnl_success;
    dnnl_primitive_desc_destroy(pd);
    if (!ok) return 0;
    p->kind = kind, p->M = M, p->K = K, p->N = N, p->bias = bias;
    return 1;
}

static plan *plan_get(int64_t M, const cpu_packw *w, int bias)
{
    for (int i = 0; i < PLANS; i++) {
        plan *p = &Q.plans[i];
        if (p->mm && p->kind == w->kind && p->M == M && p->K == w->K && p->N == w->N && p->bias == bias) return p;
    }
    plan *p = &Q.plans[Q.next];
    Q.next = (Q.next + 1) % PLANS; /* replace round robin */
    if (p->mm) dnnl_primitive_destroy(p->mm);
    if (plan_make(p, w->kind, M, w->K, w->N, (const dnnl_memory_desc_t *)w->md, bias, NULL)) return p;
    if (p->mm) dnnl_primitive_destroy(p->mm);
    memset(p, 0, sizeof *p);
    return NULL;
}

/* The state above (engine, plans, kept buffers) is one per process: every entry point takes this
 * lock, so that two threads (two pipelines, or weights prepared in parallel) take turns. */
static pthread_mutex_t mm_lock = PTHREAD_MUTEX_INITIALIZER;

static cpu_packw *pack_locked(cpu_pack_kind kind, const void *data, int64_t N, int64_t K, sana_status *st);

/* The packed form of the plain matrix `data` [N, K] (s8 or f32 by kind) for plans of that kind; NULL
 * when oneDNN cannot (*st: SANA_ERR_UNSUPPORTED, or an error set). */
static cpu_packw *pack(cpu_pack_kind kind, const void *data, int64_t N, int64_t K, sana_status *st)
{
    pthread_mutex_lock(&mm_lock);
    cpu_packw *w = pack_locked(kind, data, N, K, st);
    pthread_mutex_unlock(&mm_lock);
    return w;
}

static cpu_packw *pack_locked(cpu_pack_kind kind, const void *data, int64_t N, int64_t K, sana_status *st)
{
    *st = SANA_ERR_UNSUPPORTED;
    plan p;
    int brg = 0;
    if (N <= 0 || K <= 0 || !mm_start() || !plan_make(&p, kind, PACK_M, K, N, NULL, 0, &brg)) return NULL;
    dnnl_primitive_destroy(p.mm);
    if (kind == CPU_PACK_F32 && !brg) return NULL; /* OpenBLAS's sgemm does as well */
    const char *what = kind == CPU_PACK_S8 ? "an int8" : "a float32";
    cpu_packw *w = calloc(1, sizeof *w + sizeof(dnnl_memory_desc_t));
    if (!w) {
        *st = sana_err(SANA_ERR_NOMEM, "cpu backend: out of memory packing %s weight", what);
        return NULL;
    }
    memcpy(w->md, &p.w, sizeof p.w);
    w->kind = kind, w->N = N, w->K = K;
    w->bytes = dnnl_memory_desc_get_size(&p.w);
    w->data = aligned_alloc(64, (w->bytes + 63) / 64 * 64);
    /* the plain weight [N, K] is oneDNN's [K, N] in layout "ba" */
    dnnl_dims_t wd = {K, N};
    dnnl_memory_desc_t plain;
    dnnl_primitive_desc_t rpd = NULL;
    dnnl_primitive_t r = NULL;
    dnnl_memory_t from = NULL, to = NULL;
    int ok = w->data &&
             !dnnl_memory_desc_init_by_tag(&plain, 2, wd, kind == CPU_PACK_S8 ? dnnl_s8 : dnnl_f32, dnnl_ba) &&
             !dnnl_reorder_primitive_desc_create(&rpd, &plain, Q.eng, &p.w, Q.eng, NULL) &&
             !dnnl_primitive_create(&r, rpd) && !dnnl_memory_create(&from, &plain, Q.eng, (void *)data) &&
             !dnnl_memory_create(&to, &p.w, Q.eng, w->data);
    if (ok) {
        dnnl_exec_arg_t a[2] = {{DNNL_ARG_FROM, from}, {DNNL_ARG_TO, to}};
        ok = !dnnl_primitive_execute(r, Q.strm, 2, a) && !dnnl_stream_wait(Q.strm);
    }
    if (from) dnnl_memory_destroy(from);
    if (to) dnnl_memory_destroy(to);
    if (r) dnnl_primitive_destroy(r);
    if (rpd) dnnl_primitive_desc_destroy(rpd);
    if (!ok) {
        free(w->data);
        free(w);
        *st = sana_err(SANA_ERR_NOMEM, "cpu backend: cannot pack %s weight [%lld, %lld] for oneDNN", what,
                       (long long)N, (long long)K);
        return NULL;
    }
    *st = SANA_OK;
    return w;
}

sana_status cpu_pack_q8(const sana_wt *q8, sana_wt *out, size_t *bytes)
{
    *bytes = 0;
    if (q8->dtype != SANA_Q8 || q8->ndim < 1) return SANA_ERR_UNSUPPORTED;
    const int64_t N = sana_wt_rows(q8);
    sana_status st;
    cpu_packw *w = pack(CPU_PACK_S8, q8->data, N, sana_wt_cols(q8), &st);
    if (!w) return st;
    w->scale = malloc((size_t)N * sizeof(float));
    if (!w->scale) {
        free(w->data);
        free(w);
        return sana_err(SANA_ERR_NOMEM, "cpu backend: out of memory packing an int8 weight");
    }
    memcpy(w->scale, q8->scale, (size_t)N * sizeof(float));
    *out = *q8;
    out->dtype = SANA_PACKED;
    out->data = w;
    out->scale = w->scale;
    *bytes = w->bytes + (size_t)N * sizeof(float) + sizeof *w;
    return SANA_OK;
}

sana_status cpu_pack_f32(const sana_wt *in, const float *f, sana_wt *out, size_t *bytes)
{
    *bytes = 0;
    if (in->ndim < 1) return SANA_ERR_UNSUPPORTED;
    sana_status st;
    cpu_packw *w = pack(CPU_PACK_F32, f, sana_wt_rows(in), sana_wt_cols(in), &st);
    if (!w) return st;
    *out = *in;
    out->dtype = SANA_PACKED;
    out->data = w;
    out->scale = NULL;
    *bytes = w->bytes + sizeof *w;
    return SANA_OK;
}

void cpu_pack_release(sana_wt *packed)
{
    cpu_packw *w = (cpu_packw *)packed->data;
    if (!w) return;
    free(w->data);
    free(w->scale);
    free(w);
    packed->data = NULL;
}

/* Grow a kept buffer to n bytes; 0 on out of memory. */
static int grow(void **b, size_t *cap, size_t n)
{
    if (n <= *cap) return 1;
    free(*b);
    *cap = 0;
    *b = aligned_alloc(64, (n + 63) / 64 * 64);
    if (*b) *cap = n;
    return *b != NULL;
}

/* |v| folded into a running maximum, and v (|v| <= 127.5) rounded to the nearest integer, ties to
 * even as rintf: plain expressions the compiler inlines and vectorises (fmaxf and rintf are libm
 * calls without -ffast-math or SSE4.1; they took 7% of a step). */
static inline float amax1(float m, float v)
{
    const float a = v < 0.0f ? -v : v;
    return a > m ? a : m;
}
static inline int8_t round8(float v)
{
    const float magic = 12582912.0f; /* 1.5 * 2^23: adding it rounds to an integer in the default mode */
    return (int8_t)(int)((v + magic) - magic);
}

/* Rows of x (row m at x + m * xm, contiguous) to int8 with one scale per row: Q.xq [M, K], Q.sx [M]. */
static void quantize_rows(const float *x, int64_t xm, int64_t M, int64_t K, int avx2)
{
    (void)avx2;
#pragma omp parallel for schedule(static) if (M * K >= CPU_OMP_MIN_HEAVY)
    for (int64_t m = 0; m < M; m++) {
        const float *restrict r = x + m * xm;
#ifdef SANA_HAVE_AVX2_KERNELS
        if (avx2) {
            Q.sx[m] = cpu_q8_quantize_row_avx2(Q.xq + m * K, r, K) / 127.0f;
            continue;
        }
#endif
        float amax = 0.0f;
        for (int64_t k = 0; k < K; k++) amax = amax1(amax, r[k]);
        const float inv = amax > 0.0f ? 127.0f / amax : 0.0f;
        Q.sx[m] = amax / 127.0f;
        int8_t *restrict q = Q.xq + m * K;
        for (int64_t k = 0; k < K; k++) q[k] = round8(r[k] * inv);
    }
}

/* The same for channel-major x (x[m, k] at x[k * xm_stride...]): xm = 1, xk = M. Column maxima first
 * (contiguous in m), then the transposed write. */
static void quantize_cols(const float *x, int64_t xk, int64_t M, int64_t K)
{
#pragma omp parallel for schedule(static) if (M * K >= CPU_OMP_MIN_HEAVY)
    for (int64_t m0 = 0; m0 < M; m0 += 64) { /* column maxima, 64 columns a task */
        const int64_t m1 = m0 + 64 < M ? m0 + 64 : M;
        float *restrict s = Q.sx;
        for (int64_t m = m0; m < m1; m++) s[m] = 0.0f;
        for (int64_t k = 0; k < K; k++) {
            const float *restrict r = x + k * xk;
            for (int64_t m = m0; m < m1; m++) s[m] = amax1(s[m], r[m]);
        }
    }
    float *inv = (float *)(Q.acc); /* free until the matmul: M floats of the M x N sums */
    for (int64_t m = 0; m < M; m++) {
        inv[m] = Q.sx[m] > 0.0f ? 127.0f / Q.sx[m] : 0.0f;
        Q.sx[m] /= 127.0f;
    }
#pragma omp parallel for schedule(static) if (M * K >= CPU_OMP_MIN_HEAVY)
    for (int64_t m0 = 0; m0 < M; m0 += 16) {
        const int64_t m1 = m0 + 16 < M ? m0 + 16 : M;
        for (int64_t k = 0; k < K; k++)
            for (int64_t m = m0; m < m1; m++) Q.xq[m * K + k] = round8(x[k * xk + m] * inv[m]);
    }
}

/* Run plan p on src, the packed weights, bias (when the plan has one) and dst: 0, -1 out of memory
 * (the scratchpad), -2 oneDNN failed. */
static int execute(const plan *p, const void *src, const cpu_packw *w, const float *bias, void *dst)
{
    const size_t nsc = dnnl_memory_desc_get_size(&p->scratch);
    if (nsc && !grow(&Q.scratch, &Q.cap_scratch, nsc)) return -1;
    dnnl_memory_t ms = NULL, mw = NULL, mb = NULL, md = NULL, msc = NULL;
    int ok = !dnnl_memory_create(&ms, &p->src, Q.eng, (void *)src) &&
             !dnnl_memory_create(&mw, &p->w, Q.eng, w->data) && !dnnl_memory_create(&md, &p->dst, Q.eng, dst) &&
             (!p->bias || !dnnl_memory_create(&mb, &p->b, Q.eng, (void *)bias)) &&
             (!nsc || !dnnl_memory_create(&msc, &p->scratch, Q.eng, Q.scratch));
    if (ok) {
        dnnl_exec_arg_t a[5] = {{DNNL_ARG_SRC, ms}, {DNNL_ARG_WEIGHTS, mw}, {DNNL_ARG_DST, md}};
        int na = 3;
        if (mb) a[na++] = (dnnl_exec_arg_t){DNNL_ARG_BIAS, mb};
        if (msc) a[na++] = (dnnl_exec_arg_t){DNNL_ARG_SCRATCHPAD, msc};
        ok = !dnnl_primitive_execute(p->mm, Q.strm, na, a) && !dnnl_stream_wait(Q.strm);
    }
    dnnl_memory_t all[5] = {ms, mw, mb, md, msc};
    for (int i = 0; i < 5; i++)
        if (all[i]) dnnl_memory_destroy(all[i]);
    return ok ? 0 : -2;
}

static int q8_matmul(float *y, int64_t ym, int64_t yn, const float *x, int64_t xm, int64_t xk, const cpu_packw *w,
                     const float *bias, int64_t M, int avx2)
{
    const int64_t K = w->K, N = w->N;
    plan *p = plan_get(M, w, 0);
    if (!p) return -2;
    if (!grow((void **)&Q.xq, &Q.cap_xq, (size_t)(M * K)) || !grow((void **)&Q.sx, &Q.cap_sx, (size_t)M * 4) ||
        !grow((void **)&Q.acc, &Q.cap_acc, (size_t)(M * (N > 1 ? N : 1)) * 4))
        return -1;
    if (xk == 1) quantize_rows(x, xm, M, K, avx2);
    else if (xm == 1) quantize_cols(x, xk, M, K);
    else return -2; /* not a layout of this backend's callers */
    const int r = execute(p, Q.xq, w, NULL, Q.acc);
    if (r) return r;
    const float *sw = w->scale;
    const int32_t *acc = Q.acc;
    if (yn == 1) { /* row-major output */
#pragma omp parallel for schedule(static) if (M * N >= CPU_OMP_MIN)
        for (int64_t m = 0; m < M; m++) {
            float *restrict yr = y + m * ym;
            const int32_t *restrict ar = acc + m * N;
            const float s = Q.sx[m];
#ifdef SANA_HAVE_AVX2_KERNELS
            if (avx2) {
                cpu_q8_scale_row_avx2(yr, ar, s, sw, bias, N);
                continue;
            }
#endif
            for (int64_t n = 0; n < N; n++) yr[n] = (float)ar[n] * s * sw[n] + (bias ? bias[n] : 0.0f);
        }
    } else { /* channel-major output: y[n * yn + m] */
#pragma omp parallel for schedule(static) if (M * N >= CPU_OMP_MIN)
        for (int64_t n0 = 0; n0 < N; n0 += 16) {
            const int64_t n1 = n0 + 16 < N ? n0 + 16 : N;
            for (int64_t m = 0; m < M; m++) {
                const float s = Q.sx[m];
                for (int64_t n = n0; n < n1; n++)
                    y[m * ym + n * yn] = (float)acc[m * N + n] * s * sw[n] + (bias ? bias[n] : 0.0f);
            }
        }
    }
    return 0;
}

/*
 * Float32: row-major x and y go to oneDNN as they are (the bias in the matmul); other layouts (the
 * channel-major GLUMBConv of a weight packed for glumbconv_tokens) are copied into rows around it,
 * tiles of 32 x 32 so that both sides stay in cache.
 */
enum { TILE = 32 };

static int f32_matmul(float *y, int64_t ym, int64_t yn, const float *x, int64_t xm, int64_t xk, const cpu_packw *w,
                      const float *bias, int64_t M)
{
    const int64_t K = w->K, N = w->N;
    const int xrow = xk == 1 && xm == K, yrow = yn == 1 && ym == N;
    plan *p = plan_get(M, w, yrow && bias);
    if (!p) return -2;
    if ((!xrow && !grow((void **)&Q.xf, &Q.cap_xf, (size_t)(M * K) * 4)) ||
        (!yrow && !grow((void **)&Q.yf, &Q.cap_yf, (size_t)(M * N) * 4)))
        return -1;
    if (!xrow) {
#pragma omp parallel for collapse(2) schedule(static) if (M * K >= CPU_OMP_MIN)
        for (int64_t m0 = 0; m0 < M; m0 += TILE)
            for (int64_t k0 = 0; k0 < K; k0 += TILE)
                for (int64_t k = k0; k < k0 + TILE && k < K; k++)
                    for (int64_t m = m0; m < m0 + TILE && m < M; m++) Q.xf[m * K + k] = x[m * xm + k * xk];
    }
    float *dst = yrow ? y : Q.yf;
    const int r = execute(p, xrow ? x : Q.xf, w, bias, dst);
    if (r) return r;
    if (!yrow) {
#pragma omp parallel for collapse(2) schedule(static) if (M * N >= CPU_OMP_MIN)
        for (int64_t m0 = 0; m0 < M; m0 += TILE)
            for (int64_t n0 = 0; n0 < N; n0 += TILE)
                for (int64_t m = m0; m < m0 + TILE && m < M; m++)
                    for (int64_t n = n0; n < n0 + TILE && n < N; n++)
                        y[m * ym + n * yn] = dst[m * N + n] + (bias ? bias[n] : 0.0f);
    }
    return 0;
}

int cpu_packed_matmul(float *y, int64_t ym, int64_t yn, const float *x, int64_t xm, int64_t xk, const cpu_packw *w,
                      const float *bias, int64_t M, int avx2)
{
    if (M <= 0) return 0;
    if ((xk != 1 && xm != 1) || (yn != 1 && ym != 1)) return -2;
    pthread_mutex_lock(&mm_lock);
    int r = !mm_start() ? -2
            : w->kind == CPU_PACK_S8 ? q8_matmul(y, ym, yn, x, xm, xk, w, bias, M, avx2)
                                     : f32_matmul(y, ym, yn, x, xm, xk, w, bias, M);
    pthread_mutex_unlock(&mm_lock);
    return r;
}
