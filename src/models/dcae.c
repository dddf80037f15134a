/*
 * src/models/dcae.c -- AutoencoderDC (diffusers v0.35.2, models/autoencoders/autoencoder_dc.py):
 * decoder, encoder, and the tiled decode/encode of enable_tiling().
 *
 * Each forward function reads like the diffusers forward() it mirrors: a sequence of op
 * calls through the backend table on [B, C, H, W] activations; the layers (blocks) are in
 * src/models/dcae_blocks.c. A pass (decoder or encoder, one tile at a time when tiled) makes
 * one be->alloc sized up front from its layer list: two activation buffers used in turn and
 * one scratch area for block temporaries. Tiling (split, blend, crop) runs on the host between passes.
 * Weights are looked up by their checkpoint keys and prepared once by the backend (src/models/weights.h).
 */
#include "models/dcae_blocks.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* diffusers: AutoencoderDC.__init__ tiling defaults: tile_sample_min 512, tile_sample_stride 448. */
#define DCAE_TILE_MIN 512
#define DCAE_TILE_STRIDE 448

struct sana_dcae {
    sana_dcae_config cfg;
    const sana_backend *be;
    sana_st_set *st;
    sana_weights w;                    /* every weight, as the backend prepared it */
    /* decoder */
    const sana_wt *dec_in_w, *dec_in_b, *dec_norm_w, *dec_norm_b, *dec_out_w, *dec_out_b;
    sana_dcae_layer *dec_layers, dec_out_up;
    int n_dec_layers, dec_out_is_up;
    int64_t dec_channels, dec_ratio;   /* channels before norm_out; decoder upsampling factor */
    /* encoder */
    const sana_wt *enc_in_w, *enc_in_b, *enc_out_w, *enc_out_b;
    sana_dcae_layer *enc_layers, enc_in_down;
    int n_enc_layers, enc_in_is_down;
    int64_t enc_in_channels;           /* output channels of conv_in */
};

/* ------------------------------------------------------------------ the arena of a pass */

static sana_status nomem(void) { return sana_err(SANA_ERR_NOMEM, "dcae: out of memory for activations"); }

/* Wait for the backend: a failure of one of its ops since the last call is the pass's status. */
static sana_status backend_status(const sana_backend *be)
{
    sana_status st = sana_backend_sync(be);
    if (st == SANA_OK) return SANA_OK;
    return sana_err(st, "dcae: backend %s failed in the pass (%s)", be->name, sana_status_name(st));
}

/*
 * The arena of one pass over a list of layers: two activation buffers used in turn (each as
 * large as the largest activation the list reads or writes) and one scratch area (the largest
 * dcae_layer_scratch). plan_layers grows *act and *scratch (in floats) for an input of C x H x W
 * and leaves the output shape in C, H, W.
 */
static void plan_layers(const sana_backend *be, const sana_dcae_layer *Ls, int n, int64_t B, int64_t *C, int64_t *H, int64_t *W,
                        int64_t *act_n, int64_t *scratch_n)
{
    *act_n = dcae_max64(*act_n, B * *C * *H * *W);
    for (int i = 0; i < n; i++) {
        *scratch_n = dcae_max64(*scratch_n, dcae_layer_scratch(be, &Ls[i], B, *H, *W));
        dcae_layer_out_shape(&Ls[i], *H, *W, C, H, W);
        *act_n = dcae_max64(*act_n, B * *C * *H * *W);
    }
}

/* Run a list of layers from (*x), ping-ponging between *x and *other; on return *x holds the result. */
static sana_status run_layers(const sana_backend *be, const sana_dcae_layer *Ls, int n, float **x, float **other,
                              float *s, int64_t B, int64_t *C, int64_t *H, int64_t *W)
{
    for (int i = 0; i < n; i++) {
        sana_status st = dcae_layer_run(be, &Ls[i], *other, *x, s, B, *H, *W);
        if (st != SANA_OK) return st;
        float *t = *x;
        *x = *other;
        *other = t;
        dcae_layer_out_shape(&Ls[i], *H, *W, C, H, W);
    }
    return SANA_OK;
}

