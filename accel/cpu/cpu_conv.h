/* accel/cpu/cpu_conv.h -- what the convolution kernels of the cpu backend share (cpu_conv.c, the
 * portable kernels and the dispatch; cpu_dnnl.c, dense convolutions through oneDNN when configure
 * found it).
 */
#ifndef SANA_ACCEL_CPU_CONV_H
#define SANA_ACCEL_CPU_CONV_H

#include <stdint.h>

/*
 * Dense (groups = 1) convolution through oneDNN, float32, NCHW in and out (x, y as ref_conv2d;
 * w: [Cout, Cin, kh, kw] float32; bias: [Cout] or NULL). Returns 1 when it ran, 0 when oneDNN is
 * not built in or declines the shape (the caller then runs the portable path), -1 on out of memory.
 * oneDNN picks its blocked layouts; activations and weights are reordered into them at every call
 * (a few ms against hundreds of ms of convolution at the DC-AE's shapes), large images in bands of
 * output rows so that the blocked copies and scratchpad stay under ~4 x 32 MiB + the weights. Winograd F(4x4, 3x3)
 * (oneDNN's AVX-512 kernels) is used for 3x3 stride-1 convolutions over at least
 * CPU_WINO_MIN_HW output pixels (below that its weight transform costs more than it saves).
 * SANA_CPU_WINOGRAD=0 turns it off. Not reentrant (one op at a time, as the backend runs them).
 */
int cpu_dnnl_conv2d(float *y, const float *x, const float *w, const float *bias, int64_t B, int64_t Cin, int64_t H,
                    int64_t W, int64_t Cout, int64_t kh, int64_t kw, int64_t stride, int64_t pad);

#define CPU_WINO_MIN_HW (128 * 128)

#endif
