/* tests/test-dcae.c -- AutoencoderDC against diffusers: each block alone (golden/dcae/blocks),
 * whole tiny autoencoders from golden/ckpt/dcae-* (decode, encode, tiled decode and encode),
 * the mid-size checkpoint (bf16 weights), config.json reading (the real sana config and the
 * values diffusers rejects). Goldens made by golden/dump_dcae.py. */
#include "golden.h"
#include "test_backends.h"
#include "models/dcae.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const sana_backend *be; /* every compiled backend in turn */

/* ------------------------------------------------------------------ blocks */

static void check_block(golden *g, const sana_st_set *s, const char *name, sana_dcae_layer_desc d)
{
    char key[128], prefix[128];
    snprintf(prefix, sizeof prefix, "%s.", name);
    sana_dcae_layer *L;
    sana_status st = sana_dcae_layer_load(&L, &d, s, prefix, be);
    if (st != SANA_OK) {
        golden_fail("%s: load: %s", name, sana_errmsg());
        return;
    }
    snprintf(key, sizeof key, "%s.x", name);
    const sana_wt *xw = &golden_get(g, key)->wt;
    int64_t B = xw->shape[0], H = xw->shape[2], W = xw->shape[3], C, Ho, Wo;
    sana_dcae_layer_out_shape(L, H, W, &C, &Ho, &Wo);
    float *x = golden_f32(g, key, NULL), *y = malloc((size_t)(B * C * Ho * Wo) * sizeof(float));
    st = sana_dcae_layer_forward(be, L, y, x, B, H, W);
    if (st != SANA_OK) golden_fail("%s: forward: %s", name, sana_errmsg());
    else {
        snprintf(key, sizeof key, "%s.y", name);
        golden_check(g, name, y, B * C * Ho * Wo, key, "dcae_block");
    }
    free(x);
    free(y);
    sana_dcae_layer_free(L);
}

static void test_blocks(void)
{
    golden *g = golden_open("dcae/blocks.safetensors");
    sana_st_set *s;
    if (sana_st_set_open_file(&s, g->path) != SANA_OK) {
        golden_fail("open %s: %s", g->path, sana_errmsg());
        golden_close(g);
        return;
    }
    check_block(g, s, "resblock_rms", (sana_dcae_layer_desc){.kind = SANA_DCAE_L_RESBLOCK, .cin = 16, .cout = 16,
                                                             .norm = SANA_DCAE_NORM_RMS, .act = SANA_DCAE_ACT_SILU});
    check_block(g, s, "resblock_bn", (sana_dcae_layer_desc){.kind = SANA_DCAE_L_RESBLOCK, .cin = 16, .cout = 16,
                                                            .norm = SANA_DCAE_NORM_BATCH, .act = SANA_DCAE_ACT_RELU});
    check_block(g, s, "glumbconv", (sana_dcae_layer_desc){.kind = SANA_DCAE_L_GLUMBCONV, .cin = 16});
    check_block(g, s, "msla_lin", (sana_dcae_layer_desc){.kind = SANA_DCAE_L_MSLA, .cin = 32, .head_dim = 8,
                                                         .norm = SANA_DCAE_NORM_RMS, .n_scales = 1, .scales = {5}});
    check_block(g, s, "msla_lin2", (sana_dcae_layer_desc){.kind = SANA_DCAE_L_MSLA, .cin = 32, .head_dim = 8,
                                                          .norm = SANA_DCAE_NORM_BATCH, .n_scales = 2, .scales = {3, 5}});
    check_block(g, s, "msla_quad", (sana_dcae_layer_desc){.kind = SANA_DCAE_L_MSLA, .cin = 32, .head_dim = 8,
                                                          .norm = SANA_DCAE_NORM_RMS, .n_scales = 1, .scales = {5}});
    check_block(g, s, "evit", (sana_dcae_layer_desc){.kind = SANA_DCAE_L_EFFICIENTVIT, .cin = 32, .head_dim = 8,
                                                     .norm = SANA_DCAE_NORM_RMS, .n_scales = 1, .scales = {5}});
    check_block(g, s, "evit_noms", (sana_dcae_layer_desc){.kind = SANA_DCAE_L_EFFICIENTVIT, .cin = 16, .head_dim = 8,
                                                          .norm = SANA_DCAE_NORM_BATCH, .n_scales = 0});
    check_block(g, s, "up_interp", (sana_dcae_layer_desc){.kind = SANA_DCAE_L_UP, .cin = 32, .cout = 16,
                                                          .resample = 1, .shortcut = 1});
    check_block(g, s, "up_ps", (sana_dcae_layer_desc){.kind = SANA_DCAE_L_UP, .cin = 32, .cout = 16,
                                                      .resample = 0, .shortcut = 1});
    check_block(g, s, "up_ps_noshort", (sana_dcae_layer_desc){.kind = SANA_DCAE_L_UP, .cin = 16, .cout = 3,
                                                              .resample = 0, .shortcut = 0});
    check_block(g, s, "down_conv", (sana_dcae_layer_desc){.kind = SANA_DCAE_L_DOWN, .cin = 16, .cout = 32,
                                                          .resample = 0, .shortcut = 1});
    check_block(g, s, "down_unshuffle", (sana_dcae_layer_desc){.kind = SANA_DCAE_L_DOWN, .cin = 16, .cout = 32,
                                                               .resample = 1, .shortcut = 1});
    check_block(g, s, "down_unshuffle_noshort", (sana_dcae_layer_desc){.kind = SANA_DCAE_L_DOWN, .cin = 3, .cout = 16,
                                                                       .resample = 1, .shortcut = 0});
    /* a wrong description must fail with a message naming the tensor */
    sana_dcae_layer *L;
    sana_status st = sana_dcae_layer_load(&L, &(sana_dcae_layer_desc){.kind = SANA_DCAE_L_RESBLOCK, .cin = 8, .cout = 8,
                                                                        .norm = SANA_DCAE_NORM_RMS}, s, "resblock_rms.", be);
    GOLDEN_CHECK(st != SANA_OK && strstr(sana_errmsg(), "resblock_rms.conv1.weight"),
           "ResBlock with the wrong width: expected a shape error naming the tensor, got \"%s\"", sana_errmsg());
    if (st == SANA_OK) sana_dcae_layer_free(L);
    sana_st_set_close(s);
    golden_close(g);
}