/* One backend allocation carved into n parts of sizes[i] floats (64-float aligned). */
static float *arena_alloc(const sana_backend *be, int n, const int64_t *sizes, float **parts)
{
    int64_t total = 0;
    for (int i = 0; i < n; i++) total += (sizes[i] + 63) / 64 * 64;
    float *base = be->alloc(be->ctx, (size_t)(total > 0 ? total : 64) * sizeof(float));
    if (!base) return NULL;
    int64_t off = 0;
    for (int i = 0; i < n; i++) {
        parts[i] = base + off;
        off += (sizes[i] + 63) / 64 * 64;
    }
    return base;
}

/* ------------------------------------------------------------------ block API (tests) */

sana_status sana_dcae_layer_load(sana_dcae_layer **out, const sana_dcae_layer_desc *d, const sana_st_set *s,
                                 const char *prefix, const sana_backend *be)
{
    *out = NULL;
    sana_dcae_layer *L = malloc(sizeof *L);
    sana_weights *w = malloc(sizeof *w);
    if (!L || !w) {
        free(L);
        free(w);
        return nomem();
    }
    sana_weights_init(w, be, s, 0);
    sana_status st = dcae_layer_init(L, d, w, prefix ? prefix : "");
    L->own = w;
    if (st != SANA_OK) {
        sana_dcae_layer_free(L);
        return st;
    }
    *out = L;
    return SANA_OK;
}

void sana_dcae_layer_out_shape(const sana_dcae_layer *L, int64_t H, int64_t W, int64_t *C, int64_t *Ho, int64_t *Wo)
{
    dcae_layer_out_shape(L, H, W, C, Ho, Wo);
}

sana_status sana_dcae_layer_forward(const sana_backend *be, const sana_dcae_layer *L, float *y, const float *x,
                                    int64_t B, int64_t H, int64_t W)
{
    int64_t C, Ho, Wo;
    dcae_layer_out_shape(L, H, W, &C, &Ho, &Wo);
    int64_t sizes[3] = {B * L->d.cin * H * W, B * C * Ho * Wo, dcae_layer_scratch(be, L, B, H, W)};
    float *p[3], *base = arena_alloc(be, 3, sizes, p);
    if (!base) return nomem();
    be->upload(be->ctx, p[0], x, (size_t)sizes[0] * sizeof(float));
    sana_status st = dcae_layer_run(be, L, p[1], p[0], p[2], B, H, W);
    if (st == SANA_OK) st = backend_status(be);
    if (st == SANA_OK) be->download(be->ctx, y, p[1], (size_t)sizes[1] * sizeof(float));
    be->free(be->ctx, base);
    return st;
}

void sana_dcae_layer_free(sana_dcae_layer *L)
{
    if (!L) return;
    if (L->own) sana_weights_free(L->own);
    free(L->own);
    free(L);
}

/* ------------------------------------------------------------------ model loading */

/*
 * The channels must chain from layer to layer. diffusers builds any layers_per_block, but a
 * stage with no layers between stages of different widths makes torch fail at run time;
 * here it is a load error (the convolutions would otherwise read the wrong number of planes).
 */
static sana_status check_chain(const sana_st_set *s, const sana_dcae_layer *Ls, int n, int64_t C, int64_t Cend,
                               const char *end)
{
    for (int i = 0; i < n; i++) {
        if (Ls[i].d.cin != C)
            return sana_err(SANA_ERR_UNSUPPORTED, "%s: %s takes %lld channels but gets %lld (a stage without layers "
                            "between stages of different widths; diffusers fails on it too)", s->desc, Ls[i].name,
                            (long long)Ls[i].d.cin, (long long)C);
        C = Ls[i].d.cout;
    }
    if (C != Cend)
        return sana_err(SANA_ERR_UNSUPPORTED, "%s: %s takes %lld channels but gets %lld (a stage without layers "
                        "between stages of different widths; diffusers fails on it too)", s->desc, end,
                        (long long)Cend, (long long)C);
    return SANA_OK;
}

