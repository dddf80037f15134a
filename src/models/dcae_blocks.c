/*
 * src/models/dcae_blocks.c -- the layers of AutoencoderDC (diffusers v0.35.2,
 * models/autoencoders/autoencoder_dc.py): ResBlock, SanaMultiscaleLinearAttention, GLUMBConv,
 * EfficientViTBlock, DCUpBlock2d and DCDownBlock2d, each loaded under its checkpoint key prefix
 * and run as a sequence of op calls through the backend table on [B, C, H, W] activations.
 * The model around them (decoder, encoder, passes, tiling) is src/models/dcae.c.
 */
#include "models/dcae_blocks.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* diffusers: SanaMultiscaleLinearAttention.__init__(eps=1e-15), the attention denominator epsilon. */
#define DCAE_ATTN_EPS 1e-15f

/* ------------------------------------------------------------------ loading */

static sana_status norm_load(sana_dcae_layer *L, sana_weights *s, const char *prefix, const char *norm,
                             sana_dcae_norm_type type, int64_t C)
{
    sana_status st = SANA_OK;
    const sana_op use = type == SANA_DCAE_NORM_BATCH ? SANA_OP_batch_norm_2d : SANA_OP_rms_norm_2d;
    sana_model_weight(&st, s, &L->norm_w, use, SHP(C), "%s%s.weight", prefix, norm);
    sana_model_weight(&st, s, &L->norm_b, use, SHP(C), "%s%s.bias", prefix, norm);
    if (type == SANA_DCAE_NORM_BATCH) {
        sana_model_weight(&st, s, &L->norm_mean, use, SHP(C), "%s%s.running_mean", prefix, norm);
        sana_model_weight(&st, s, &L->norm_var, use, SHP(C), "%s%s.running_var", prefix, norm);
    }
    return st;
}

static sana_status msla_load(sana_dcae_layer *L, sana_weights *s, const char *prefix)
{
    const sana_dcae_layer_desc *d = &L->d;
    sana_status st = SANA_OK;
    /* num_attention_heads = int(in_channels // attention_head_dim * mult), mult = 1.0 */
    L->heads = d->cin / d->head_dim;
    L->inner = L->heads * d->head_dim;
    if (L->heads < 1)
        return sana_err(SANA_ERR_UNSUPPORTED, "%s: %s: %lld channels give no attention head of dim %lld", "dcae", prefix,
                        (long long)d->cin, (long long)d->head_dim);
    sana_model_weight(&st, s, &L->to_q, SANA_OP_conv2d, SHP(L->inner, d->cin), "%sto_q.weight", prefix);
    sana_model_weight(&st, s, &L->to_k, SANA_OP_conv2d, SHP(L->inner, d->cin), "%sto_k.weight", prefix);
    sana_model_weight(&st, s, &L->to_v, SANA_OP_conv2d, SHP(L->inner, d->cin), "%sto_v.weight", prefix);
    for (int i = 0; i < d->n_scales; i++) {
        int64_t k = d->scales[i], c3 = 3 * L->inner;
        sana_model_weight(&st, s, &L->ms_in[i], SANA_OP_conv2d, SHP(c3, 1, k, k),
                          "%sto_qkv_multiscale.%d.proj_in.weight", prefix, i);
        sana_model_weight(&st, s, &L->ms_out[i], SANA_OP_conv2d, SHP(c3, d->head_dim, 1, 1), "%sto_qkv_multiscale.%d.proj_out.weight",
                       prefix, i);
    }
    sana_model_weight(&st, s, &L->to_out, SANA_OP_conv2d, SHP(d->cin, L->inner * (1 + d->n_scales)),
                      "%sto_out.weight", prefix);
    return st == SANA_OK ? norm_load(L, s, prefix, "norm_out", d->norm, d->cin) : st;
}

