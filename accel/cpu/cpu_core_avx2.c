/* accel/cpu/cpu_core_avx2.c -- AVX2 + FMA kernels of the core ops (compiled with AVX2_CFLAGS, called
 * only when cpu_ctx.avx2 is set): activations with a vector exp, LayerNorm / RMSNorm rows, and the
 * 16-bit weight product for few rows. Each has a portable equivalent in cpu_core.c. */
#include <immintrin.h>
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "accel/cpu/cpu_avx2.h"
#include "accel/cpu/cpu_avx2_math.h"
#include "core/weight.h"

void cpu_silu_avx2(float *y, const float *x, int64_t n)
{
    const __m256 one = _mm256_set1_ps(1.0f);
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) {
        __m256 v = _mm256_loadu_ps(x + i);
        __m256 e = cpu_exp256(_mm256_sub_ps(_mm256_setzero_ps(), v));
        _mm256_storeu_ps(y + i, _mm256_div_ps(v, _mm256_add_ps(one, e)));
    }
    for (; i < n; i++) y[i] = x[i] / (1.0f + expf(-x[i]));
}

/* 0.5 v (1 + tanh(u)) = v / (1 + exp(-2u)), u = sqrt(2/pi) (v + 0.044715 v^3) */
void cpu_gelu_tanh_avx2(float *y, const float *x, int64_t n)
{
    const float k = 0.7978845608028654f;
    const __m256 one = _mm256_set1_ps(1.0f), m2k = _mm256_set1_ps(-2.0f * k), c = _mm256_set1_ps(0.044715f);
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) {
        __m256 v = _mm256_loadu_ps(x + i);
        __m256 u = _mm256_fmadd_ps(_mm256_mul_ps(c, v), _mm256_mul_ps(v, v), v);
        __m256 e = cpu_exp256(_mm256_mul_ps(m2k, u));
        _mm256_storeu_ps(y + i, _mm256_div_ps(v, _mm256_add_ps(one, e)));
    }
    for (; i < n; i++) {
        float v = x[i];
        y[i] = 0.5f * v * (1.0f + tanhf(k * (v + 0.044715f * v * v * v)));
    }
}

float cpu_exp_sub_sum_avx2(float *p, int64_t n, float mx)
{
    const __m256 m = _mm256_set1_ps(mx);
    __m256 s = _mm256_setzero_ps();
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) {
        __m256 e = cpu_exp256(_mm256_sub_ps(_mm256_loadu_ps(p + i), m));
        _mm256_storeu_ps(p + i, e);
        s = _mm256_add_ps(s, e);
    }
    float sum = cpu_hsum256(s);
    for (; i < n; i++) {
        p[i] = expf(p[i] - mx);
        sum += p[i];
    }
    return sum;
}

/* sum_i (x_i - sub)^p over n floats, p = 1 or 2, in 2 accumulators of 8 lanes then the tail: a
 * fixed order. */
static float row_sum(const float *x, int64_t n, float sub, int sq)
{
    __m256 a0 = _mm256_setzero_ps(), a1 = _mm256_setzero_ps();
    const __m256 s = _mm256_set1_ps(sub);
    int64_t i = 0;
    for (; i + 16 <= n; i += 16) {
        __m256 d0 = _mm256_sub_ps(_mm256_loadu_ps(x + i), s), d1 = _mm256_sub_ps(_mm256_loadu_ps(x + i + 8), s);
        a0 = sq ? _mm256_fmadd_ps(d0, d0, a0) : _mm256_add_ps(a0, d0);
        a1 = sq ? _mm256_fmadd_ps(d1, d1, a1) : _mm256_add_ps(a1, d1);
    }
    float t = cpu_hsum256(_mm256_add_ps(a0, a1));
    for (; i < n; i++) t += sq ? (x[i] - sub) * (x[i] - sub) : x[i] - sub;
    return t;
}