/* diffusers: Decoder.__init__ -- up_blocks[i] = [DCUpBlock2d if i < n-1 and layers > 0] + blocks. */
static sana_status decoder_load(sana_dcae *m)
{
    const sana_dcae_config *c = &m->cfg;
    const sana_st_set *s = m->st;
    sana_weights *wt = &m->w;
    int n = c->n_decoder_stages, k = 0;
    const int64_t *ch = c->decoder_block_out_channels, *nl = c->decoder_layers_per_block;
    int64_t Clast = ch[n - 1], total = 0;
    sana_status st = SANA_OK;
    char p[256];
    if (c->decoder_in_shortcut && Clast % c->latent_channels != 0)
        return sana_err(SANA_ERR_UNSUPPORTED, "%s: decoder_in_shortcut needs latent_channels | %lld", s->desc, (long long)Clast);
    sana_model_weight(&st, wt, &m->dec_in_w, SANA_OP_conv2d, SHP(Clast, c->latent_channels, 3, 3),
                      "decoder.conv_in.weight");
    if (sana_model_weight(&st, wt, &m->dec_in_b, SANA_OP_conv2d, SHP(Clast),
                          "decoder.conv_in.bias") != SANA_OK) return st;
    for (int i = 0; i < n; i++) total += nl[i] + (i < n - 1 && nl[i] > 0);
    m->dec_layers = calloc((size_t)(total ? total : 1), sizeof *m->dec_layers);
    if (!m->dec_layers) return nomem();
    m->dec_ratio = 1;
    /* execution order: stage n-1 first (Decoder.forward runs reversed(up_blocks)) */
    for (int i = n - 1; i >= 0; i--) {
        int j = 0;
        if (i < n - 1 && nl[i] > 0) {
            sana_dcae_layer_desc d = {.kind = SANA_DCAE_L_UP, .cin = ch[i + 1], .cout = ch[i],
                                      .resample = c->upsample_interpolate, .shortcut = 1};
            snprintf(p, sizeof p, "decoder.up_blocks.%d.%d.", i, j++);
            if ((st = dcae_layer_init(&m->dec_layers[k++], &d, wt, p)) != SANA_OK) return st;
            m->dec_ratio *= 2;
        }
        for (int64_t l = 0; l < nl[i]; l++) {
            sana_dcae_layer_desc d = {.cin = ch[i], .cout = ch[i], .norm = c->decoder_norm_types[i],
                                      .act = c->decoder_act_fns[i], .head_dim = c->attention_head_dim,
                                      .n_scales = c->decoder_n_scales[i]};
            d.kind = c->decoder_block_types[i] == SANA_DCAE_RESBLOCK ? SANA_DCAE_L_RESBLOCK : SANA_DCAE_L_EFFICIENTVIT;
            memcpy(d.scales, c->decoder_qkv_multiscales[i], sizeof d.scales);
            snprintf(p, sizeof p, "decoder.up_blocks.%d.%d.", i, j++);
            if ((st = dcae_layer_init(&m->dec_layers[k++], &d, wt, p)) != SANA_OK) return st;
        }
    }
    m->n_dec_layers = k;
    /* channels = block_out_channels[0] if layers_per_block[0] > 0 else block_out_channels[1] */
    m->dec_channels = nl[0] > 0 || n < 2 ? ch[0] : ch[1];
    sana_model_weight(&st, wt, &m->dec_norm_w, SANA_OP_rms_norm_2d, SHP(m->dec_channels), "decoder.norm_out.weight");
    if (sana_model_weight(&st, wt, &m->dec_norm_b, SANA_OP_rms_norm_2d, SHP(m->dec_channels),
                          "decoder.norm_out.bias") != SANA_OK) return st;
    if (nl[0] > 0) {
        sana_model_weight(&st, wt, &m->dec_out_w, SANA_OP_conv2d, SHP(c->in_channels, m->dec_channels, 3, 3),
                          "decoder.conv_out.weight");
        if (sana_model_weight(&st, wt, &m->dec_out_b, SANA_OP_conv2d, SHP(c->in_channels),
                              "decoder.conv_out.bias") != SANA_OK) return st;
    } else {
        sana_dcae_layer_desc d = {.kind = SANA_DCAE_L_UP, .cin = m->dec_channels, .cout = c->in_channels,
                                  .resample = c->upsample_interpolate, .shortcut = 0};
        if ((st = dcae_layer_init(&m->dec_out_up, &d, wt, "decoder.conv_out.")) != SANA_OK) return st;
        m->dec_out_is_up = 1;
        m->dec_ratio *= 2;
    }
    return check_chain(s, m->dec_layers, m->n_dec_layers, Clast, m->dec_channels, "decoder.norm_out");
}

