/* src/sampler/rng.c -- torch.Generator("cpu") and torch.randn/rand for float32 (see rng.h).
 *
 * Ported from the semantics of ATen (MT19937RNGEngine.h, CPUGeneratorImpl.cpp,
 * TransformationHelper.h, DistributionsHelper.h, cpu/DistributionTemplates.h
 * and the Cephes-style polynomials of cpu/avx_mathfun.h), checked against
 * torch 2.9.1 on x86-64 bit for bit (tests/test-rng.c, golden/sampler/rng.safetensors).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "sampler/rng.h"

#define MT_N 624
#define MT_M 397

struct sana_rng {
    uint32_t state[MT_N];
    int left, next;
    uint64_t seed;
    int has_cached_normal;     /* CPUGeneratorImpl::next_double_normal_sample_ */
    double cached_normal;
};

/* Classic MT19937 initialisation from the low 32 bits of the seed (mt19937::init_with_uint32). */
void sana_rng_seed(sana_rng *g, uint64_t seed)
{
    g->seed = seed;
    g->state[0] = (uint32_t)(seed & 0xffffffffu);
    for (int j = 1; j < MT_N; j++)
        g->state[j] = 1812433253u * (g->state[j - 1] ^ (g->state[j - 1] >> 30)) + (uint32_t)j;
    g->left = 1;
    g->next = 0;
    g->has_cached_normal = 0;
    g->cached_normal = 0.0;
}

sana_rng *sana_rng_new(uint64_t seed)
{
    sana_rng *g = malloc(sizeof *g);
    if (g) sana_rng_seed(g, seed);
    return g;
}

void sana_rng_free(sana_rng *g) { free(g); }

uint64_t sana_rng_initial_seed(const sana_rng *g) { return g->seed; }

static uint32_t mt_twist(uint32_t u, uint32_t v)
{
    uint32_t mix = (u & 0x80000000u) | (v & 0x7fffffffu);
    return (mix >> 1) ^ ((v & 1u) ? 0x9908b0dfu : 0u);
}

/* Regenerate all 624 words (the standard MT19937 recurrence). */
static void mt_next_state(sana_rng *g)
{
    uint32_t *s = g->state;
    int k;
    for (k = 0; k < MT_N - MT_M; k++) s[k] = s[k + MT_M] ^ mt_twist(s[k], s[k + 1]);
    for (; k < MT_N - 1; k++) s[k] = s[k + MT_M - MT_N] ^ mt_twist(s[k], s[k + 1]);
    s[MT_N - 1] = s[MT_M - 1] ^ mt_twist(s[MT_N - 1], s[0]);
    g->left = MT_N;
    g->next = 0;
}

uint32_t sana_rng_u32(sana_rng *g)
{
    if (--g->left == 0) mt_next_state(g);
    uint32_t y = g->state[g->next++];
    y ^= y >> 11;
    y ^= (y << 7) & 0x9d2c5680u;
    y ^= (y << 15) & 0xefc60000u;
    y ^= y >> 18;
    return y;
}

/* uniform_real_distribution<float>(0, 1): low 24 bits of one output, times 2^-24. */
static float uniform_f32(sana_rng *g)
{
    return (float)(sana_rng_u32(g) & 0xffffffu) * (1.0f / 16777216.0f);
}

/* uniform_real_distribution<double>(0, 1): random64() = (first << 32) | second, low 53 bits, times 2^-53. */
static double uniform_f64(sana_rng *g)
{
    uint64_t hi = sana_rng_u32(g);
    uint64_t lo = sana_rng_u32(g);
    uint64_t v = (hi << 32) | lo;
    return (double)(v & ((1ULL << 53) - 1)) * (1.0 / 9007199254740992.0);
}

void sana_rand(sana_rng *g, float *out, int64_t n)
{
    for (int64_t i = 0; i < n; i++) out[i] = uniform_f32(g);
}

/* ---- float32 log and sincos of avx_mathfun.h (Cephes polynomials), one lane at a time.
 * The x86-64 torch build compiles these with FMA contraction; which products
 * are fused was established against torch's output (every normal of 10^4 blocks
 * identical): the Horner steps and the e*q1, z*0.5, e*q2 corrections are fused,
 * the three-part reduction of the angle by pi/4 is not. */
static float f32_bits(uint32_t u) { float f; memcpy(&f, &u, 4); return f; }
static uint32_t bits_f32(float f) { uint32_t u; memcpy(&u, &f, 4); return u; }

