/*
 * ref/dcae_act.c -- elementwise operators of the DC-AE: the activations diffusers'
 * get_activation() offers beyond silu and relu (which are core operators; so is the
 * residual addition, ref_add in ref/act.c).
 *
 * Part of ref/, the reference operators: plain loops, float32, libm.
 */
#include "ref.h"

#include <math.h>

/* y = 0.5 x (1 + erf(x / sqrt(2))).  torch: nn.GELU() (approximate="none") */
void ref_gelu_erf(float *y, const float *x, int64_t n)
{
#pragma omp parallel for
    for (int64_t i = 0; i < n; i++)
        y[i] = 0.5f * x[i] * (1.0f + erff(x[i] * 0.70710678118654752f));
}

/* y = x tanh(log1p(exp(x))).  torch: nn.Mish (for large x, exp overflows to inf and y = x) */
void ref_mish(float *y, const float *x, int64_t n)
{
#pragma omp parallel for
    for (int64_t i = 0; i < n; i++)
        y[i] = x[i] * tanhf(log1pf(expf(x[i])));
}