static sana_status glumb_load(sana_dcae_layer *L, sana_weights *s, const char *prefix)
{
    int64_t C = L->d.cin, h = 4 * C; /* GLUMBConv expand_ratio = 4 */
    sana_status st = SANA_OK;
    L->hidden = h;
    sana_model_weight(&st, s, &L->inv_w, SANA_OP_glumbconv, SHP(2 * h, C, 1, 1), "%sconv_inverted.weight", prefix);
    sana_model_weight(&st, s, &L->inv_b, SANA_OP_glumbconv, SHP(2 * h), "%sconv_inverted.bias", prefix);
    sana_model_weight(&st, s, &L->dep_w, SANA_OP_glumbconv, SHP(2 * h, 1, 3, 3), "%sconv_depth.weight", prefix);
    sana_model_weight(&st, s, &L->dep_b, SANA_OP_glumbconv, SHP(2 * h), "%sconv_depth.bias", prefix);
    sana_model_weight(&st, s, &L->pt_w, SANA_OP_glumbconv, SHP(C, h, 1, 1), "%sconv_point.weight", prefix);
    sana_model_weight(&st, s, &L->mb_norm_w, SANA_OP_rms_norm_2d, SHP(C), "%snorm.weight", prefix);
    return sana_model_weight(&st, s, &L->mb_norm_b, SANA_OP_rms_norm_2d, SHP(C), "%snorm.bias", prefix);
}

/* Fill L from the checkpoint keys under prefix; checks every shape and the channel arithmetic. */
sana_status dcae_layer_init(sana_dcae_layer *L, const sana_dcae_layer_desc *d, sana_weights *s,
                            const char *prefix)
{
    char p[512];
    sana_status st = SANA_OK;
    memset(L, 0, sizeof *L);
    L->d = *d;
    snprintf(L->name, sizeof L->name, "%s", prefix);
    size_t nl = strlen(L->name);
    if (nl && L->name[nl - 1] == '.') L->name[nl - 1] = 0;
    if (d->kind != SANA_DCAE_L_RESBLOCK && d->kind != SANA_DCAE_L_UP && d->kind != SANA_DCAE_L_DOWN)
        L->d.cout = d->cin;
    int64_t cin = d->cin, cout = L->d.cout;
    switch (d->kind) {
    case SANA_DCAE_L_RESBLOCK:
        if (cin != cout)
            return sana_err(SANA_ERR_UNSUPPORTED, "%s: ResBlock %lld -> %lld channels has no residual of that shape",
                            prefix, (long long)cin, (long long)cout);
        sana_model_weight(&st, s, &L->conv1_w, SANA_OP_conv2d, SHP(cin, cin, 3, 3), "%sconv1.weight", prefix);
        sana_model_weight(&st, s, &L->conv1_b, SANA_OP_conv2d, SHP(cin), "%sconv1.bias", prefix);
        sana_model_weight(&st, s, &L->conv2_w, SANA_OP_conv2d, SHP(cout, cin, 3, 3), "%sconv2.weight", prefix);
        return st == SANA_OK ? norm_load(L, s, prefix, "norm", d->norm, cout) : st;
    case SANA_DCAE_L_MSLA:
        return msla_load(L, s, prefix);
    case SANA_DCAE_L_GLUMBCONV:
        return glumb_load(L, s, prefix);
    case SANA_DCAE_L_EFFICIENTVIT:
        snprintf(p, sizeof p, "%sattn.", prefix);
        if ((st = msla_load(L, s, p)) != SANA_OK) return st;
        snprintf(p, sizeof p, "%sconv_out.", prefix);
        return glumb_load(L, s, p);
    case SANA_DCAE_L_UP:
        /* repeats = out * 4 // in; conv makes out (interpolate) or out * 4 (pixel_shuffle) channels */
        if (d->shortcut && (cout * 4 % cin != 0))
            return sana_err(SANA_ERR_UNSUPPORTED, "%s: DCUpBlock2d %lld -> %lld: the shortcut needs in | 4 * out",
                            prefix, (long long)cin, (long long)cout);
        L->conv_cout = d->resample ? cout : cout * 4;
        sana_model_weight(&st, s, &L->conv_w, SANA_OP_conv2d, SHP(L->conv_cout, cin, 3, 3), "%sconv.weight", prefix);
        return sana_model_weight(&st, s, &L->conv_b, SANA_OP_conv2d, SHP(L->conv_cout), "%sconv.bias", prefix);
    case SANA_DCAE_L_DOWN:
        /* group_size = in * 4 // out; with pixel_unshuffle the conv makes out / 4 channels */
        if (d->shortcut && (cin * 4 % cout != 0))
            return sana_err(SANA_ERR_UNSUPPORTED, "%s: DCDownBlock2d %lld -> %lld: the shortcut needs out | 4 * in",
                            prefix, (long long)cin, (long long)cout);
        if (d->resample && cout % 4 != 0)
            return sana_err(SANA_ERR_UNSUPPORTED, "%s: DCDownBlock2d to %lld channels: pixel_unshuffle needs a multiple of 4",
                            prefix, (long long)cout);
        L->conv_cout = d->resample ? cout / 4 : cout;
        sana_model_weight(&st, s, &L->conv_w, SANA_OP_conv2d, SHP(L->conv_cout, cin, 3, 3), "%sconv.weight", prefix);
        return sana_model_weight(&st, s, &L->conv_b, SANA_OP_conv2d, SHP(L->conv_cout), "%sconv.bias", prefix);
    }
    return sana_err(SANA_ERR_ARG, "dcae: unknown layer kind %d", (int)d->kind);
}