/* ------------------------------------------------------------------ whole models */

static sana_dcae *load(const char *name)
{
    char dir[4096];
    snprintf(dir, sizeof dir, "%s/ckpt/%s", golden_dir(), name);
    sana_dcae *m = NULL;
    if (sana_dcae_load(&m, dir, NULL, be) != SANA_OK) {
        golden_fail("load %s: %s", dir, sana_errmsg());
        return NULL;
    }
    return m;
}

static void decode_check(golden *g, sana_dcae *m, const char *zname, const char *want, int tiled, const char *what)
{
    const sana_wt *zw = &golden_get(g, zname)->wt;
    int64_t B = zw->shape[0], h = zw->shape[2], w = zw->shape[3], H, W;
    int64_t C = sana_dcae_get_config(m)->in_channels;
    sana_dcae_decoded_size(m, h, w, &H, &W);
    float *z = golden_f32(g, zname, NULL), *img = malloc((size_t)(B * C * H * W) * sizeof(float));
    if (sana_dcae_decode(m, img, z, B, h, w, tiled) != SANA_OK) golden_fail("%s: %s", what, sana_errmsg());
    else golden_check(g, what, img, B * C * H * W, want, "dcae_model");
    free(z);
    free(img);
}

static void encode_check(golden *g, sana_dcae *m, const float *x, int64_t B, int64_t H, int64_t W, const char *want,
                         int tiled, const char *what)
{
    const sana_dcae_config *c = sana_dcae_get_config(m);
    int64_t r = c->spatial_compression_ratio, n = B * c->latent_channels * (H / r) * (W / r);
    float *z = malloc((size_t)n * sizeof(float));
    if (sana_dcae_encode(m, z, x, B, H, W, tiled) != SANA_OK) golden_fail("%s: %s", what, sana_errmsg());
    else golden_check(g, what, z, n, want, "dcae_model");
    free(z);
}

static void test_model(const char *name)
{
    char gname[256], what[256];
    snprintf(gname, sizeof gname, "dcae/%s.safetensors", name);
    golden *g = golden_open(gname);
    sana_dcae *m = load(name);
    if (m) {
        snprintf(what, sizeof what, "%s decode", name);
        decode_check(g, m, "z", "img", 0, what);
        snprintf(what, sizeof what, "%s decode, tiled=1 below the tile size (= plain)", name);
        decode_check(g, m, "z", "img", 1, what);
        const sana_wt *xw = &golden_get(g, "x")->wt;
        float *x = golden_f32(g, "x", NULL);
        snprintf(what, sizeof what, "%s encode", name);
        encode_check(g, m, x, xw->shape[0], xw->shape[2], xw->shape[3], "latent", 0, what);
        free(x);
        sana_dcae_free(m);
    }
    golden_close(g);
}