/* log(x) for x in (0, 1] (the only range normal_fill gives it). */
static float cephes_logf(float x)
{
    static const float p[9] = {
        7.0376836292E-2f, -1.1514610310E-1f, 1.1676998740E-1f, -1.2420140846E-1f, 1.4249322787E-1f,
        -1.6668057665E-1f, 2.0000714765E-1f, -2.4999993993E-1f, 3.3333331174E-1f };
    const float q1 = -2.12194440e-4f, q2 = 0.693359375f;
    const float min_norm = f32_bits(0x00800000u);
    if (x < min_norm) x = min_norm;                    /* cut off denormals */
    uint32_t b = bits_f32(x);
    float e = (float)((int32_t)(b >> 23) - 0x7f) + 1.0f;
    x = f32_bits((b & ~0x7f800000u) | bits_f32(0.5f)); /* mantissa in [0.5, 1) */
    float t = 0.0f;
    if (x < 0.707106781186547524f) { t = x; e -= 1.0f; }
    x = (x - 1.0f) + t;
    float z = x * x;
    float y = p[0];
    for (int i = 1; i < 9; i++) y = fmaf(y, x, p[i]);
    y = y * x;
    y = fmaf(y, z, e * q1);
    y = fmaf(-z, 0.5f, y);
    x = x + y;
    return fmaf(e, q2, x);
}

/* sin and cos of x >= 0. */
static void cephes_sincosf(float x, float *s, float *c)
{
    float y = x * 1.27323954473516f;                   /* 4 / pi */
    int32_t j = ((int32_t)y + 1) & ~1;
    y = (float)j;
    int neg_sin = (j & 4) != 0;
    int neg_cos = (~(j - 2) & 4) != 0;
    int first = (j & 2) == 0;
    x = x + y * -0.78515625f;                          /* x - j pi/4 in three parts */
    x = x + y * -2.4187564849853515625e-4f;
    x = x + y * -3.77489497744594108e-8f;
    float z = x * x;
    float yc = 2.443315711809948E-005f;                /* cos polynomial on [0, pi/4] */
    yc = fmaf(yc, z, -1.388731625493765E-003f);
    yc = fmaf(yc, z, 4.166664568298827E-002f);
    yc = yc * z;
    yc = fmaf(yc, z, -(z * 0.5f));
    yc = yc + 1.0f;
    float ys = -1.9515295891E-4f;                      /* sin polynomial on [0, pi/4] */
    ys = fmaf(ys, z, 8.3321608736E-3f);
    ys = fmaf(ys, z, -1.6666654611E-1f);
    ys = ys * z;
    ys = fmaf(ys, x, x);
    float sv = first ? ys : yc, cv = first ? yc : ys;
    *s = neg_sin ? -sv : sv;
    *c = neg_cos ? -cv : cv;
}

/* normal_fill_16_AVX2: 16 uniforms in place -> 16 standard normals. */
static void box_muller_16(float *d)
{
    const float two_pi = (float)(2.0 * 3.14159265358979323846); /* _mm256_set1_ps(2.0f * pi<double>) */
    for (int j = 0; j < 8; j++) {
        float u1 = 1.0f - d[j];                        /* [0, 1) -> (0, 1] */
        float u2 = d[j + 8];
        float radius = sqrtf(-2.0f * cephes_logf(u1));
        float s, c;
        cephes_sincosf(two_pi * u2, &s, &c);
        d[j] = radius * c;                             /* * std (1) + mean (0): exact */
        d[j + 8] = radius * s;
    }
}

/* normal_distribution<double>(0, 1) with the generator's one-value cache. */
static double normal_f64(sana_rng *g)
{
    if (g->has_cached_normal) {
        g->has_cached_normal = 0;
        return g->cached_normal;
    }
    double u1 = uniform_f64(g);
    double u2 = uniform_f64(g);
    double r = sqrt(-2.0 * log1p(-u2));
    double theta = 2.0 * 3.14159265358979323846 * u1;
    g->cached_normal = r * sin(theta);
    g->has_cached_normal = 1;
    return r * cos(theta);
}

void sana_randn(sana_rng *g, float *out, int64_t n)
{
    if (n <= 0) return;
    if (n < 16) {
        for (int64_t i = 0; i < n; i++) out[i] = (float)normal_f64(g);
        return;
    }
    for (int64_t i = 0; i < n; i++) out[i] = uniform_f32(g);
    for (int64_t i = 0; i + 16 <= n; i += 16) box_muller_16(out + i);
    if (n % 16 != 0) {
        float *tail = out + n - 16;
        for (int i = 0; i < 16; i++) tail[i] = uniform_f32(g);
        box_muller_16(tail);
    }
}