/* ------------------------------------------------------------------ forward: small helpers */

void dcae_act(const sana_backend *be, sana_dcae_act a, float *x, int64_t n)
{
    switch (a) {
    case SANA_DCAE_ACT_SILU: SANA_OP_CALL(be, silu, x, x, n); break;
    case SANA_DCAE_ACT_RELU: SANA_OP_CALL(be, relu, x, x, n); break;
    case SANA_DCAE_ACT_GELU: SANA_OP_CALL(be, gelu_erf, x, x, n); break;
    case SANA_DCAE_ACT_MISH: SANA_OP_CALL(be, mish, x, x, n); break;
    }
}

/* ResBlock / attention norm, in place: RMSNorm over channels (weight, bias) or BatchNorm2d. */
static void norm(const sana_backend *be, const sana_dcae_layer *L, float *x, int64_t B, int64_t C, int64_t HW)
{
    if (L->d.norm == SANA_DCAE_NORM_RMS)
        SANA_OP_CALL(be, rms_norm_2d, x, x, L->norm_w, L->norm_b, B, C, HW, DCAE_NORM_EPS);
    else
        SANA_OP_CALL(be, batch_norm_2d, x, x, L->norm_mean, L->norm_var, L->norm_w, L->norm_b, B, C, HW, DCAE_NORM_EPS);
}

/* 3x3 convolution, stride 1, padding 1. */
void dcae_conv3(const sana_backend *be, float *y, const float *x, const sana_wt *w, const sana_wt *b,
                int64_t B, int64_t Cin, int64_t H, int64_t W, int64_t Cout)
{
    SANA_OP_CALL(be, conv2d, y, x, w, b, B, Cin, H, W, Cout, 3, 3, 1, 1, 1);
}
/* 1x1 convolution (also nn.Linear over the channels of an image: W [Cout, Cin]). */
static void conv1(const sana_backend *be, float *y, const float *x, const sana_wt *w, const sana_wt *b,
                  int64_t B, int64_t Cin, int64_t H, int64_t W, int64_t Cout, int64_t groups)
{
    SANA_OP_CALL(be, conv2d, y, x, w, b, B, Cin, H, W, Cout, 1, 1, 1, 0, groups);
}

/* ------------------------------------------------------------------ forward: blocks
 * Each block writes y from x (distinct buffers) and uses `s`, a scratch area of at least
 * dcae_layer_scratch(L, B, H, W) floats. All three come from the pass's arena (plan_layers in dcae.c). */

static int64_t msla_scratch(const sana_dcae_layer *L, int64_t B, int64_t N)
{
    int64_t S = L->d.n_scales, c3 = 3 * L->inner;
    return B * (1 + S) * c3 * N + (S ? c3 * N : 0) + B * (1 + S) * L->inner * N; /* all, tmp, att */
}

/* DCUpBlock2d's interpolate path runs in bands of output rows: the nearest-upsampled input of the whole
 * image (cin x 2H x 2W, 268 MB at the last stage of a 512 px decode) was the largest buffer of the
 * decode. A band's upsampled rows (with a 2-row halo on each side) hold at most UP_BAND_FLOATS;
 * SANA_DCAE_UP_BAND=N sets N instead (tests/test-dcae runs the goldens in bands of a few rows). */
#define UP_BAND_FLOATS ((int64_t)1 << 24)

static int64_t up_band_floats(void)
{
    const char *e = getenv("SANA_DCAE_UP_BAND");
    long long v = e ? atoll(e) : 0;
    return v > 0 ? (int64_t)v : UP_BAND_FLOATS;
}