/* x[b,c,i,j] = 0.9 sin(0.05 i + 0.07 j + 0.5 c + 0.3 b) in double, rounded to float (as dump_dcae.py). */
static float *formula_image(int64_t B, int64_t C, int64_t H, int64_t W)
{
    float *x = malloc((size_t)(B * C * H * W) * sizeof(float));
    for (int64_t b = 0; b < B; b++)
        for (int64_t c = 0; c < C; c++)
            for (int64_t i = 0; i < H; i++)
                for (int64_t j = 0; j < W; j++)
                    x[((b * C + c) * H + i) * W + j] = (float)(0.9 * sin(0.05 * (double)i + 0.07 * (double)j +
                                                                        0.5 * (double)c + 0.3 * (double)b));
    return x;
}

static void test_tiling(void)
{
    golden *g = golden_open("dcae/dcae-tiny-tile.safetensors");
    sana_dcae *m = load("dcae-tiny-tile");
    if (m) {
        decode_check(g, m, "plain.z", "plain.img", 0, "tiny-tile decode 2x3");
        decode_check(g, m, "tiled.z", "tiled.img", 1, "tiny-tile tiled decode 17x15 -> 544x480 (2x2 tiles)");
        float *x = formula_image(1, 1, 600, 540);
        encode_check(g, m, x, 1, 600, 540, "tiled.latent", 1, "tiny-tile tiled encode 600x540 (padded edge tiles)");
        /* without tiling, 600 x 540 is not a multiple of 32: an argument error as in diffusers */
        float z[4 * 18 * 16];
        sana_status st = sana_dcae_encode(m, z, x, 1, 600, 540, 0);
        GOLDEN_CHECK(st == SANA_ERR_ARG, "plain encode of 600x540 with r=32: expected SANA_ERR_ARG, got %d", (int)st);
        free(x);
        sana_dcae_free(m);
    }
    golden_close(g);
}

/* A stage without layers between stages of different widths: diffusers builds it but its decode
 * fails in torch; libsana refuses it at load time. */
static void test_bad_chain(void)
{
    char dir[4096];
    snprintf(dir, sizeof dir, "%s/ckpt/dcae-bad-chain", golden_dir());
    sana_dcae *m = NULL;
    sana_status st = sana_dcae_load(&m, dir, NULL, be);
    GOLDEN_CHECK(st == SANA_ERR_UNSUPPORTED && strstr(sana_errmsg(), "decoder.up_blocks.0.0 takes"),
           "dcae-bad-chain: expected SANA_ERR_UNSUPPORTED naming decoder.up_blocks.0.0, got %d \"%s\"", (int)st,
           sana_errmsg());
    if (st == SANA_ERR_UNSUPPORTED) printf("ok: dcae-bad-chain refused: %s\n", sana_errmsg());
    sana_dcae_free(m);
}

/* ------------------------------------------------------------------ config.json */

static void test_real_config(void)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/dcae/real-sana-config.json", golden_dir());
    sana_dcae_config c;
    sana_status st = sana_dcae_config_load(&c, path);
    if (st != SANA_OK) {
        golden_fail("real config: %s", sana_errmsg());
        return;
    }
    static const int64_t w[6] = {128, 256, 512, 512, 1024, 1024}, el[6] = {2, 2, 2, 3, 3, 3};
    int ok = c.in_channels == 3 && c.latent_channels == 32 && c.attention_head_dim == 32 &&
             c.n_encoder_stages == 6 && c.n_decoder_stages == 6 && c.scaling_factor == 0.41407 &&
             c.upsample_interpolate == 1 && c.downsample_pixel_unshuffle == 0 /* "Conv" */ &&
             c.encoder_out_shortcut && c.decoder_in_shortcut && c.decoder_conv_act_fn == SANA_DCAE_ACT_RELU &&
             c.spatial_compression_ratio == 32;
    for (int i = 0; i < 6; i++) {
        int evit = i >= 3;
        ok = ok && c.encoder_block_out_channels[i] == w[i] && c.decoder_block_out_channels[i] == w[i] &&
             c.encoder_layers_per_block[i] == el[i] && c.decoder_layers_per_block[i] == 3 &&
             c.decoder_block_types[i] == (evit ? SANA_DCAE_EFFICIENTVIT : SANA_DCAE_RESBLOCK) &&
             c.encoder_block_types[i] == c.decoder_block_types[i] &&
             c.decoder_n_scales[i] == evit && (!evit || c.decoder_qkv_multiscales[i][0] == 5) &&
             c.decoder_norm_types[i] == SANA_DCAE_NORM_RMS && c.decoder_act_fns[i] == SANA_DCAE_ACT_SILU;
    }
    GOLDEN_CHECK(ok, "real dc-ae-f32c32-sana-1.0 config: some value differs from the published one");
    if (ok) printf("ok: real dc-ae-f32c32-sana-1.0 config.json reads as published (\"Conv\" -> stride-2 conv)\n");
}