/* diffusers: Encoder.__init__ -- down_blocks[i] = blocks + [DCDownBlock2d if i < n-1 and layers > 0]. */
static sana_status encoder_load(sana_dcae *m)
{
    const sana_dcae_config *c = &m->cfg;
    const sana_st_set *s = m->st;
    sana_weights *wt = &m->w;
    int n = c->n_encoder_stages, k = 0;
    const int64_t *ch = c->encoder_block_out_channels, *nl = c->encoder_layers_per_block;
    int64_t total = 0;
    sana_status st = SANA_OK;
    char p[256];
    m->enc_in_channels = nl[0] > 0 || n < 2 ? ch[0] : ch[1];
    if (nl[0] > 0) {
        sana_model_weight(&st, wt, &m->enc_in_w, SANA_OP_conv2d, SHP(m->enc_in_channels, c->in_channels, 3, 3),
                          "encoder.conv_in.weight");
        if (sana_model_weight(&st, wt, &m->enc_in_b, SANA_OP_conv2d, SHP(m->enc_in_channels),
                              "encoder.conv_in.bias") != SANA_OK) return st;
    } else {
        sana_dcae_layer_desc d = {.kind = SANA_DCAE_L_DOWN, .cin = c->in_channels, .cout = m->enc_in_channels,
                                  .resample = c->downsample_pixel_unshuffle, .shortcut = 0};
        if ((st = dcae_layer_init(&m->enc_in_down, &d, wt, "encoder.conv_in.")) != SANA_OK) return st;
        m->enc_in_is_down = 1;
    }
    for (int i = 0; i < n; i++) total += nl[i] + (i < n - 1 && nl[i] > 0);
    m->enc_layers = calloc((size_t)(total ? total : 1), sizeof *m->enc_layers);
    if (!m->enc_layers) return nomem();
    for (int i = 0; i < n; i++) {
        int j = 0;
        for (int64_t l = 0; l < nl[i]; l++) {
            /* get_block(..., norm_type="rms_norm", act_fn="silu") in Encoder.__init__ */
            sana_dcae_layer_desc d = {.cin = ch[i], .cout = ch[i], .norm = SANA_DCAE_NORM_RMS,
                                      .act = SANA_DCAE_ACT_SILU, .head_dim = c->attention_head_dim,
                                      .n_scales = c->encoder_n_scales[i]};
            d.kind = c->encoder_block_types[i] == SANA_DCAE_RESBLOCK ? SANA_DCAE_L_RESBLOCK : SANA_DCAE_L_EFFICIENTVIT;
            memcpy(d.scales, c->encoder_qkv_multiscales[i], sizeof d.scales);
            snprintf(p, sizeof p, "encoder.down_blocks.%d.%d.", i, j++);
            if ((st = dcae_layer_init(&m->enc_layers[k++], &d, wt, p)) != SANA_OK) return st;
        }
        if (i < n - 1 && nl[i] > 0) {
            sana_dcae_layer_desc d = {.kind = SANA_DCAE_L_DOWN, .cin = ch[i], .cout = ch[i + 1],
                                      .resample = c->downsample_pixel_unshuffle, .shortcut = 1};
            snprintf(p, sizeof p, "encoder.down_blocks.%d.%d.", i, j++);
            if ((st = dcae_layer_init(&m->enc_layers[k++], &d, wt, p)) != SANA_OK) return st;
        }
    }
    m->n_enc_layers = k;
    int64_t Clast = ch[n - 1];
    if (c->encoder_out_shortcut && Clast % c->latent_channels != 0)
        return sana_err(SANA_ERR_UNSUPPORTED, "%s: encoder_out_shortcut needs latent_channels | %lld", s->desc, (long long)Clast);
    sana_model_weight(&st, wt, &m->enc_out_w, SANA_OP_conv2d, SHP(c->latent_channels, Clast, 3, 3),
                      "encoder.conv_out.weight");
    if (sana_model_weight(&st, wt, &m->enc_out_b, SANA_OP_conv2d, SHP(c->latent_channels),
                          "encoder.conv_out.bias") != SANA_OK) return st;
    return check_chain(s, m->enc_layers, m->n_enc_layers, m->enc_in_channels, Clast, "encoder.conv_out");
}

