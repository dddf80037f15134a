/* accel/cpu/cpu_core.c -- the cpu backend's kernels of the core ops (src/backend/ops/core.def):
 * linear, layer_norm, rms_norm, silu, gelu_tanh, relu, add (conv2d: cpu_conv.c), and the helpers
 * of cpu_kern.h.
 *
 * linear: weights packed at load for oneDNN's matmul (cpu_pack.h: float32 ones of the DiT where
 * oneDNN has a brgemm kernel, int8 ones) go to cpu_packed_matmul; other float32 weights
 * (prepare_weight makes every weight of the DiT and the DC-AE float32 at load) to cblas_sgemm. 16-bit weights (the Gemma-2 text encoder, kept COMPACT in
 * bf16) go, for every M, to one AVX2 kernel whose output elements are each one FMA chain in k
 * order: a row's bits do not depend on how many rows the call has (OpenBLAS's sgemm gives no such
 * promise: its bits for a row change with M and with the row's place in its tiles), which the
 * text encoder's cached prefix and skipped padding need. Without AVX2: panels of W converted and
 * multiplied by sgemm (not row-exact).
 * The other ops are row or elementwise loops, vectorised (cpu_core_avx2.c) and parallel above
 * CPU_OMP_MIN.
 */
#include "config.h"
#include "accel/cpu/cpu_kern.h"
#include "accel/cpu/cpu_pack.h"
#include "ref.h"
#ifdef SANA_HAVE_AVX2_KERNELS
#include "accel/cpu/cpu_avx2.h"
#endif

#include <cblas.h>
#include <math.h>
#include <omp.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

/* Floats of a converted weight panel, converted on the calling thread between two sgemm calls
 * (measured at Gemma-2-2B shapes, M = 220..300: 1M-float panels converted serially beat 256k
 * panels and beat converting in a parallel region: one region fewer per panel). */
#define CPU_LINEAR_PANEL (1 << 20)

/* ------------------------------------------------------------------ helpers (cpu_kern.h) */

/* Thread-local: each OpenMP thread (a persistent pthread of the pool) keeps its own buffers, also
 * inside nested (inactive) regions where omp_get_thread_num() is 0 for every thread. */
static _Thread_local float *scratch[CPU_SCRATCH_SLOTS];
static _Thread_local int64_t scratch_cap[CPU_SCRATCH_SLOTS];

/* A thread that exits (a caller's thread, or an OpenMP pool that is torn down) frees its buffers:
 * the key's destructor runs while the thread's _Thread_local variables are still there. */
static pthread_key_t scratch_key;
static pthread_once_t scratch_once = PTHREAD_ONCE_INIT;

static void scratch_release(void *unused)
{
    (void)unused;
    for (int i = 0; i < CPU_SCRATCH_SLOTS; i++) {
        free(scratch[i]);
        scratch[i] = NULL;
        scratch_cap[i] = 0;
    }
}

static void scratch_key_make(void) { pthread_key_create(&scratch_key, scratch_release); }

float *cpu_scratch(int slot, int64_t n)
{
    if (slot < 0 || slot >= CPU_SCRATCH_SLOTS) return NULL;
    if (scratch_cap[slot] < n) {
        pthread_once(&scratch_once, scratch_key_make);
        pthread_setspecific(scratch_key, scratch); /* non-NULL: the destructor runs at thread exit */
        free(scratch[slot]);
        const int64_t cap = n + n / 4 + 16;
        scratch[slot] = aligned_alloc(64, (size_t)((cap * 4 + 63) / 64 * 64));
        scratch_cap[slot] = scratch[slot] ? cap : 0;
    }
    return scratch[slot];
}

const float *cpu_wt_f32(const sana_wt *w, int64_t n, float **own)
{
    *own = NULL;
    if (!w) return NULL;
    if (w->dtype == SANA_F32 && (uintptr_t)w->data % sizeof(float) == 0) return w->data;
    *own = sana_wt_vec_f32(w, n);
    return *own;
}