/* Output rows per band (even), or 2H (one band: the whole image, no copies) when it fits. */
static int64_t up_band_rows(const sana_dcae_layer *L, int64_t B, int64_t H, int64_t W)
{
    const int64_t c = L->d.cin > L->d.cout ? L->d.cin : L->d.cout;
    int64_t r = up_band_floats() / (B * c * 2 * W) - 4;
    r -= r % 2;
    if (r < 2) r = 2;
    return r >= 2 * H ? 2 * H : r;
}

/* Scratch of the interpolate path for bands of r output rows: the input rows, their upsampling, the conv. */
static int64_t up_band_scratch(const sana_dcae_layer *L, int64_t B, int64_t H, int64_t W, int64_t r)
{
    if (r >= 2 * H) return B * L->d.cin * 4 * H * W;
    const int64_t hb = r / 2 + 2;
    return B * L->d.cin * hb * W + B * L->d.cin * 2 * hb * 2 * W + B * L->d.cout * 2 * hb * 2 * W;
}

int64_t dcae_layer_scratch(const sana_backend *be, const sana_dcae_layer *L, int64_t B, int64_t H, int64_t W)
{
    int64_t N = H * W;
    switch (L->d.kind) {
    case SANA_DCAE_L_RESBLOCK: return B * L->d.cin * N;
    case SANA_DCAE_L_MSLA: return msla_scratch(L, B, N);
    case SANA_DCAE_L_GLUMBCONV: return sana_backend_work(be, SANA_OP_glumbconv, L->hidden, H, W);
    case SANA_DCAE_L_EFFICIENTVIT:
        return B * L->d.cin * N +
               dcae_max64(msla_scratch(L, B, N), sana_backend_work(be, SANA_OP_glumbconv, L->hidden, H, W));
    case SANA_DCAE_L_UP:
        return L->d.resample ? up_band_scratch(L, B, H, W, up_band_rows(L, B, H, W)) : B * L->d.cout * 4 * N;
    case SANA_DCAE_L_DOWN: return L->d.resample ? B * L->conv_cout * N : 0;
    }
    return 0;
}

/* diffusers: ResBlock.forward -- conv1, act, conv2, norm, + residual. */
static void resblock(const sana_backend *be, const sana_dcae_layer *L, float *y, const float *x, float *s,
                     int64_t B, int64_t H, int64_t W)
{
    int64_t C = L->d.cin, HW = H * W;
    dcae_conv3(be, s, x, L->conv1_w, L->conv1_b, B, C, H, W, C);
    dcae_act(be, L->d.act, s, B * C * HW);
    dcae_conv3(be, y, s, L->conv2_w, NULL, B, C, H, W, C);
    norm(be, L, y, B, C, HW);
    SANA_OP_CALL(be, add, y, y, x, B * C * HW);
}

/*
 * diffusers: SanaMultiscaleLinearAttention + SanaMultiscaleAttnProcessor2_0 (residual_connection=True):
 *   qkv = cat(to_q(x), to_k(x), to_v(x)) over channels               [B, 3*inner, H, W]
 *   for each scale: qkv_s = proj_out(proj_in(qkv)) (depthwise kxk, then grouped 1x1 with 3*heads groups)
 *   all = cat(qkv, qkv_s...)                                           [B, (1+S)*3*inner, N]
 *   attention per head of 3d channels (linear if N > head_dim, else quadratic)
 *   y = norm_out(to_out(att)) + x
 */