sana_status sana_dcae_load(sana_dcae **out, const char *vae_dir, const char *variant, const sana_backend *be)
{
    char path[4096];
    sana_status st;
    sana_dcae *m = calloc(1, sizeof *m);
    if (!m) return nomem();
    m->be = be ? be : sana_backend_ref();
    snprintf(path, sizeof path, "%s/config.json", vae_dir);
    if ((st = sana_dcae_config_load(&m->cfg, path)) != SANA_OK) goto fail;
    if ((st = sana_st_set_open(&m->st, vae_dir, "diffusion_pytorch_model", variant)) != SANA_OK) goto fail;
    sana_weights_init(&m->w, m->be, m->st, 0); /* read at every decode: the backend prepares for speed */
    if ((st = decoder_load(m)) != SANA_OK) goto fail;
    if ((st = encoder_load(m)) != SANA_OK) goto fail;
    *out = m;
    return SANA_OK;
fail:
    sana_dcae_free(m);
    return sana_err_prefix(st, "loading AutoencoderDC from %s", vae_dir);
}

const sana_dcae_config *sana_dcae_get_config(const sana_dcae *m) { return &m->cfg; }
size_t sana_dcae_weight_bytes(const sana_dcae *m) { return m->w.bytes; }
const sana_st_set *sana_dcae_tensors(const sana_dcae *m) { return m->st; }

void sana_dcae_free(sana_dcae *m)
{
    if (!m) return;
    free(m->dec_layers);
    free(m->enc_layers);
    sana_weights_free(&m->w);
    if (m->st) sana_st_set_close(m->st);
    free(m);
}

void sana_dcae_decoded_size(const sana_dcae *m, int64_t h, int64_t w, int64_t *H, int64_t *W)
{
    *H = h * m->dec_ratio;
    *W = w * m->dec_ratio;
}

/* ------------------------------------------------------------------ decoder / encoder passes
 * A pass makes one backend allocation (its arena), sized up front from the layer list. */

/* diffusers: Decoder.forward on host buffers. z: [B, latent, h, w]  img: [B, in_channels, h*r, w*r] */
static sana_status decode_pass(sana_dcae *m, float *img, const float *z, int64_t B, int64_t h, int64_t w)
{
    const sana_backend *be = m->be;
    const sana_dcae_config *c = &m->cfg;
    int64_t lat = c->latent_channels, C = c->decoder_block_out_channels[c->n_decoder_stages - 1], H = h, W = w;
    int64_t Cp = C, Hp = h, Wp = w, Ho, Wo, act_n = 0, scratch_n = 0;
    plan_layers(be, m->dec_layers, m->n_dec_layers, B, &Cp, &Hp, &Wp, &act_n, &scratch_n);
    sana_dcae_decoded_size(m, h, w, &Ho, &Wo);
    act_n = dcae_max64(act_n, B * c->in_channels * Ho * Wo);
    if (m->dec_out_is_up) scratch_n = dcae_max64(scratch_n, dcae_layer_scratch(be, &m->dec_out_up, B, Hp, Wp));
    int64_t sizes[4] = {B * lat * h * w, act_n, act_n, scratch_n};
    float *p[4], *base = arena_alloc(be, 4, sizes, p);
    if (!base) return nomem();
    float *dz = p[0], *x = p[1], *other = p[2], *s = p[3];
    be->upload(be->ctx, dz, z, (size_t)sizes[0] * sizeof(float));
    dcae_conv3(be, x, dz, m->dec_in_w, m->dec_in_b, B, lat, h, w, C);
    if (c->decoder_in_shortcut) SANA_OP_CALL(be, dcae_shortcut_up, x, dz, B, lat, h, w, C / lat, 1);
    sana_status st = run_layers(be, m->dec_layers, m->n_dec_layers, &x, &other, s, B, &C, &H, &W);
    if (st == SANA_OK) {
        /* norm_out (RMSNorm over channels, weight and bias), conv_act, conv_out */
        SANA_OP_CALL(be, rms_norm_2d, x, x, m->dec_norm_w, m->dec_norm_b, B, C, H * W, DCAE_NORM_EPS);
        dcae_act(be, c->decoder_conv_act_fn, x, B * C * H * W);
        if (m->dec_out_is_up) st = dcae_layer_run(be, &m->dec_out_up, other, x, s, B, H, W); /* DCUpBlock2d */
        else dcae_conv3(be, other, x, m->dec_out_w, m->dec_out_b, B, C, H, W, c->in_channels);
    }
    if (st == SANA_OK) st = backend_status(be);
    if (st == SANA_OK) be->download(be->ctx, img, other, (size_t)(B * c->in_channels * Ho * Wo) * sizeof(float));
    be->free(be->ctx, base);
    return st;
}

