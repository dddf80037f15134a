/*
 * src/models/dcae_blocks.h -- inside the DC-AE model (not installed): one layer of AutoencoderDC
 * (ResBlock, EfficientViTBlock and its parts, DCUpBlock2d, DCDownBlock2d) with its weights, as
 * src/models/dcae_blocks.c loads and runs it, and the small op wrappers src/models/dcae.c shares.
 */
#ifndef SANA_DCAE_BLOCKS_H
#define SANA_DCAE_BLOCKS_H

#include "models/dcae.h"
#include "models/weights.h"

/* diffusers: normalization.get_normalization(eps=1e-5), RMSNorm(..., eps=1e-5) in GLUMBConv and
 * Decoder.norm_out: every norm of the DC-AE uses this epsilon. */
#define DCAE_NORM_EPS 1e-5f

struct sana_dcae_layer {
    sana_dcae_layer_desc d;
    char name[96];                     /* key prefix, for messages */
    /* ResBlock */
    const sana_wt *conv1_w, *conv1_b, *conv2_w;
    /* norm of ResBlock (norm.*) or of the attention (norm_out.*) */
    const sana_wt *norm_w, *norm_b, *norm_mean, *norm_var;
    /* SanaMultiscaleLinearAttention */
    int64_t heads, inner;
    const sana_wt *to_q, *to_k, *to_v, *to_out, *ms_in[SANA_DCAE_MAX_SCALES], *ms_out[SANA_DCAE_MAX_SCALES];
    /* GLUMBConv */
    int64_t hidden;
    const sana_wt *inv_w, *inv_b, *dep_w, *dep_b, *pt_w, *mb_norm_w, *mb_norm_b;
    /* DCUpBlock2d / DCDownBlock2d */
    const sana_wt *conv_w, *conv_b;
    int64_t conv_cout;
    sana_weights *own;                 /* a layer loaded alone (sana_dcae_layer_load): its weights */
};


static inline int64_t dcae_max64(int64_t a, int64_t b) { return a > b ? a : b; }

/* Fill L from the checkpoint keys under prefix ("" or "name.") of the store s (weights prepared by
 * its backend); checks every shape and the channel arithmetic. */
sana_status dcae_layer_init(sana_dcae_layer *L, const sana_dcae_layer_desc *d, sana_weights *s, const char *prefix);
/* Floats of scratch the layer needs for a B x cin x H x W input. */
int64_t dcae_layer_scratch(const sana_backend *be, const sana_dcae_layer *L, int64_t B, int64_t H, int64_t W);
/* Output shape of the layer for an input of cin x H x W. */
void dcae_layer_out_shape(const sana_dcae_layer *L, int64_t H, int64_t W, int64_t *C, int64_t *Ho, int64_t *Wo);
/* y = layer(x) on backend buffers, scratch s of dcae_layer_scratch floats (x, y, s distinct). */
sana_status dcae_layer_run(const sana_backend *be, const sana_dcae_layer *L, float *y, const float *x, float *s,
                           int64_t B, int64_t H, int64_t W);

/* The activation `a` in place on n floats. */
void dcae_act(const sana_backend *be, sana_dcae_act a, float *x, int64_t n);
/* 3x3 convolution, stride 1, padding 1: x [B, Cin, H, W] -> y [B, Cout, H, W]. */
void dcae_conv3(const sana_backend *be, float *y, const float *x, const sana_wt *w, const sana_wt *b,
                int64_t B, int64_t Cin, int64_t H, int64_t W, int64_t Cout);

#endif