/* Write a config.json with one key replaced and check the status and message; *out gets the config. */
static void bad_config_to(const char *key_value, sana_status want, const char *msg_part, sana_dcae_config *out)
{
    char dir[] = "/tmp/test-dcae-XXXXXX", path[64];
    if (!mkdtemp(dir)) { golden_fail("mkdtemp"); return; }
    snprintf(path, sizeof path, "%s/config.json", dir);
    FILE *f = fopen(path, "w");
    fprintf(f, "{\"_class_name\": \"AutoencoderDC\", \"latent_channels\": 8, %s}\n", key_value);
    fclose(f);
    sana_dcae_config c;
    sana_status st = sana_dcae_config_load(&c, path);
    if (out) *out = c;
    GOLDEN_CHECK(st == want && strstr(sana_errmsg(), msg_part), "config {%s}: expected status %d with \"%s\", got %d \"%s\"",
           key_value, (int)want, msg_part, (int)st, st ? sana_errmsg() : "");
    if (st == want) printf("ok: config {%s} -> %s\n", key_value, st ? sana_errmsg() : "accepted");
    unlink(path);
    rmdir(dir);
}

static void bad_config(const char *key_value, sana_status want, const char *msg_part)
{
    bad_config_to(key_value, want, msg_part, NULL);
}

static void test_config_values(void)
{
    /* values diffusers rejects (get_block / get_activation / get_normalization raise) */
    bad_config("\"decoder_act_fns\": \"relu6\"", SANA_ERR_FORMAT, "decoder_act_fns");
    bad_config("\"decoder_block_types\": \"AttnBlock\"", SANA_ERR_FORMAT, "decoder_block_types");
    bad_config("\"decoder_norm_types\": \"group_norm\"", SANA_ERR_FORMAT, "decoder_norm_types");
    bad_config("\"decoder_norm_types\": \"layer_norm\"", SANA_ERR_UNSUPPORTED, "layer_norm");
    bad_config("\"decoder_layers_per_block\": [1, 2]", SANA_ERR_FORMAT, "decoder_layers_per_block");
    bad_config("\"scaling_factor\": \"big\"", SANA_ERR_FORMAT, "scaling_factor");
    /* values diffusers accepts the same way: act names case-insensitively, "swish", any downsample string */
    sana_dcae_config c;
    bad_config_to("\"decoder_act_fns\": [\"SiLU\", \"swish\", \"GELU\", \"mish\", \"ReLU\", \"relu\"], "
                  "\"downsample_block_type\": \"conv\", \"upsample_block_type\": \"Interpolate\"", SANA_OK, "", &c);
    /* diffusers compares exactly: "Interpolate" is not "interpolate" (pixel_shuffle), "conv" is not pixel_unshuffle */
    GOLDEN_CHECK(c.decoder_act_fns[0] == SANA_DCAE_ACT_SILU && c.decoder_act_fns[1] == SANA_DCAE_ACT_SILU &&
           c.decoder_act_fns[2] == SANA_DCAE_ACT_GELU && c.decoder_act_fns[3] == SANA_DCAE_ACT_MISH &&
           c.decoder_act_fns[4] == SANA_DCAE_ACT_RELU && c.upsample_interpolate == 0 &&
           c.downsample_pixel_unshuffle == 0 && c.latent_channels == 8 && c.scaling_factor == 1.0,
           "config values not read as diffusers reads them");
}

int main(void)
{
    for (int i = 0; i < sana_backend_count(); i++) {
        be = sana_backend_get(i);
        if (!test_backend_wanted(be->name)) continue;
        printf("-- backend %s\n", be->name);
        test_blocks();
        test_model("dcae-tiny-sana");
        test_model("dcae-tiny-in");
        test_model("dcae-tiny-noshort");
        test_model("dcae-mid");
        test_tiling();
        /* DCUpBlock2d's interpolate path in bands of 2 output rows (dcae_blocks.c): the same goldens */
        setenv("SANA_DCAE_UP_BAND", "64", 1);
        printf("-- backend %s, upsampling in bands (SANA_DCAE_UP_BAND=64)\n", be->name);
        test_model("dcae-tiny-sana");
        test_model("dcae-mid");
        test_tiling();
        unsetenv("SANA_DCAE_UP_BAND");
    }
    be = sana_backend_ref();
    test_bad_chain();
    test_real_config();
    test_config_values();
    return golden_exit();
}