void cpu_layer_norm_row_avx2(float *y, const float *x, const float *w, const float *b, const float *scale,
                             const float *shift, int64_t C, float eps)
{
    const float mean = row_sum(x, C, 0.0f, 0) / (float)C;
    const float var = row_sum(x, C, mean, 1) / (float)C;
    const float inv = (float)(1.0 / sqrt((double)var + (double)eps));
    const __m256 vm = _mm256_set1_ps(mean), vi = _mm256_set1_ps(inv), one = _mm256_set1_ps(1.0f);
    int64_t c = 0;
    for (; c + 8 <= C; c += 8) {
        __m256 v = _mm256_mul_ps(_mm256_sub_ps(_mm256_loadu_ps(x + c), vm), vi);
        if (w) v = _mm256_mul_ps(v, _mm256_loadu_ps(w + c));
        if (b) v = _mm256_add_ps(v, _mm256_loadu_ps(b + c));
        if (scale) v = _mm256_fmadd_ps(v, _mm256_add_ps(one, _mm256_loadu_ps(scale + c)), _mm256_loadu_ps(shift + c));
        _mm256_storeu_ps(y + c, v);
    }
    for (; c < C; c++) {
        float v = (x[c] - mean) * inv;
        if (w) v *= w[c];
        if (b) v += b[c];
        if (scale) v = v * (1.0f + scale[c]) + shift[c];
        y[c] = v;
    }
}

void cpu_rms_norm_row_avx2(float *y, const float *x, const float *w, int64_t C, float eps)
{
    __m256 a0 = _mm256_setzero_ps(), a1 = _mm256_setzero_ps();
    int64_t i = 0;
    for (; i + 16 <= C; i += 16) {
        __m256 v0 = _mm256_loadu_ps(x + i), v1 = _mm256_loadu_ps(x + i + 8);
        a0 = _mm256_fmadd_ps(v0, v0, a0);
        a1 = _mm256_fmadd_ps(v1, v1, a1);
    }
    float ss = cpu_hsum256(_mm256_add_ps(a0, a1));
    for (; i < C; i++) ss += x[i] * x[i];
    const float inv = (float)(1.0 / sqrt((double)ss / (double)C + (double)eps));
    const __m256 vi = _mm256_set1_ps(inv);
    int64_t c = 0;
    for (; c + 8 <= C; c += 8) {
        __m256 v = _mm256_mul_ps(_mm256_loadu_ps(x + c), vi);
        if (w) v = _mm256_mul_ps(v, _mm256_loadu_ps(w + c));
        _mm256_storeu_ps(y + c, v);
    }
    for (; c < C; c++) y[c] = w ? (x[c] * inv) * w[c] : x[c] * inv;
}

/* ---- the 16-bit linear product: y += x W^T with one FMA chain per output element ----
 * Every y[m, n] is y[m, n] (the bias or 0) followed by fma(x[m, k], W[n, k], .) for k = 0, 1, ..,
 * K-1 in that order; the blocking below (16 columns a vector pair, 6 rows a register tile, K in
 * chunks whose partial sums wait in y) only decides when each step runs, never what it computes.
 * So a row's bits depend on that row of x and on W alone: not on M, on the other rows, on the
 * columns a thread takes, or on the thread count. */

/* 8 bf16 / IEEE half values at p (unaligned) as floats. */
static inline __m256 load16x8(const uint16_t *p, int bf16)
{
    __m128i h = _mm_loadu_si128((const __m128i *)p);
    return bf16 ? _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(h), 16)) : _mm256_cvtph_ps(h);
}

/* r[l][i] = r[i][l] (8 x 8 floats). */
static inline void transpose8(__m256 r[8])
{
    __m256 t[8], u[8];
    for (int i = 0; i < 8; i += 2) {
        t[i] = _mm256_unpacklo_ps(r[i], r[i + 1]);
        t[i + 1] = _mm256_unpackhi_ps(r[i], r[i + 1]);
    }
    for (int i = 0; i < 8; i += 4) {
        u[i] = _mm256_shuffle_ps(t[i], t[i + 2], 0x44);
        u[i + 1] = _mm256_shuffle_ps(t[i], t[i + 2], 0xEE);
        u[i + 2] = _mm256_shuffle_ps(t[i + 1], t[i + 3], 0x44);
        u[i + 3] = _mm256_shuffle_ps(t[i + 1], t[i + 3], 0xEE);
    }
    for (int i = 0; i < 4; i++) {
        r[i] = _mm256_permute2f128_ps(u[i], u[i + 4], 0x20);
        r[i + 4] = _mm256_permute2f128_ps(u[i], u[i + 4], 0x31);
    }
}

/* Bp[kk * 16 + c] = W[n + c, k0 + kk] for kk < kc, c < 16 (0 for the columns c >= nc): 16 columns of
 * a 16-bit weight [N, K] over a chunk of K, as float32 rows of 16 (what the tile multiplies). */
