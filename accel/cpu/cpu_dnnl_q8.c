/* accel/cpu/cpu_dnnl_q8.c -- int8 matmul of the cpu backend through oneDNN (see cpu_q8.h).
 *
 * Measured on the 600M DiT's shapes (M = 512 tokens, K, N = 1152..5760, 2 threads, AVX-512 VNNI):
 * oneDNN's brgemm int8 matmul on weights packed at load runs 2.5-4.7x the float32 sgemm rate;
 * on weights left in plain layout (packed at every call) 0.9-2.5x; with a run-time M (one
 * primitive for all M) it falls back to a slower gemm (0.6-1.7x). So a primitive is made per
 * (M, K, N) and kept in a small table; the packed layout does not depend on M (checked at pack time
 * against the plan's own weights descriptor).
 */
#include "config.h"
#include "accel/cpu/cpu_q8.h"
#include "accel/cpu/cpu_kern.h"
#ifdef SANA_HAVE_AVX2_KERNELS
#include "accel/cpu/cpu_avx2.h"
#endif

#include <dnnl.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define PLANS 64
/* The M the weights are packed for (any: the layout is the same for every M). */
#define PACK_M 64

typedef struct {
    int64_t M, K, N;
    dnnl_primitive_t mm;
    dnnl_memory_desc_t src, w, dst, scratch;
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
    void *scratch;
    size_t cap_xq, cap_sx, cap_acc, cap_scratch;
} Q;

static void q8_cleanup(void)
{
    for (int i = 0; i < PLANS; i++)
        if (Q.plans[i].mm) dnnl_primitive_destroy(Q.plans[i].mm);
    free(Q.xq);
    free(Q.sx);
    free(Q.acc);
    free(Q.scratch);
    if (Q.strm) dnnl_stream_destroy(Q.strm);
    if (Q.eng) dnnl_engine_destroy(Q.eng);
    memset(&Q, 0, sizeof Q);
    Q.broken = 1;
}

static int q8_start(void)
{
    if (Q.ready || Q.broken) return Q.ready;
    if (dnnl_engine_create(&Q.eng, dnnl_cpu, 0) != dnnl_success ||
        dnnl_stream_create(&Q.strm, Q.eng, dnnl_stream_default_flags) != dnnl_success) {
        Q.broken = 1;
        return 0;
    }
    atexit(q8_cleanup);
    Q.ready = 1;
    return 1;
}

int cpu_q8_available(void) { return q8_start(); }

/* The matmul s8 [M, K] x s8 [K, N] (weights: the layout oneDNN picks, or *wmd) -> s32 [M, N]. */
static int plan_make(plan *p, int64_t M, int64_t K, int64_t N, const dnnl_memory_desc_t *wmd)
{
    memset(p, 0, sizeof *p);
    dnnl_dims_t sd = {M, K}, wd = {K, N}, dd = {M, N};
    dnnl_memory_desc_t w_any;
    if (dnnl_memory_desc_init_by_tag(&p->src, 2, sd, dnnl_s8, dnnl_ab) ||
        dnnl_memory_desc_init_by_tag(&w_any, 2, wd, dnnl_s8, dnnl_format_tag_any) ||
        dnnl_memory_desc_init_by_tag(&p->dst, 2, dd, dnnl_s32, dnnl_ab))
        return 0;
    dnnl_matmul_desc_t md;
    if (dnnl_matmul_desc_init(&md, &p->src, wmd ? wmd : &w_any, NULL, &p->dst) != dnnl_success) return 0;
    dnnl_primitive_attr_t attr;
    if (dnnl_primitive_attr_create(&attr) != dnnl_success) return 0;
    dnnl_primitive_desc_t pd;
    dnnl_status_t rc = dnnl_primitive_attr_set_scratchpad_mode(attr, dnnl_scratchpad_mode_user);
    if (rc == dnnl_success) rc = dnnl_primitive_desc_create(&pd, &md, attr, Q.eng, NULL);
    dnnl_primitive_attr_destroy(attr);
    if (rc != dnnl_success) return 0;
    p->w = *dnnl_primitive_desc_query_md(pd, dnnl_query_weights_md, 0);
    p->scratch = *dnnl_primitive_desc_query_md(pd, dnnl_query_scratchpad_md, 0);
    int ok = dnnl_primitive_create(&p->mm, pd) == dnnl_success;
    dnnl_primitive_desc_destroy(pd);
    if (!ok) return 0;
    p->M = M, p->K = K, p->N = N;
    return 1;
}

static plan *plan_get(int64_t M, const cpu_q8w *w)
{
    for (int i = 0; i < PLANS; i++) {
        plan *p = &Q.plans[i];
        if (p->mm && p->M == M && p->K == w->K && p->N == w->N) return p;
    }
    plan *p = &Q.plans[Q.next];
    Q.next = (Q.next + 1) % PLANS; /* replace round robin */
    if (p->mm) dnnl_primitive_destroy(p->mm);
    if (plan_make(p, M, w->K, w->N, (const dnnl_memory_desc_t *)w->md)) return p;
    if (p->mm) dnnl_primitive_destroy(p->mm);
    memset(p, 0, sizeof *p);
    return NULL;
}