void cpu_convert16(const cpu_ctx *c, float *dst, const void *src, sana_dtype t, int64_t n)
{
    enum { CHUNK = 1 << 14 };
    const int64_t nchunk = (n + CHUNK - 1) / CHUNK;
#pragma omp parallel for if (n >= CPU_OMP_MIN_HEAVY)
    for (int64_t i = 0; i < nchunk; i++) {
        const int64_t s = i * CHUNK, len = n - s < CHUNK ? n - s : CHUNK;
        const uint16_t *p = (const uint16_t *)src + s;
#ifdef SANA_HAVE_AVX2_KERNELS
        if (c->avx2) {
            if (t == SANA_BF16) cpu_bf16_to_f32_avx2(dst + s, p, len);
            else cpu_f16_to_f32_avx2(dst + s, p, len);
            continue;
        }
#endif
        (void)c;
        sana_convert_f32(dst + s, src, t, s, len);
    }
}

/* ------------------------------------------------------------------ linear */

/* y[m, :] = b (or 0) for every row. */
static void linear_bias(float *y, const sana_wt *b, int64_t M, int64_t N)
{
    float *own;
    const float *bf = cpu_wt_f32(b, N, &own);
    if (!bf) {
        memset(y, 0, (size_t)(M * N) * sizeof(float));
        return;
    }
#pragma omp parallel for if (M * N >= CPU_OMP_MIN)
    for (int64_t m = 0; m < M; m++) memcpy(y + m * N, bf, (size_t)N * sizeof(float));
    free(own);
}

/* y += x W^T for a weight in another dtype than aligned float32: panels of rows converted (AVX2
 * for 16-bit weights), each multiplied by sgemm into its columns of y. */
static void linear_panels(const cpu_ctx *c, float *y, const float *x, const sana_wt *w, int64_t M, int64_t K,
                          int64_t N)
{
    int64_t nb = CPU_LINEAR_PANEL / K;
    if (nb < 16) nb = 16;
    if (nb > N) nb = N;
    float *wb = cpu_scratch(0, nb * K);
    if (!wb) {
        cpu_fail((cpu_ctx *)c, SANA_ERR_NOMEM);
        return;
    }
    const int is16 = w->dtype == SANA_BF16 || w->dtype == SANA_F16;
    (void)is16;
    for (int64_t n0 = 0; n0 < N; n0 += nb) {
        const int64_t n = N - n0 < nb ? N - n0 : nb;
#ifdef SANA_HAVE_AVX2_KERNELS
        if (is16 && c->avx2 && w->dtype == SANA_BF16) cpu_bf16_to_f32_avx2(wb, (const uint16_t *)w->data + n0 * K, n * K);
        else if (is16 && c->avx2) cpu_f16_to_f32_avx2(wb, (const uint16_t *)w->data + n0 * K, n * K);
        else
#endif
            sana_wt_rows_f32(wb, w, n0, n);
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)M, (int)n, (int)K, 1.0f, x, (int)K, wb, (int)K,
                    1.0f, y + n0, (int)N);
    }
}

#ifdef SANA_HAVE_AVX2_KERNELS
/* y += x W^T, W 16-bit, any number of rows: each thread takes blocks of CPU_LINEAR16_NC output
 * columns, converts them chunk by chunk and multiplies all rows of x by them. Each output element
 * is one FMA chain in k order (cpu_linear16_avx2), so a row's bits are the same whatever M is:
 * the cached instruction prefix and the skipped padding of encode_prompt rely on that. */