static void pack16(float *Bp, const uint16_t *w, int bf16, int64_t K, int64_t nc, int64_t k0, int64_t kc)
{
    for (int64_t c8 = 0; c8 < 16; c8 += 8)
        for (int64_t kk = 0; kk < kc; kk += 8) {
            __m256 r[8];
            for (int i = 0; i < 8; i++) {
                const int64_t c = c8 + i;
                const uint16_t *src = w + c * K + k0 + kk;
                if (c < nc && kk + 8 <= kc) {
                    r[i] = load16x8(src, bf16);
                } else {
                    uint16_t t[8] = {0};
                    for (int64_t l = 0; c < nc && l < 8 && kk + l < kc; l++) t[l] = src[l];
                    r[i] = load16x8(t, bf16); /* zero bits: +0 in both formats */
                }
            }
            transpose8(r);
            for (int64_t l = 0; l < 8 && kk + l < kc; l++) _mm256_storeu_ps(Bp + (kk + l) * 16 + c8, r[l]);
        }
}

static inline void lin16_tile(const int MR, float *y, int64_t ldy, const float *x, int64_t ldx, const float *Bp,
                              int64_t kc, __m256i m0, __m256i m1)
{
    /* Written out row by row (MR is a constant in each caller) so that the 12 sums stay in registers. */
    const __m256 z = _mm256_setzero_ps();
    __m256 a0 = z, b0 = z, a1 = z, b1 = z, a2 = z, b2 = z, a3 = z, b3 = z, a4 = z, b4 = z, a5 = z, b5 = z;
    if (MR > 0) a0 = _mm256_maskload_ps(y + 0 * ldy, m0), b0 = _mm256_maskload_ps(y + 0 * ldy + 8, m1);
    if (MR > 1) a1 = _mm256_maskload_ps(y + 1 * ldy, m0), b1 = _mm256_maskload_ps(y + 1 * ldy + 8, m1);
    if (MR > 2) a2 = _mm256_maskload_ps(y + 2 * ldy, m0), b2 = _mm256_maskload_ps(y + 2 * ldy + 8, m1);
    if (MR > 3) a3 = _mm256_maskload_ps(y + 3 * ldy, m0), b3 = _mm256_maskload_ps(y + 3 * ldy + 8, m1);
    if (MR > 4) a4 = _mm256_maskload_ps(y + 4 * ldy, m0), b4 = _mm256_maskload_ps(y + 4 * ldy + 8, m1);
    if (MR > 5) a5 = _mm256_maskload_ps(y + 5 * ldy, m0), b5 = _mm256_maskload_ps(y + 5 * ldy + 8, m1);
    for (int64_t k = 0; k < kc; k++) {
        const __m256 w0 = _mm256_loadu_ps(Bp + k * 16), w1 = _mm256_loadu_ps(Bp + k * 16 + 8);
        __m256 t;
        if (MR > 0) t = _mm256_broadcast_ss(x + 0 * ldx + k), a0 = _mm256_fmadd_ps(t, w0, a0), b0 = _mm256_fmadd_ps(t, w1, b0);
        if (MR > 1) t = _mm256_broadcast_ss(x + 1 * ldx + k), a1 = _mm256_fmadd_ps(t, w0, a1), b1 = _mm256_fmadd_ps(t, w1, b1);
        if (MR > 2) t = _mm256_broadcast_ss(x + 2 * ldx + k), a2 = _mm256_fmadd_ps(t, w0, a2), b2 = _mm256_fmadd_ps(t, w1, b2);
        if (MR > 3) t = _mm256_broadcast_ss(x + 3 * ldx + k), a3 = _mm256_fmadd_ps(t, w0, a3), b3 = _mm256_fmadd_ps(t, w1, b3);
        if (MR > 4) t = _mm256_broadcast_ss(x + 4 * ldx + k), a4 = _mm256_fmadd_ps(t, w0, a4), b4 = _mm256_fmadd_ps(t, w1, b4);
        if (MR > 5) t = _mm256_broadcast_ss(x + 5 * ldx + k), a5 = _mm256_fmadd_ps(t, w0, a5), b5 = _mm256_fmadd_ps(t, w1, b5);
    }
    if (MR > 0) _mm256_maskstore_ps(y + 0 * ldy, m0, a0), _mm256_maskstore_ps(y + 0 * ldy + 8, m1, b0);
    if (MR > 1) _mm256_maskstore_ps(y + 1 * ldy, m0, a1), _mm256_maskstore_ps(y + 1 * ldy + 8, m1, b1);
    if (MR > 2) _mm256_maskstore_ps(y + 2 * ldy, m0, a2), _mm256_maskstore_ps(y + 2 * ldy + 8, m1, b2);
    if (MR > 3) _mm256_maskstore_ps(y + 3 * ldy, m0, a3), _mm256_maskstore_ps(y + 3 * ldy + 8, m1, b3);
    if (MR > 4) _mm256_maskstore_ps(y + 4 * ldy, m0, a4), _mm256_maskstore_ps(y + 4 * ldy + 8, m1, b4);
    if (MR > 5) _mm256_maskstore_ps(y + 5 * ldy, m0, a5), _mm256_maskstore_ps(y + 5 * ldy + 8, m1, b5);
}