sana_status cpu_q8_pack(const sana_wt *q8, sana_wt *out, size_t *bytes)
{
    *bytes = 0;
    if (q8->dtype != SANA_Q8 || q8->ndim < 1 || !q8_start()) return SANA_ERR_UNSUPPORTED;
    const int64_t N = sana_wt_rows(q8), K = sana_wt_cols(q8);
    plan p;
    if (N <= 0 || K <= 0 || !plan_make(&p, PACK_M, K, N, NULL)) return SANA_ERR_UNSUPPORTED;
    dnnl_primitive_destroy(p.mm);
    cpu_q8w *w = calloc(1, sizeof *w + sizeof(dnnl_memory_desc_t));
    if (!w) return sana_err(SANA_ERR_NOMEM, "cpu backend: out of memory packing an int8 weight");
    memcpy(w->md, &p.w, sizeof p.w);
    w->N = N, w->K = K;
    w->bytes = dnnl_memory_desc_get_size(&p.w);
    w->data = aligned_alloc(64, (w->bytes + 63) / 64 * 64);
    w->scale = malloc((size_t)N * sizeof(float));
    /* the plain int8 weight [N, K] is oneDNN's [K, N] in layout "ba" */
    dnnl_dims_t wd = {K, N};
    dnnl_memory_desc_t plain;
    dnnl_primitive_desc_t rpd = NULL;
    dnnl_primitive_t r = NULL;
    dnnl_memory_t from = NULL, to = NULL;
    int ok = w->data && w->scale && !dnnl_memory_desc_init_by_tag(&plain, 2, wd, dnnl_s8, dnnl_ba) &&
             !dnnl_reorder_primitive_desc_create(&rpd, &plain, Q.eng, &p.w, Q.eng, NULL) &&
             !dnnl_primitive_create(&r, rpd) && !dnnl_memory_create(&from, &plain, Q.eng, (void *)q8->data) &&
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
        free(w->scale);
        free(w);
        return sana_err(SANA_ERR_NOMEM, "cpu backend: cannot pack an int8 weight [%lld, %lld] for oneDNN", (long long)N,
                        (long long)K);
    }
    memcpy(w->scale, q8->scale, (size_t)N * sizeof(float));
    *out = *q8;
    out->dtype = SANA_PACKED;
    out->data = w;
    out->scale = w->scale;
    *bytes = w->bytes + (size_t)N * sizeof(float) + sizeof *w;
    return SANA_OK;
}

void cpu_q8_release(sana_wt *packed)
{
    cpu_q8w *w = (cpu_q8w *)packed->data;
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

int cpu_q8_matmul(float *y, int64_t ym, int64_t yn, const float *x, int64_t xm, int64_t xk, const cpu_q8w *w,
                  const float *bias, int64_t M, int avx2)
{
    const int64_t K = w->K, N = w->N;
    if (M <= 0) return 0;
    if (!q8_start()) return -2;
    plan *p = plan_get(M, w);
    if (!p) return -2;
    const size_t nsc = dnnl_memory_desc_get_size(&p->scratch);
    if (!grow((void **)&Q.xq, &Q.cap_xq, (size_t)(M * K)) || !grow((void **)&Q.sx, &Q.cap_sx, (size_t)M * 4) ||
        !grow((void **)&Q.acc, &Q.cap_acc, (size_t)(M * (N > 1 ? N : 1)) * 4) ||
        (nsc && !grow(&Q.scratch, &Q.cap_scratch, nsc)))
        return -1;
    if (xk == 1) quantize_rows(x, xm, M, K, avx2);
    else if (xm == 1) quantize_cols(x, xk, M, K);
    else return -2; /* not a layout of this backend's callers */
    dnnl_memory_t ms = NULL, mw = NULL, md = NULL, msc = NULL;
    int ok = !dnnl_memory_create(&ms, &p->src, Q.eng, Q.xq) && !dnnl_memory_create(&mw, &p->w, Q.eng, w->data) &&
             !dnnl_memory_create(&md, &p->dst, Q.eng, Q.acc) &&
             (!nsc || !dnnl_memory_create(&msc, &p->scratch, Q.eng, Q.scratch));
    if (ok) {
        dnnl_exec_arg_t a[4] = {{DNNL_ARG_SRC, ms}, {DNNL_ARG_WEIGHTS, mw}, {DNNL_ARG_DST, md}};
        int na = 3;
        if (msc) a[na++] = (dnnl_exec_arg_t){DNNL_ARG_SCRATCHPAD, msc};
        ok = !dnnl_primitive_execute(p->mm, Q.strm, na, a) && !dnnl_stream_wait(Q.strm);
    }
    dnnl_memory_t all[4] = {ms, mw, md, msc};
    for (int i = 0; i < 4; i++)
        if (all[i]) dnnl_memory_destroy(all[i]);
    if (!ok) return -2;
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