static void linear16(cpu_ctx *c, float *y, const float *x, const sana_wt *w, int64_t M, int64_t K, int64_t N)
{
    const int64_t nblk = (N + CPU_LINEAR16_NC - 1) / CPU_LINEAR16_NC;
    int failed = 0;
#pragma omp parallel if (nblk > 1)
    {
        float *wbuf = cpu_scratch(0, CPU_LINEAR16_NC * CPU_LINEAR16_KC);
        if (!wbuf) {
#pragma omp atomic write
            failed = 1;
        }
#pragma omp for schedule(dynamic, 1)
        for (int64_t i = 0; i < nblk; i++) {
            const int64_t n0 = i * CPU_LINEAR16_NC, n1 = n0 + CPU_LINEAR16_NC < N ? n0 + CPU_LINEAR16_NC : N;
            if (wbuf) cpu_linear16_avx2(y, N, x, w->data, w->dtype == SANA_BF16, M, K, n0, n1, wbuf);
        }
    }
    if (failed) cpu_fail(c, SANA_ERR_NOMEM);
}
#endif

void cpu_linear(void *ctx, float *y, const float *x, const sana_wt *w, const sana_wt *b, int64_t M, int64_t K,
                int64_t N)
{
    cpu_ctx *c = ctx;
    if (M <= 0 || N <= 0) return;
#ifdef SANA_HAVE_DNNL
    if (w->dtype == SANA_PACKED) { /* packed for oneDNN (cpu_pack.h): bias in its epilogue */
        float *own = NULL;
        const float *bf = b ? cpu_wt_f32(b, N, &own) : NULL;
        int r = omp_in_parallel() || (b && !bf) ? -1 : cpu_packed_matmul(y, N, 1, x, K, 1, w->data, bf, M, c->avx2);
        free(own);
        if (r) cpu_fail(c, r == -1 ? SANA_ERR_NOMEM : SANA_ERR_UNSUPPORTED);
        return;
    }
#endif
    linear_bias(y, b, M, N);
    if (K <= 0) return;
    if (w->dtype == SANA_F32 && (uintptr_t)w->data % sizeof(float) == 0) {
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)M, (int)N, (int)K, 1.0f, x, (int)K,
                    (const float *)w->data, (int)K, 1.0f, y, (int)N);
        return;
    }
#ifdef SANA_HAVE_AVX2_KERNELS
    if (c->avx2 && (w->dtype == SANA_BF16 || w->dtype == SANA_F16)) {
        linear16(c, y, x, w, M, K, N);
        return;
    }
#endif
    linear_panels(c, y, x, w, M, K, N);
}

/* ------------------------------------------------------------------ norms */

void cpu_layer_norm_row(const cpu_ctx *c, float *y, const float *x, const float *w, const float *b,
                        const float *scale, const float *shift, int64_t C, float eps)
{
#ifdef SANA_HAVE_AVX2_KERNELS
    if (c->avx2) {
        cpu_layer_norm_row_avx2(y, x, w, b, scale, shift, C, eps);
        return;
    }
#endif
    (void)c;
    double mean = 0, var = 0;
    for (int64_t i = 0; i < C; i++) mean += x[i];
    mean /= (double)C;
    for (int64_t i = 0; i < C; i++) var += (x[i] - mean) * (x[i] - mean);
    var /= (double)C;
    const float inv = (float)(1.0 / sqrt(var + (double)eps)), mf = (float)mean;
    for (int64_t i = 0; i < C; i++) {
        float v = (x[i] - mf) * inv;
        if (w) v *= w[i];
        if (b) v += b[i];
        y[i] = scale ? v * (1.0f + scale[i]) + shift[i] : v;
    }
}

static void layer_norm(void *ctx, float *y, const float *x, const sana_wt *w, const sana_wt *b, int64_t rows,
                       int64_t C, float eps)
{
    float *ow, *ob;
    const float *wf = cpu_wt_f32(w, C, &ow), *bf = cpu_wt_f32(b, C, &ob);
#pragma omp parallel for if (rows * C >= CPU_OMP_MIN)
    for (int64_t r = 0; r < rows; r++) cpu_layer_norm_row(ctx, y + r * C, x + r * C, wf, bf, NULL, NULL, C, eps);
    free(ow);
    free(ob);
}

