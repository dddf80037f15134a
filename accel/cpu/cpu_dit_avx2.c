/* accel/cpu/cpu_dit_avx2.c -- AVX2 + FMA kernels of the dit ops (compiled with AVX2_CFLAGS, called
 * only when cpu_ctx.avx2 is set); the portable equivalents are in cpu_dit.c. */
#include <immintrin.h>
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "accel/cpu/cpu_avx2.h"
#include "accel/cpu/cpu_avx2_math.h"

static inline __m256 silu8(__m256 v)
{
    __m256 e = cpu_exp256(_mm256_sub_ps(_mm256_setzero_ps(), v));
    return _mm256_div_ps(v, _mm256_add_ps(_mm256_set1_ps(1.0f), e));
}

static inline float silu1(float v) { return v / (1.0f + expf(-v)); }

/* p: (H + 2) x (W + 2), zero border, interior silu(x + b). */
static void fill_padded(float *p, const float *x, float b, int64_t H, int64_t W)
{
    const int64_t Wp = W + 2;
    memset(p, 0, (size_t)Wp * sizeof(float));
    memset(p + (H + 1) * Wp, 0, (size_t)Wp * sizeof(float));
    const __m256 vb = _mm256_set1_ps(b);
    for (int64_t i = 0; i < H; i++) {
        float *row = p + (i + 1) * Wp;
        const float *xr = x + i * W;
        row[0] = 0.0f;
        row[W + 1] = 0.0f;
        int64_t j = 0;
        for (; j + 8 <= W; j += 8) _mm256_storeu_ps(row + 1 + j, silu8(_mm256_add_ps(_mm256_loadu_ps(xr + j), vb)));
        for (; j < W; j++) row[1 + j] = silu1(xr[j] + b);
    }
}

/* 3x3 stencil at 8 outputs of row i, column j (inside the padded plane p). */
static inline __m256 stencil8(const float *p, int64_t Wp, int64_t i, int64_t j, const float *w, float bias)
{
    __m256 acc = _mm256_set1_ps(bias);
    for (int u = 0; u < 3; u++) {
        const float *r = p + (i + u) * Wp + j;
        acc = _mm256_fmadd_ps(_mm256_set1_ps(w[3 * u]), _mm256_loadu_ps(r), acc);
        acc = _mm256_fmadd_ps(_mm256_set1_ps(w[3 * u + 1]), _mm256_loadu_ps(r + 1), acc);
        acc = _mm256_fmadd_ps(_mm256_set1_ps(w[3 * u + 2]), _mm256_loadu_ps(r + 2), acc);
    }
    return acc;
}

static inline float stencil1(const float *p, int64_t Wp, int64_t i, int64_t j, const float *w, float bias)
{
    float acc = bias;
    for (int u = 0; u < 3; u++)
        for (int v = 0; v < 3; v++) acc += w[3 * u + v] * p[(i + u) * Wp + j + v];
    return acc;
}

void cpu_glu_pair_avx2(float *out, const float *xa, const float *xg, float ba, float bg, const float *wa,
                       const float *wg, float da, float dg, int64_t H, int64_t W, float *pad)
{
    const int64_t Wp = W + 2;
    float *pa = pad, *pg = pad + (H + 2) * Wp;
    fill_padded(pa, xa, ba, H, W);
    fill_padded(pg, xg, bg, H, W);
    for (int64_t i = 0; i < H; i++) {
        float *o = out + i * W;
        int64_t j = 0;
        for (; j + 8 <= W; j += 8) {
            __m256 a = stencil8(pa, Wp, i, j, wa, da), g = stencil8(pg, Wp, i, j, wg, dg);
            _mm256_storeu_ps(o + j, _mm256_mul_ps(a, silu8(g)));
        }
        for (; j < W; j++) o[j] = stencil1(pa, Wp, i, j, wa, da) * silu1(stencil1(pg, Wp, i, j, wg, dg));
    }
}

/* Columns [c0, c1) of rows [p0, p1) of t: silu(t + bi), 8 lanes then the tail. */
static void silu_cols(float *t, int64_t ld, const float *bi, int64_t p0, int64_t p1, int64_t c0, int64_t c1)
{
    for (int64_t p = p0; p < p1; p++) {
        float *r = t + p * ld;
        int64_t c = c0;
        for (; c + 8 <= c1; c += 8) {
            __m256 v = _mm256_loadu_ps(r + c);
            if (bi) v = _mm256_add_ps(v, _mm256_loadu_ps(bi + c));
            _mm256_storeu_ps(r + c, silu8(v));
        }
        for (; c < c1; c++) r[c] = silu1(bi ? r[c] + bi[c] : r[c]);
    }
}

void cpu_glu_tokens_avx2(float *out, float *t, const float *bi, const float *wT, const float *bd, int64_t H,
                         int64_t W, int64_t Hd, int64_t c0, int64_t c1)
{
    const int64_t C2 = 2 * Hd, HW = H * W;
    silu_cols(t, C2, bi, 0, HW, c0, c1);
    silu_cols(t, C2, bi, 0, HW, Hd + c0, Hd + c1);
    for (int64_t i = 0; i < H; i++)
        for (int64_t j = 0; j < W; j++) {
            float *o = out + (i * W + j) * Hd;
            int64_t c = c0;
            for (; c + 8 <= c1; c += 8) {
                __m256 a = bd ? _mm256_loadu_ps(bd + c) : _mm256_setzero_ps();
                __m256 g = bd ? _mm256_loadu_ps(bd + Hd + c) : _mm256_setzero_ps();
                for (int u = 0; u < 3; u++) {
                    if (i + u - 1 < 0 || i + u - 1 >= H) continue;
                    for (int v = 0; v < 3; v++) {
                        if (j + v - 1 < 0 || j + v - 1 >= W) continue;
                        const float *r = t + ((i + u - 1) * W + j + v - 1) * C2 + c, *w = wT + (3 * u + v) * C2 + c;
                        a = _mm256_fmadd_ps(_mm256_loadu_ps(w), _mm256_loadu_ps(r), a);
                        g = _mm256_fmadd_ps(_mm256_loadu_ps(w + Hd), _mm256_loadu_ps(r + Hd), g);
                    }
                }
                _mm256_storeu_ps(o + c, _mm256_mul_ps(a, silu8(g)));
            }
            for (; c < c1; c++) {
                float a = bd ? bd[c] : 0.0f, g = bd ? bd[Hd + c] : 0.0f;
                for (int u = 0; u < 3; u++)
                    for (int v = 0; v < 3; v++) {
                        const int64_t y = i + u - 1, x = j + v - 1;
                        if (y < 0 || y >= H || x < 0 || x >= W) continue;
                        const float *r = t + (y * W + x) * C2 + c, *w = wT + (3 * u + v) * C2 + c;
                        a = fmaf(w[0], r[0], a);
                        g = fmaf(w[Hd], r[Hd], g);
                    }
                o[c] = a * silu1(g);
            }
        }
}
