/*
 * ref/act.c -- elementwise activations, and the elementwise sum. y may equal an input (in place).
 *
 * Part of ref/, the reference operators: plain C11 with libm.
 */
#include "ref.h"

#include <math.h>

/* SiLU:  y = x / (1 + exp(-x)).  torch: F.silu / nn.SiLU */
void ref_silu(float *y, const float *x, int64_t n)
{
#pragma omp parallel for if (n >= REF_OMP_MIN)
    for (int64_t i = 0; i < n; i++)
        y[i] = x[i] / (1.0f + expf(-x[i]));
}

/*
 * GELU, tanh approximation:
 *   y = 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))
 * torch: F.gelu(x, approximate="tanh") (diffusers GELU(approximate="tanh"),
 * PixArtAlphaTextProjection act_fn="gelu_tanh", Gemma-2's gelu_pytorch_tanh).
 */
void ref_gelu_tanh(float *y, const float *x, int64_t n)
{
    const float k = 0.7978845608028654f; /* sqrt(2/pi) */
#pragma omp parallel for if (n >= REF_OMP_MIN)
    for (int64_t i = 0; i < n; i++) {
        float v = x[i];
        y[i] = 0.5f * v * (1.0f + tanhf(k * (v + 0.044715f * v * v * v)));
    }
}

/* ReLU:  y = max(x, 0).  torch: F.relu / nn.ReLU */
void ref_relu(float *y, const float *x, int64_t n)
{
#pragma omp parallel for if (n >= REF_OMP_MIN)
    for (int64_t i = 0; i < n; i++)
        y[i] = x[i] > 0.0f ? x[i] : 0.0f;
}

/* Sum:  y = a + b, n elements (y may equal a or b).  torch: `a + b` (residual connections of the
 * DC-AE blocks, timestep + guidance embedding of SanaCombinedTimestepGuidanceEmbeddings). */
void ref_add(float *y, const float *a, const float *b, int64_t n)
{
#pragma omp parallel for if (n >= REF_OMP_MIN)
    for (int64_t i = 0; i < n; i++)
        y[i] = a[i] + b[i];
}