/* diffusers: Encoder.forward on host buffers. img: [B, in_channels, H, W]  z: [B, latent, H/r, W/r] */
static sana_status encode_pass(sana_dcae *m, float *z, const float *img, int64_t B, int64_t H, int64_t W)
{
    const sana_backend *be = m->be;
    const sana_dcae_config *c = &m->cfg;
    int64_t cin = c->in_channels, lat = c->latent_channels, C = m->enc_in_channels, H1 = H, W1 = W;
    int64_t act_n = 0, scratch_n = 0;
    if (m->enc_in_is_down) {
        scratch_n = dcae_layer_scratch(be, &m->enc_in_down, B, H, W);
        H1 = (H + 1) / 2;
        W1 = (W + 1) / 2;
    }
    int64_t Cp = C, Hp = H1, Wp = W1;
    plan_layers(be, m->enc_layers, m->n_enc_layers, B, &Cp, &Hp, &Wp, &act_n, &scratch_n);
    act_n = dcae_max64(act_n, B * lat * Hp * Wp); /* conv_out */
    int64_t sizes[4] = {B * cin * H * W, act_n, act_n, scratch_n};
    float *p[4], *base = arena_alloc(be, 4, sizes, p);
    if (!base) return nomem();
    float *dx = p[0], *x = p[1], *other = p[2], *s = p[3];
    sana_status st = SANA_OK;
    be->upload(be->ctx, dx, img, (size_t)sizes[0] * sizeof(float));
    if (m->enc_in_is_down) st = dcae_layer_run(be, &m->enc_in_down, x, dx, s, B, H, W); /* DCDownBlock2d */
    else dcae_conv3(be, x, dx, m->enc_in_w, m->enc_in_b, B, cin, H, W, C);
    H = H1;
    W = W1;
    if (st == SANA_OK) st = run_layers(be, m->enc_layers, m->n_enc_layers, &x, &other, s, B, &C, &H, &W);
    if (st == SANA_OK) {
        /* conv_out + mean over groups of block_out_channels[-1] / latent channels (out_shortcut) */
        dcae_conv3(be, other, x, m->enc_out_w, m->enc_out_b, B, C, H, W, lat);
        if (c->encoder_out_shortcut) SANA_OP_CALL(be, dcae_shortcut_down, other, x, B, C, H, W, C / lat, 1);
    }
    if (st == SANA_OK) st = backend_status(be);
    if (st == SANA_OK) be->download(be->ctx, z, other, (size_t)(B * lat * H * W) * sizeof(float));
    be->free(be->ctx, base);
    return st;
}

/* ------------------------------------------------------------------ tiling (host side) */

static int64_t min64(int64_t a, int64_t b) { return a < b ? a : b; }

/*
 * diffusers: AutoencoderDC.blend_v, in place on b:
 *   e = min(Ha, Hb, extent); for y < e: b[.., y, :] = a[.., Ha - e + y, :] (1 - y/e) + b[.., y, :] (y/e)
 * a: [BC, Ha, W]  b: [BC, Hb, W]. The weights are Python floats rounded to float32 by torch.
 */
static void blend_v(const float *a, int64_t Ha, float *b, int64_t Hb, int64_t BC, int64_t W, int64_t extent)
{
    int64_t e = min64(min64(Ha, Hb), extent);
    for (int64_t y = 0; y < e; y++) {
        float wa = (float)(1.0 - (double)y / (double)e), wb = (float)((double)y / (double)e);
        for (int64_t bc = 0; bc < BC; bc++)
            for (int64_t x = 0; x < W; x++) {
                float pa = a[(bc * Ha + Ha - e + y) * W + x] * wa; /* separate statements: no FMA */
                float pb = b[(bc * Hb + y) * W + x] * wb;
                b[(bc * Hb + y) * W + x] = pa + pb;
            }
    }
}