static void msla(const sana_backend *be, const sana_dcae_layer *L, float *y, const float *x, float *s,
                 int64_t B, int64_t H, int64_t W)
{
    int64_t C = L->d.cin, N = H * W, d = L->d.head_dim, S = L->d.n_scales;
    int64_t c3 = 3 * L->inner, ctot = (1 + S) * c3, inner_all = (1 + S) * L->inner;
    float *all = s, *tmp = all + B * ctot * N, *att = tmp + (S ? c3 * N : 0);
    for (int64_t b = 0; b < B; b++) {
        float *ab = all + b * ctot * N;
        const float *xb = x + b * C * N;
        conv1(be, ab, xb, L->to_q, NULL, 1, C, H, W, L->inner, 1);
        conv1(be, ab + L->inner * N, xb, L->to_k, NULL, 1, C, H, W, L->inner, 1);
        conv1(be, ab + 2 * L->inner * N, xb, L->to_v, NULL, 1, C, H, W, L->inner, 1);
        for (int64_t i = 0; i < S; i++) {
            int64_t k = L->d.scales[i];
            SANA_OP_CALL(be, conv2d, tmp, ab, L->ms_in[i], NULL, 1, c3, H, W, c3, k, k, 1, k / 2, c3);
            conv1(be, ab + (1 + i) * c3 * N, tmp, L->ms_out[i], NULL, 1, c3, H, W, c3, 3 * L->heads);
        }
    }
    if (N > d)
        SANA_OP_CALL(be, ms_linear_attn, att, all, B, (1 + S) * L->heads, d, N, DCAE_ATTN_EPS);
    else
        SANA_OP_CALL(be, ms_quadratic_attn, att, all, B, (1 + S) * L->heads, d, N, DCAE_ATTN_EPS);
    conv1(be, y, att, L->to_out, NULL, B, inner_all, H, W, C, 1);
    norm(be, L, y, B, C, N);
    SANA_OP_CALL(be, add, y, y, x, B * C * N);
}

/*
 * diffusers: GLUMBConv(C, C, expand_ratio=4, norm_type="rms_norm", residual_connection=True):
 *   t = silu(conv_inverted(x)); t = conv_depth(t) (3x3 depthwise); y = t[:h] * silu(t[h:]);
 *   y = RMSNorm(conv_point(y)) + x
 * The part up to conv_point is the glumbconv op shared with the DiT (ref/glumbconv.c).
 */
static void glumbconv(const sana_backend *be, const sana_dcae_layer *L, float *y, const float *x, float *s,
                      int64_t B, int64_t H, int64_t W)
{
    int64_t C = L->d.cin, h = L->hidden, N = H * W;
    SANA_OP_CALL(be, glumbconv, y, s, x, L->inv_w, L->inv_b, L->dep_w, L->dep_b, L->pt_w, NULL, B, C, H, W, h, C);
    SANA_OP_CALL(be, rms_norm_2d, y, y, L->mb_norm_w, L->mb_norm_b, B, C, N, DCAE_NORM_EPS);
    SANA_OP_CALL(be, add, y, y, x, B * C * N);
}

/* diffusers: DCUpBlock2d.forward -- (nearest x2 + conv) or (conv + pixel_shuffle), + shortcut. */
/*
 * interpolate + conv, in bands of r output rows [r0, r1): the input rows [r0/2 - 1, r1/2 + 1) (clipped)
 * are copied out, upsampled and convolved (padding 1 all round), and the band's rows are copied into y;
 * the 2 halo rows on each side make every kept row see its true neighbours (the image's edges get the
 * conv's zero padding, as in one pass). Each output pixel is the same sum as in one pass.
 */
static void up_interpolate_bands(const sana_backend *be, const sana_dcae_layer *L, float *y, const float *x, float *s,
                                 int64_t B, int64_t H, int64_t W, int64_t r)
{
    const int64_t cin = L->d.cin, cout = L->d.cout, Ho = 2 * H, Wo = 2 * W, hbm = r / 2 + 2;
    float *xb = s, *ub = xb + B * cin * hbm * W, *ob = ub + B * cin * 2 * hbm * Wo;
    for (int64_t r0 = 0; r0 < Ho; r0 += r) {
        const int64_t r1 = r0 + r < Ho ? r0 + r : Ho;
        const int64_t ia = r0 / 2 - 1 > 0 ? r0 / 2 - 1 : 0, ib = r1 / 2 + 1 < H ? r1 / 2 + 1 : H, hb = ib - ia;
        for (int64_t p = 0; p < B * cin; p++)
            be->copy(be->ctx, xb + p * hb * W, x + (p * H + ia) * W, (size_t)(hb * W) * sizeof(float));
        SANA_OP_CALL(be, upsample_nearest, ub, xb, B, cin, hb, W, 2);
        dcae_conv3(be, ob, ub, L->conv_w, L->conv_b, B, cin, 2 * hb, Wo, cout);
        for (int64_t p = 0; p < B * cout; p++)
            be->copy(be->ctx, y + (p * Ho + r0) * Wo, ob + (p * 2 * hb + (r0 - 2 * ia)) * Wo,
                     (size_t)((r1 - r0) * Wo) * sizeof(float));
    }
}