/* y[r, 0 .. 16) (columns masked by m0, m1) = its fma chain continued over k < kc, for r < MR rows of
 * x (row stride ldx) and y (ldy), with the packed columns Bp. */
#define LIN16_TILE(MR)                                                                                        \
    static void tile##MR(float *y, int64_t ldy, const float *x, int64_t ldx, const float *Bp, int64_t kc,     \
                         __m256i m0, __m256i m1)                                                              \
    {                                                                                                         \
        lin16_tile(MR, y, ldy, x, ldx, Bp, kc, m0, m1);                                                       \
    }
LIN16_TILE(1)
LIN16_TILE(2)
LIN16_TILE(3)
LIN16_TILE(4)
LIN16_TILE(5)
LIN16_TILE(6)
#undef LIN16_TILE

typedef void (*lin16_tile_fn)(float *, int64_t, const float *, int64_t, const float *, int64_t, __m256i, __m256i);
static const lin16_tile_fn lin16_tiles[7] = {NULL, tile1, tile2, tile3, tile4, tile5, tile6};

void cpu_linear16_avx2(float *y, int64_t ldy, const float *x, const uint16_t *w, int bf16, int64_t M, int64_t K,
                       int64_t n0, int64_t n1, float *wbuf)
{
    for (int64_t nb = n0; nb < n1; nb += CPU_LINEAR16_NC) {
        const int64_t ncb = n1 - nb < CPU_LINEAR16_NC ? n1 - nb : CPU_LINEAR16_NC;
        for (int64_t k0 = 0; k0 < K; k0 += CPU_LINEAR16_KC) {
            const int64_t kc = K - k0 < CPU_LINEAR16_KC ? K - k0 : CPU_LINEAR16_KC;
            for (int64_t s = 0; s < ncb; s += 16)
                pack16(wbuf + s * kc, w + (nb + s) * K, bf16, K, ncb - s < 16 ? ncb - s : 16, k0, kc);
            /* The next chunk's ncb row pieces, fetched while this one is multiplied: ncb streams are
             * too many for the hardware prefetcher, and without this the pack waits on memory. */
            const int64_t k1 = k0 + CPU_LINEAR16_KC, kc1 = K - k1 < CPU_LINEAR16_KC ? K - k1 : CPU_LINEAR16_KC;
            const int64_t nm = (M + 5) / 6;
            int64_t pf = 0; /* rows of the next chunk prefetched so far */
            for (int64_t m = 0; m < M; m += 6) {
                const int64_t mr = M - m < 6 ? M - m : 6;
                for (const int64_t pf_end = kc1 > 0 ? ncb * (m / 6 + 1) / nm : 0; pf < pf_end; pf++)
                    for (int64_t b = 0; b < kc1 * 2; b += 64)
                        _mm_prefetch((const char *)(w + (nb + pf) * K + k1) + b, _MM_HINT_T1);
                for (int64_t s = 0; s < ncb; s += 16) {
                    int32_t mk[16];
                    for (int t = 0; t < 16; t++) mk[t] = s + t < ncb ? -1 : 0;
                    const __m256i m0 = _mm256_loadu_si256((const __m256i *)mk);
                    const __m256i m1 = _mm256_loadu_si256((const __m256i *)(mk + 8));
                    lin16_tiles[mr](y + m * ldy + nb + s, ldy, x + m * K + k0, K, wbuf + s * kc, kc, m0, m1);
                }
            }
        }
    }
}