/* diffusers: AutoencoderDC.blend_h, in place on b.  a: [BC, H, Wa]  b: [BC, H, Wb] */
static void blend_h(const float *a, int64_t Wa, float *b, int64_t Wb, int64_t BC, int64_t H, int64_t extent)
{
    int64_t e = min64(min64(Wa, Wb), extent);
    for (int64_t x = 0; x < e; x++) {
        float wa = (float)(1.0 - (double)x / (double)e), wb = (float)((double)x / (double)e);
        for (int64_t bc = 0; bc < BC; bc++)
            for (int64_t y = 0; y < H; y++) {
                float pa = a[(bc * H + y) * Wa + Wa - e + x] * wa;
                float pb = b[(bc * H + y) * Wb + x] * wb;
                b[(bc * H + y) * Wb + x] = pa + pb;
            }
    }
}

/* A decoded or encoded tile on the host: [B, C, th, tw]. */
typedef struct { float *p; int64_t th, tw; } tile;

static void tiles_free(tile *t, int64_t n)
{
    for (int64_t i = 0; t && i < n; i++) free(t[i].p);
    free(t);
}

/*
 * The tile grid shared by tiled_decode and tiled_encode. Input [B, Cin, Hin, Win] is cut at
 * multiples of `stride` into tiles of at most `tmin`; run() turns each into an output tile;
 * each output tile is blended with the (already blended) tile above and to its left over
 * `blend` rows/columns, cropped to ostride x ostride and written at (row*ostride, col*ostride)
 * into out [B, Cout, Hout, Wout] (clipped to it). Only two rows of output tiles are alive.
 */
typedef sana_status (*tile_fn)(sana_dcae *m, const float *in, int64_t B, int64_t th, int64_t tw, tile *out);

static sana_status tiled_run(sana_dcae *m, tile_fn run, float *out, const float *in, int64_t B, int64_t Cin,
                             int64_t Hin, int64_t Win, int64_t tmin, int64_t stride, int64_t Cout, int64_t Hout,
                             int64_t Wout, int64_t ostride, int64_t blend)
{
    int64_t nrows = (Hin + stride - 1) / stride, ncols = (Win + stride - 1) / stride;
    tile *prev = NULL, *cur = NULL;
    float *in_tile = malloc((size_t)(B * Cin * tmin * tmin) * sizeof(float));
    sana_status st = SANA_OK;
    if (!in_tile) return nomem();
    for (int64_t ri = 0; ri < nrows; ri++) {
        if (!(cur = calloc((size_t)ncols, sizeof *cur))) { st = nomem(); break; }
        for (int64_t cj = 0; cj < ncols && st == SANA_OK; cj++) {
            int64_t i = ri * stride, j = cj * stride, th = min64(tmin, Hin - i), tw = min64(tmin, Win - j);
            for (int64_t bc = 0; bc < B * Cin; bc++)
                for (int64_t y = 0; y < th; y++)
                    memcpy(in_tile + (bc * th + y) * tw, in + (bc * Hin + i + y) * Win + j, (size_t)tw * sizeof(float));
            st = run(m, in_tile, B, th, tw, &cur[cj]);
        }
        for (int64_t cj = 0; cj < ncols && st == SANA_OK; cj++) {
            tile *t = &cur[cj];
            if (ri > 0) blend_v(prev[cj].p, prev[cj].th, t->p, t->th, B * Cout, t->tw, blend);
            if (cj > 0) blend_h(cur[cj - 1].p, cur[cj - 1].tw, t->p, t->tw, B * Cout, t->th, blend);
            int64_t oy = ri * ostride, ox = cj * ostride;
            int64_t ch = min64(min64(t->th, ostride), Hout - oy), cw = min64(min64(t->tw, ostride), Wout - ox);
            for (int64_t bc = 0; bc < B * Cout && ch > 0 && cw > 0; bc++)
                for (int64_t y = 0; y < ch; y++)
                    memcpy(out + (bc * Hout + oy + y) * Wout + ox, t->p + (bc * t->th + y) * t->tw,
                           (size_t)cw * sizeof(float));
        }
        tiles_free(prev, ncols);
        prev = cur;
        cur = NULL;
        if (st != SANA_OK) break;
    }
    tiles_free(prev, ncols);
    tiles_free(cur, ncols);
    free(in_tile);
    return st;
}

