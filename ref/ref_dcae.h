/* ref/ref_dcae.h -- reference operators of the dcae family (see ref.h for the conventions).
 *
 * AutoencoderDC of diffusers v0.35.2 (models/autoencoders/autoencoder_dc.py) is built from
 * the core operators (conv2d with groups, silu, relu, add), the dit family's glumbconv (GLUMBConv
 * without its norm and residual, ref/glumbconv.c) and these:
 *
 *   dcae_norm.c       rms_norm_2d, batch_norm_2d            (norms over the channel axis)
 *   dcae_act.c        gelu_erf, mish                        (elementwise)
 *   dcae_resample.c   pixel_shuffle, pixel_unshuffle, upsample_nearest,
 *                     dcae_shortcut_up, dcae_shortcut_down  (space <-> channel moves)
 *   ms_linear_attn.c  ms_linear_attn, ms_quadratic_attn     (SanaMultiscaleLinearAttention core)
 *
 * Images are [B, C, H, W], row-major, float32. HW = H * W. These are the plain oracle; the cpu
 * backend's tuned and fused versions are accel/cpu/cpu_dcae.c.
 */
#ifndef SANA_REF_DCAE_H
#define SANA_REF_DCAE_H

/* ------------------------------------------------------------ dcae_norm.c */

/*
 * RMSNorm over the channels of an image, with weight and bias:
 *   y[b, c, p] = x[b, c, p] / sqrt(mean_c(x[b, :, p]^2) + eps) * w[c] + b[c]
 * x, y: [B, C, HW]  w, b: [C] or NULL (y may equal x)
 * diffusers: normalization.RMSNorm(C, eps, elementwise_affine=True, bias=True) applied as
 * norm(x.movedim(1, -1)).movedim(-1, 1) (ResBlock, GLUMBConv, SanaMultiscaleLinearAttention
 * norm_out, Decoder.norm_out); eps = 1e-5 everywhere in the DC-AE.
 */
void ref_rms_norm_2d(float *y, const float *x, const sana_wt *w, const sana_wt *b,
                     int64_t B, int64_t C, int64_t HW, float eps);

/*
 * BatchNorm2d in inference mode (running statistics):
 *   a[c] = w[c] / sqrt(var[c] + eps),  y[b, c, p] = x[b, c, p] * a[c] + (b[c] - mean[c] * a[c])
 * (the scale-and-shift form torch's CPU kernel uses). x, y: [B, C, HW]  mean, var, w, b: [C]
 * (w, b NULL: affine=False). y may equal x.
 * torch: nn.BatchNorm2d(C, eps).eval(), made by diffusers normalization.get_normalization("batch_norm")
 */
void ref_batch_norm_2d(float *y, const float *x, const sana_wt *mean, const sana_wt *var,
                       const sana_wt *w, const sana_wt *b, int64_t B, int64_t C, int64_t HW, float eps);

/* ------------------------------------------------------------ dcae_act.c */

/* y = 0.5 x (1 + erf(x / sqrt(2))), n elements (y may equal x).  torch: nn.GELU() (exact) */
void ref_gelu_erf(float *y, const float *x, int64_t n);
/* y = x tanh(softplus(x)), softplus(x) = log1p(exp(x)).  torch: nn.Mish */
void ref_mish(float *y, const float *x, int64_t n);

/* ------------------------------------------------------------ dcae_resample.c */

/*
 * Pixel shuffle (depth to space) by r:
 *   y[b, c, i*r + u, j*r + v] = x[b, c*r*r + u*r + v, i, j]
 * x: [B, C*r*r, H, W]  y: [B, C, H*r, W*r]      torch: F.pixel_shuffle(x, r)
 */
void ref_pixel_shuffle(float *y, const float *x, int64_t B, int64_t C, int64_t H, int64_t W, int64_t r);

/*
 * Pixel unshuffle (space to depth) by r, the inverse:
 *   y[b, c*r*r + u*r + v, i, j] = x[b, c, i*r + u, j*r + v]
 * x: [B, C, H, W] (H, W multiples of r)  y: [B, C*r*r, H/r, W/r]      torch: F.pixel_unshuffle(x, r)
 */
void ref_pixel_unshuffle(float *y, const float *x, int64_t B, int64_t C, int64_t H, int64_t W, int64_t r);

