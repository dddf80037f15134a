/* ref/ref_core.h -- the basic operators: linear, norms, activations, conv2d. */
#ifndef SANA_REF_CORE_H
#define SANA_REF_CORE_H

/* ------------------------------------------------------------ linear.c */

/*
 * y = x W^T + b
 * x: [M, K]  W: [N, K] (torch nn.Linear layout)  b: [N] or NULL  y: [M, N]
 * torch: nn.Linear
 */
void ref_linear(float *y, const float *x, const sana_wt *w, const sana_wt *b,
                int64_t M, int64_t K, int64_t N);

/* ------------------------------------------------------------ norms.c */

/*
 * LayerNorm over the last dimension:
 *   y = (x - mean(x)) / sqrt(var(x) + eps) * w + b   (biased variance)
 * x, y: [rows, C]  w, b: [C] or NULL (elementwise_affine=False)
 * torch: nn.LayerNorm(C, eps, elementwise_affine)
 */
void ref_layer_norm(float *y, const float *x, const sana_wt *w, const sana_wt *b,
                    int64_t rows, int64_t C, float eps);

/*
 * RMSNorm over the last dimension:
 *   y = x / sqrt(mean(x^2) + eps) * w     (w = 1 when NULL)
 * x, y: [rows, C]  w: [C] or NULL
 * diffusers: models.normalization.RMSNorm (variance in float32, then weight)
 */
void ref_rms_norm(float *y, const float *x, const sana_wt *w,
                  int64_t rows, int64_t C, float eps);

/* ------------------------------------------------------------ act.c */

/* y = x * sigmoid(x), n elements (y may equal x).  torch: F.silu */
void ref_silu(float *y, const float *x, int64_t n);
/* y = 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))).  torch: F.gelu(approximate="tanh") */
void ref_gelu_tanh(float *y, const float *x, int64_t n);
/* y = max(x, 0).  torch: F.relu */
void ref_relu(float *y, const float *x, int64_t n);
/* y = a + b, n elements (y may equal a or b).  torch: a + b (residual connections, summed embeddings) */
void ref_add(float *y, const float *a, const float *b, int64_t n);

/* ------------------------------------------------------------ conv.c */

/*
 * 2D convolution, zero padding, dilation 1:
 *   y[b, o, i, j] = bias[o] + sum_{c in group(o), u, v} w[o, c', u, v] x[b, c, i*s - p + u, j*s - p + v]
 * x: [B, Cin, H, W]  w: [Cout, Cin/groups, kh, kw]  bias: [Cout] or NULL
 * y: [B, Cout, Ho, Wo], Ho = (H + 2p - kh)/s + 1, Wo likewise.
 * groups = 1: im2col + sgemm; groups = Cin = Cout (depthwise): direct loops;
 * other groups: per-group im2col + sgemm (the plain oracle; the cpu backend's tuned paths are
 * accel/cpu/cpu_conv.c).
 * torch: nn.Conv2d(Cin, Cout, (kh, kw), stride=s, padding=p, groups=groups)
 */
void ref_conv2d(float *y, const float *x, const sana_wt *w, const sana_wt *bias,
                int64_t B, int64_t Cin, int64_t H, int64_t W,
                int64_t Cout, int64_t kh, int64_t kw,
                int64_t stride, int64_t pad, int64_t groups);

#endif
