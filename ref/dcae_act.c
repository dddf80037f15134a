/*
 * ref/dcae_act.c -- elementwise operators of the DC-AE: the activations diffusers'
 * get_activation() offers beyond silu and relu (which are core operators), the GLU
 * gate of GLUMBConv, and the residual addition.
 *
 * Part of ref/, the reference operators: plain loops, float32, libm.
 */
#include "ref.h"

#include <math.h>

/* y = 0.5 x (1 + erf(x / sqrt(2))).  torch: nn.GELU() (approximate="none") */
void ref_gelu_erf(float *y, const float *x, int64_t n)
{
#pragma omp parallel for if (n > 65536)
    for (int64_t i = 0; i < n; i++)
        y[i] = 0.5f * x[i] * (1.0f + erff(x[i] * 0.70710678118654752f));
}

/* y = x tanh(log1p(exp(x))).  torch: nn.Mish (for large x, exp overflows to inf and y = x) */
void ref_mish(float *y, const float *x, int64_t n)
{
#pragma omp parallel for if (n > 65536)
    for (int64_t i = 0; i < n; i++)
        y[i] = x[i] * tanhf(log1pf(expf(x[i])));
}

/*
 * y[b, c, p] = x[b, c, p] * silu(x[b, C + c, p]),  silu(g) = g / (1 + exp(-g))
 * x: [B, 2C, HW]  y: [B, C, HW]
 * diffusers: GLUMBConv.forward (chunk into hidden and gate, hidden * SiLU(gate))
 */
void ref_glu_silu(float *y, const float *x, int64_t B, int64_t C, int64_t HW)
{
#pragma omp parallel for collapse(2) if (B * C * HW > 65536)
    for (int64_t b = 0; b < B; b++)
        for (int64_t c = 0; c < C; c++) {
            const float *a = x + (b * 2 * C + c) * HW, *g = x + (b * 2 * C + C + c) * HW;
            float *yc = y + (b * C + c) * HW;
            for (int64_t p = 0; p < HW; p++) yc[p] = a[p] * (g[p] / (1.0f + expf(-g[p])));
        }
}

/* y += x, n elements (residual connections). */
void ref_dcae_add(float *y, const float *x, int64_t n)
{
#pragma omp parallel for if (n > 65536)
    for (int64_t i = 0; i < n; i++) y[i] += x[i];
}