static void up(const sana_backend *be, const sana_dcae_layer *L, float *y, const float *x, float *s,
               int64_t B, int64_t H, int64_t W)
{
    int64_t cin = L->d.cin, cout = L->d.cout;
    const int64_t r = L->d.resample ? up_band_rows(L, B, H, W) : 0;
    if (L->d.resample && r < 2 * H) {
        up_interpolate_bands(be, L, y, x, s, B, H, W, r);
    } else if (L->d.resample) {
        SANA_OP_CALL(be, upsample_nearest, s, x, B, cin, H, W, 2);
        dcae_conv3(be, y, s, L->conv_w, L->conv_b, B, cin, 2 * H, 2 * W, cout);
    } else {
        dcae_conv3(be, s, x, L->conv_w, L->conv_b, B, cin, H, W, 4 * cout);
        SANA_OP_CALL(be, pixel_shuffle, y, s, B, cout, H, W, 2);
    }
    if (L->d.shortcut) SANA_OP_CALL(be, dcae_shortcut_up, y, x, B, cin, H, W, cout * 4 / cin, 2);
}

/* diffusers: DCDownBlock2d.forward -- (conv + pixel_unshuffle) or stride-2 conv, + shortcut. */
static sana_status down(const sana_backend *be, const sana_dcae_layer *L, float *y, const float *x, float *s,
                        int64_t B, int64_t H, int64_t W)
{
    int64_t cin = L->d.cin, cout = L->d.cout;
    if ((L->d.resample || L->d.shortcut) && (H % 2 || W % 2))
        return sana_err(SANA_ERR_ARG, "dcae: DCDownBlock2d on a %lld x %lld image: pixel_unshuffle needs even sizes",
                        (long long)H, (long long)W);
    if (L->d.resample) {
        dcae_conv3(be, s, x, L->conv_w, L->conv_b, B, cin, H, W, L->conv_cout);
        SANA_OP_CALL(be, pixel_unshuffle, y, s, B, L->conv_cout, H, W, 2);
    } else {
        SANA_OP_CALL(be, conv2d, y, x, L->conv_w, L->conv_b, B, cin, H, W, cout, 3, 3, 2, 1, 1);
    }
    if (L->d.shortcut) SANA_OP_CALL(be, dcae_shortcut_down, y, x, B, cin, H, W, cin * 4 / cout, 2);
    return SANA_OK;
}

void dcae_layer_out_shape(const sana_dcae_layer *L, int64_t H, int64_t W, int64_t *C, int64_t *Ho, int64_t *Wo)
{
    *C = L->d.cout;
    *Ho = H;
    *Wo = W;
    if (L->d.kind == SANA_DCAE_L_UP) { *Ho = 2 * H; *Wo = 2 * W; }
    if (L->d.kind == SANA_DCAE_L_DOWN) { *Ho = (H + 1) / 2; *Wo = (W + 1) / 2; } /* stride 2, padding 1 */
}

/* One layer: y = layer(x), scratch s (see dcae_layer_scratch). */
sana_status dcae_layer_run(const sana_backend *be, const sana_dcae_layer *L, float *y, const float *x, float *s,
                             int64_t B, int64_t H, int64_t W)
{
    switch (L->d.kind) {
    case SANA_DCAE_L_RESBLOCK: resblock(be, L, y, x, s, B, H, W); return SANA_OK;
    case SANA_DCAE_L_MSLA: msla(be, L, y, x, s, B, H, W); return SANA_OK;
    case SANA_DCAE_L_GLUMBCONV: glumbconv(be, L, y, x, s, B, H, W); return SANA_OK;
    case SANA_DCAE_L_UP: up(be, L, y, x, s, B, H, W); return SANA_OK;
    case SANA_DCAE_L_DOWN: return down(be, L, y, x, s, B, H, W);
    case SANA_DCAE_L_EFFICIENTVIT: { /* diffusers: EfficientViTBlock.forward -- attn then conv_out */
        float *t = s, *s2 = s + B * L->d.cin * H * W;
        msla(be, L, t, x, s2, B, H, W);
        glumbconv(be, L, y, t, s2, B, H, W);
        return SANA_OK;
    }
    }
    return sana_err(SANA_ERR_ARG, "dcae: unknown layer kind %d", (int)L->d.kind);
}