static void rms_norm(void *ctx, float *y, const float *x, const sana_wt *w, int64_t rows, int64_t C, float eps)
{
    const cpu_ctx *c = ctx;
    float *ow;
    const float *wf = cpu_wt_f32(w, C, &ow);
    (void)c;
#pragma omp parallel for if (rows * C >= CPU_OMP_MIN)
    for (int64_t r = 0; r < rows; r++) {
        const float *xr = x + r * C;
        float *yr = y + r * C;
#ifdef SANA_HAVE_AVX2_KERNELS
        if (c->avx2) {
            cpu_rms_norm_row_avx2(yr, xr, wf, C, eps);
            continue;
        }
#endif
        double ss = 0;
        for (int64_t i = 0; i < C; i++) ss += (double)xr[i] * xr[i];
        const float inv = (float)(1.0 / sqrt(ss / (double)C + (double)eps));
        for (int64_t i = 0; i < C; i++) yr[i] = wf ? (xr[i] * inv) * wf[i] : xr[i] * inv;
    }
    free(ow);
}

/* ------------------------------------------------------------------ elementwise */

enum { ELT_CHUNK = 1 << 13 };

void cpu_silu_rows(const cpu_ctx *c, float *y, const float *x, int64_t n)
{
#ifdef SANA_HAVE_AVX2_KERNELS
    if (c->avx2) {
        cpu_silu_avx2(y, x, n);
        return;
    }
#endif
    (void)c;
    for (int64_t i = 0; i < n; i++) y[i] = x[i] / (1.0f + expf(-x[i]));
}

void cpu_gelu_tanh_rows(const cpu_ctx *c, float *y, const float *x, int64_t n)
{
#ifdef SANA_HAVE_AVX2_KERNELS
    if (c->avx2) {
        cpu_gelu_tanh_avx2(y, x, n);
        return;
    }
#endif
    (void)c;
    ref_gelu_tanh(y, x, n);
}

/* An activation over n floats in chunks of ELT_CHUNK, parallel above CPU_OMP_MIN. */
static void act_chunks(const cpu_ctx *c, float *y, const float *x, int64_t n, int gelu)
{
    const int64_t nchunk = (n + ELT_CHUNK - 1) / ELT_CHUNK;
#pragma omp parallel for if (n >= CPU_OMP_MIN_HEAVY)
    for (int64_t i = 0; i < nchunk; i++) {
        const int64_t s = i * ELT_CHUNK, len = n - s < ELT_CHUNK ? n - s : ELT_CHUNK;
        if (gelu) cpu_gelu_tanh_rows(c, y + s, x + s, len);
        else cpu_silu_rows(c, y + s, x + s, len);
    }
}

static void silu(void *ctx, float *y, const float *x, int64_t n) { act_chunks(ctx, y, x, n, 0); }
static void gelu_tanh(void *ctx, float *y, const float *x, int64_t n) { act_chunks(ctx, y, x, n, 1); }

static void relu(void *ctx, float *y, const float *x, int64_t n)
{
    (void)ctx;
#pragma omp parallel for simd if (n >= CPU_OMP_MIN)
    for (int64_t i = 0; i < n; i++) y[i] = x[i] > 0.0f ? x[i] : 0.0f;
}

static void add(void *ctx, float *y, const float *a, const float *b, int64_t n)
{
    (void)ctx;
#pragma omp parallel for simd if (n >= CPU_OMP_MIN)
    for (int64_t i = 0; i < n; i++) y[i] = a[i] + b[i];
}

void cpu_fill_core(sana_backend *be, cpu_ctx *c)
{
    CPU_SET(be, c, linear, cpu_linear);
    CPU_SET(be, c, layer_norm, layer_norm);
    CPU_SET(be, c, rms_norm, rms_norm);
    CPU_SET(be, c, silu, silu);
    CPU_SET(be, c, gelu_tanh, gelu_tanh);
    CPU_SET(be, c, relu, relu);
    CPU_SET(be, c, add, add);
}