/*
 * Nearest-neighbour upsampling by an integer factor s:
 *   y[b, c, i, j] = x[b, c, i / s, j / s]
 * x: [B, C, H, W]  y: [B, C, H*s, W*s]
 * torch: F.interpolate(x, scale_factor=s, mode="nearest") (for integer s the source index
 * floor(i * (1/s)) is i / s)
 */
void ref_upsample_nearest(float *y, const float *x, int64_t B, int64_t C, int64_t H, int64_t W, int64_t s);

/*
 * Channel-duplicating shortcut of the up path, accumulated into y:
 *   y += pixel_shuffle(repeat_interleave(x, repeats, dim=1), r)
 *   i.e. y[b, o, i*r + u, j*r + v] += x[b, (o*r*r + u*r + v) / repeats, i, j]
 * x: [B, C, H, W]  y: [B, C*repeats/(r*r), H*r, W*r]   (C*repeats divisible by r*r)
 * r = 2: diffusers DCUpBlock2d (shortcut=True), repeats = out_channels * 4 / in_channels.
 * r = 1: diffusers Decoder.forward in_shortcut (repeats = block_out_channels[-1] / latent_channels).
 */
void ref_dcae_shortcut_up(float *y, const float *x, int64_t B, int64_t C, int64_t H, int64_t W,
                          int64_t repeats, int64_t r);

/*
 * Channel-averaging shortcut of the down path, accumulated into y:
 *   u = pixel_unshuffle(x, r)                      [B, C*r*r, H/r, W/r]
 *   y[b, o, i, j] += (sum_{g < group} u[b, o*group + g, i, j]) / group
 * x: [B, C, H, W]  y: [B, C*r*r/group, H/r, W/r]   (C*r*r divisible by group)
 * r = 2: diffusers DCDownBlock2d (shortcut=True), group = in_channels * 4 / out_channels
 *        (`y.unflatten(1, (-1, group_size)).mean(dim=2)`).
 * r = 1: diffusers Encoder.forward out_shortcut (group = block_out_channels[-1] / latent_channels).
 */
void ref_dcae_shortcut_down(float *y, const float *x, int64_t B, int64_t C, int64_t H, int64_t W,
                            int64_t group, int64_t r);

/* ------------------------------------------------------------ ms_linear_attn.c */

/*
 * The attention of SanaMultiscaleLinearAttention, from the concatenated multi-scale qkv.
 * qkv: [B, heads*3d, N] viewed as [B, heads, 3d, N]; for each (b, h) the rows [0, d) are q,
 * [d, 2d) are k and [2d, 3d) are v (torch `reshape(B, -1, 3*d, N)` then `chunk(3, dim=2)`).
 *   q = relu(q), k = relu(k)
 *   S = [v; 1] k^T          ([d+1, d]: v padded with a row of ones, F.pad(value=1))
 *   O = S q                 ([d+1, N])
 *   y[b, h*d + i, n] = O[i, n] / (O[d, n] + eps)
 * y: [B, heads*d, N]. Float32 throughout (diffusers upcasts to float32 for this path).
 * eps = 1e-15 (SanaMultiscaleLinearAttention.__init__ default).
 * diffusers: SanaMultiscaleAttnProcessor2_0 (use_linear_attention, i.e. H*W > attention_head_dim)
 *            + SanaMultiscaleLinearAttention.apply_linear_attention
 */
void ref_ms_linear_attn(float *y, const float *qkv, int64_t B, int64_t heads, int64_t d, int64_t N,
                        float eps);

/*
 * The quadratic path, taken by diffusers when H*W <= attention_head_dim:
 *   q = relu(q), k = relu(k)
 *   A[n, m] = sum_i k[i, n] q[i, m]               ([N, N] = k^T q)
 *   A[n, m] = A[n, m] / (sum_n' A[n', m] + eps)    (normalised over the key index)
 *   y[b, h*d + i, m] = sum_n v[i, n] A[n, m]
 * Shapes and eps as ref_ms_linear_attn.
 * diffusers: SanaMultiscaleLinearAttention.apply_quadratic_attention
 */
void ref_ms_quadratic_attn(float *y, const float *qkv, int64_t B, int64_t heads, int64_t d, int64_t N,
                           float eps);

#endif