static sana_status decode_tile(sana_dcae *m, const float *z, int64_t B, int64_t th, int64_t tw, tile *out)
{
    int64_t H, W;
    sana_dcae_decoded_size(m, th, tw, &H, &W);
    out->th = H;
    out->tw = W;
    if (!(out->p = malloc((size_t)(B * m->cfg.in_channels * H * W) * sizeof(float)))) return nomem();
    return decode_pass(m, out->p, z, B, th, tw);
}

/* diffusers: AutoencoderDC.tiled_encode pads each tile at the bottom/right to a multiple of r. */
static sana_status encode_tile(sana_dcae *m, const float *x, int64_t B, int64_t th, int64_t tw, tile *out)
{
    int64_t r = m->cfg.spatial_compression_ratio, C = m->cfg.in_channels;
    int64_t ph = (th + r - 1) / r * r, pw = (tw + r - 1) / r * r;
    float *pad = calloc((size_t)(B * C * ph * pw), sizeof(float));
    if (!pad) return nomem();
    for (int64_t bc = 0; bc < B * C; bc++)
        for (int64_t y = 0; y < th; y++) memcpy(pad + (bc * ph + y) * pw, x + (bc * th + y) * tw, (size_t)tw * sizeof(float));
    out->th = ph / r;
    out->tw = pw / r;
    sana_status st = SANA_OK;
    if (!(out->p = malloc((size_t)(B * m->cfg.latent_channels * out->th * out->tw) * sizeof(float)))) st = nomem();
    else st = encode_pass(m, out->p, pad, B, ph, pw);
    free(pad);
    return st;
}

sana_status sana_dcae_decode(sana_dcae *m, float *img, const float *z, int64_t B, int64_t h, int64_t w, int tiled)
{
    int64_t r = m->cfg.spatial_compression_ratio;
    if (B < 1 || h < 1 || w < 1)
        return sana_err(SANA_ERR_ARG, "dcae decode: bad latent size %lld x %lld x %lld", (long long)B, (long long)h, (long long)w);
    /* tile_latent_min = tile_sample_min // spatial_compression_ratio (AutoencoderDC._decode) */
    int64_t tmin = DCAE_TILE_MIN / r, stride = DCAE_TILE_STRIDE / r;
    if (!tiled || !(w > tmin || h > tmin)) return decode_pass(m, img, z, B, h, w);
    if (m->dec_ratio != r || stride < 1)
        return sana_err(SANA_ERR_UNSUPPORTED, "dcae: tiled decode needs a decoder upsampling by the compression ratio "
                        "(%lld vs %lld) of at most 448", (long long)m->dec_ratio, (long long)r);
    return tiled_run(m, decode_tile, img, z, B, m->cfg.latent_channels, h, w, tmin, stride, m->cfg.in_channels,
                     h * r, w * r, DCAE_TILE_STRIDE, DCAE_TILE_MIN - DCAE_TILE_STRIDE);
}

sana_status sana_dcae_encode(sana_dcae *m, float *z, const float *img, int64_t B, int64_t H, int64_t W, int tiled)
{
    int64_t r = m->cfg.spatial_compression_ratio;
    if (B < 1 || H < 1 || W < 1)
        return sana_err(SANA_ERR_ARG, "dcae encode: bad image size %lld x %lld x %lld", (long long)B, (long long)H, (long long)W);
    if (!tiled || !(W > DCAE_TILE_MIN || H > DCAE_TILE_MIN)) {
        if (H % r || W % r)
            return sana_err(SANA_ERR_ARG, "dcae encode: image %lld x %lld is not a multiple of %lld (use tiled encoding, "
                            "which pads)", (long long)H, (long long)W, (long long)r);
        return encode_pass(m, z, img, B, H, W);
    }
    int64_t lmin = DCAE_TILE_MIN / r, lstride = DCAE_TILE_STRIDE / r;
    if (lstride < 1) return sana_err(SANA_ERR_UNSUPPORTED, "dcae: tiled encode with a compression ratio above 448");
    return tiled_run(m, encode_tile, z, img, B, m->cfg.in_channels, H, W, DCAE_TILE_MIN, DCAE_TILE_STRIDE,
                     m->cfg.latent_channels, H / r, W / r, lstride, lmin - lstride);
}

