/*
 * src/models/dcae_config.c -- AutoencoderDC's config.json, read the way diffusers v0.35.2 reads it.
 *
 * Every field of AutoencoderDC.__init__ with its default. String values are compared as
 * diffusers compares them:
 *   upsample_block_type   interpolation iff == "interpolate", anything else is pixel_shuffle
 *   downsample_block_type pixel_unshuffle iff == "pixel_unshuffle", anything else (the real
 *                         sana config writes "Conv") is a stride-2 convolution
 *   *_block_types         "ResBlock" or "EfficientViTBlock" exactly (get_block raises otherwise)
 *   decoder_norm_types    "rms_norm" or "batch_norm" (get_normalization); "layer_norm" is
 *                         accepted by diffusers but only runs when W == C: unsupported here
 *   *_act_fns             lower-cased, one of swish, silu, mish, gelu, relu (get_activation;
 *                         note that "relu6" is not among them in diffusers 0.35.2)
 * Per-stage fields given as one string apply to every stage, as in Encoder/Decoder.__init__.
 */
#include "models/dcae.h"
#include "core/json.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

void sana_dcae_config_default(sana_dcae_config *c)
{
    static const int64_t widths[6] = {128, 256, 512, 512, 1024, 1024};
    static const int64_t enc_layers[6] = {2, 2, 2, 3, 3, 3};
    memset(c, 0, sizeof *c);
    c->in_channels = 3;
    c->latent_channels = 32;
    c->attention_head_dim = 32;
    c->n_encoder_stages = c->n_decoder_stages = 6;
    for (int i = 0; i < 6; i++) {
        c->encoder_block_types[i] = c->decoder_block_types[i] = SANA_DCAE_RESBLOCK;
        c->encoder_block_out_channels[i] = c->decoder_block_out_channels[i] = widths[i];
        c->encoder_layers_per_block[i] = enc_layers[i];
        c->decoder_layers_per_block[i] = 3;
        c->encoder_n_scales[i] = c->decoder_n_scales[i] = i >= 3 ? 1 : 0;
        c->encoder_qkv_multiscales[i][0] = c->decoder_qkv_multiscales[i][0] = 5;
        c->decoder_norm_types[i] = SANA_DCAE_NORM_RMS;
        c->decoder_act_fns[i] = SANA_DCAE_ACT_SILU;
    }
    c->upsample_interpolate = 0;          /* "pixel_shuffle" */
    c->downsample_pixel_unshuffle = 1;    /* "pixel_unshuffle" */
    c->encoder_out_shortcut = 1;
    c->decoder_in_shortcut = 1;
    c->decoder_conv_act_fn = SANA_DCAE_ACT_RELU;
    c->scaling_factor = 1.0;
    c->spatial_compression_ratio = 32;
}

/* ------------------------------------------------------------------ string values */

static sana_status parse_block_type(const sana_json *j, const char *key, const char *s, sana_dcae_block_type *out)
{
    if (!strcmp(s, "ResBlock")) *out = SANA_DCAE_RESBLOCK;
    else if (!strcmp(s, "EfficientViTBlock")) *out = SANA_DCAE_EFFICIENTVIT;
    else return sana_json_bad(j, key, "block type \"%s\" is not supported (ResBlock, EfficientViTBlock)", s);
    return SANA_OK;
}

static sana_status parse_norm(const sana_json *j, const char *key, const char *s, sana_dcae_norm_type *out)
{
    if (!strcmp(s, "rms_norm")) *out = SANA_DCAE_NORM_RMS;
    else if (!strcmp(s, "batch_norm")) *out = SANA_DCAE_NORM_BATCH;
    else if (!strcmp(s, "layer_norm"))
        return sana_err(SANA_ERR_UNSUPPORTED, "%s: key \"%s\": \"layer_norm\" is not supported (diffusers applies "
                        "nn.LayerNorm(C) to [B, C, H, W] over W, which only runs when W == C)", j->path, key);
    else return sana_json_bad(j, key, "norm type \"%s\" is not supported (rms_norm, batch_norm)", s);
    return SANA_OK;
}

static sana_status parse_act(const sana_json *j, const char *key, const char *s, sana_dcae_act *out)
{
    char low[32];
    size_t n = strlen(s);
    if (n >= sizeof low) n = sizeof low - 1;
    for (size_t i = 0; i < n; i++) low[i] = (char)tolower((unsigned char)s[i]);
    low[n] = 0;
    if (!strcmp(low, "silu") || !strcmp(low, "swish")) *out = SANA_DCAE_ACT_SILU;
    else if (!strcmp(low, "relu")) *out = SANA_DCAE_ACT_RELU;
    else if (!strcmp(low, "gelu")) *out = SANA_DCAE_ACT_GELU;
    else if (!strcmp(low, "mish")) *out = SANA_DCAE_ACT_MISH;
    else return sana_json_bad(j, key, "activation function \"%s\" is not one of swish, silu, mish, gelu, relu "
                              "(diffusers get_activation)", s);
    return SANA_OK;
}

/* ------------------------------------------------------------------ typed readers */

static json_object *get(const sana_json *j, const char *key)
{
    json_object *v = NULL;
    if (!json_object_object_get_ex(j->root, key, &v)) return NULL;
    return v;
}

/* Integer list of exactly n items when present (n < 0: any length up to the maximum, count in *n). */
static sana_status int_list(const sana_json *j, const char *key, int64_t *out, int *n)
{
    int64_t tmp[SANA_DCAE_MAX_STAGES];
    int got;
    sana_status st = sana_json_int_array(j, key, tmp, SANA_DCAE_MAX_STAGES, &got);
    if (st != SANA_OK || got < 0) return st;
    if (*n >= 0 && got != *n)
        return sana_json_bad(j, key, "has %d entries, expected %d (one per entry of the block_out_channels)", got, *n);
    if (got == 0) return sana_json_bad(j, key, "is empty");
    for (int i = 0; i < got; i++) {
        if (tmp[i] < 0) return sana_json_bad(j, key, "entry %d is negative", i);
        out[i] = tmp[i];
    }
    *n = got;
    return SANA_OK;
}

/*
 * A per-stage string field: absent/null keeps the defaults, a string applies to every stage,
 * an array gives one string per stage (at least n entries; diffusers indexes [i]).
 */
typedef sana_status (*parse_fn)(const sana_json *, const char *, const char *, void *);

static sana_status stage_strings(const sana_json *j, const char *key, int n, parse_fn parse, void *out, size_t elt)
{
    json_object *v = get(j, key);
    if (!v) return SANA_OK;
    if (json_object_is_type(v, json_type_string)) {
        for (int i = 0; i < n; i++) {
            sana_status st = parse(j, key, json_object_get_string(v), (char *)out + (size_t)i * elt);
            if (st != SANA_OK) return st;
        }
        return SANA_OK;
    }
    if (!json_object_is_type(v, json_type_array))
        return sana_json_bad(j, key, "expected a string or an array of strings, found %s",
                             json_type_to_name(json_object_get_type(v)));
    if ((int)json_object_array_length(v) < n)
        return sana_json_bad(j, key, "has %zu entries for %d stages", json_object_array_length(v), n);
    for (int i = 0; i < n; i++) {
        json_object *e = json_object_array_get_idx(v, (size_t)i);
        if (!json_object_is_type(e, json_type_string)) return sana_json_bad(j, key, "entry %d is not a string", i);
        sana_status st = parse(j, key, json_object_get_string(e), (char *)out + (size_t)i * elt);
        if (st != SANA_OK) return st;
    }
    return SANA_OK;
}

static sana_status parse_block_type_v(const sana_json *j, const char *k, const char *s, void *o) { return parse_block_type(j, k, s, o); }
static sana_status parse_norm_v(const sana_json *j, const char *k, const char *s, void *o) { return parse_norm(j, k, s, o); }
static sana_status parse_act_v(const sana_json *j, const char *k, const char *s, void *o) { return parse_act(j, k, s, o); }

/* qkv_multiscales: a list (one per stage, at least n) of lists of odd kernel sizes. */
static sana_status multiscales(const sana_json *j, const char *key, int n, int *ns,
                               int64_t (*ks)[SANA_DCAE_MAX_SCALES])
{
    json_object *v = get(j, key);
    if (!v) return SANA_OK;
    if (!json_object_is_type(v, json_type_array) || (int)json_object_array_length(v) < n)
        return sana_json_bad(j, key, "expected a list of %d lists of kernel sizes", n);
    for (int i = 0; i < n; i++) {
        json_object *e = json_object_array_get_idx(v, (size_t)i);
        if (!json_object_is_type(e, json_type_array)) return sana_json_bad(j, key, "entry %d is not a list", i);
        size_t m = json_object_array_length(e);
        if (m > SANA_DCAE_MAX_SCALES)
            return sana_json_bad(j, key, "entry %d has %zu scales, at most %d supported", i, m, SANA_DCAE_MAX_SCALES);
        ns[i] = (int)m;
        for (size_t s = 0; s < m; s++) {
            json_object *k = json_object_array_get_idx(e, s);
            if (!json_object_is_type(k, json_type_int)) return sana_json_bad(j, key, "entry %d: a kernel size is not an integer", i);
            int64_t kv = json_object_get_int64(k);
            /* proj_in pads k // 2: only odd sizes keep H x W (diffusers fails on even ones in torch.cat) */
            if (kv < 1 || kv % 2 == 0) return sana_json_bad(j, key, "entry %d: kernel size %lld is not odd and positive", i, (long long)kv);
            ks[i][s] = kv;
        }
    }
    return SANA_OK;
}

static sana_status positive(const sana_json *j, const char *key, int64_t v)
{
    return v > 0 ? SANA_OK : sana_json_bad(j, key, "must be positive, found %lld", (long long)v);
}

sana_status sana_dcae_config_load(sana_dcae_config *c, const char *path)
{
    sana_json j;
    sana_status st = sana_json_load(&j, path);
    if (st != SANA_OK) return st;
    sana_dcae_config_default(c);
    char *s = NULL;
    int ne = -1, nd = -1, n;

#define TRY(expr) do { if ((st = (expr)) != SANA_OK) goto done; } while (0)
    TRY(sana_json_int(&j, "in_channels", c->in_channels, &c->in_channels));
    TRY(positive(&j, "in_channels", c->in_channels));
    TRY(sana_json_int(&j, "latent_channels", c->latent_channels, &c->latent_channels));
    TRY(positive(&j, "latent_channels", c->latent_channels));
    TRY(sana_json_int(&j, "attention_head_dim", c->attention_head_dim, &c->attention_head_dim));
    TRY(positive(&j, "attention_head_dim", c->attention_head_dim));

    TRY(int_list(&j, "encoder_block_out_channels", c->encoder_block_out_channels, &ne));
    if (ne > 0) c->n_encoder_stages = ne;
    TRY(int_list(&j, "decoder_block_out_channels", c->decoder_block_out_channels, &nd));
    if (nd > 0) c->n_decoder_stages = nd;
    for (int i = 0; i < c->n_encoder_stages; i++) TRY(positive(&j, "encoder_block_out_channels", c->encoder_block_out_channels[i]));
    for (int i = 0; i < c->n_decoder_stages; i++) TRY(positive(&j, "decoder_block_out_channels", c->decoder_block_out_channels[i]));
    n = c->n_encoder_stages;
    TRY(int_list(&j, "encoder_layers_per_block", c->encoder_layers_per_block, &n));
    n = c->n_decoder_stages;
    TRY(int_list(&j, "decoder_layers_per_block", c->decoder_layers_per_block, &n));

    TRY(stage_strings(&j, "encoder_block_types", c->n_encoder_stages, parse_block_type_v, c->encoder_block_types,
                      sizeof c->encoder_block_types[0]));
    TRY(stage_strings(&j, "decoder_block_types", c->n_decoder_stages, parse_block_type_v, c->decoder_block_types,
                      sizeof c->decoder_block_types[0]));
    TRY(multiscales(&j, "encoder_qkv_multiscales", c->n_encoder_stages, c->encoder_n_scales, c->encoder_qkv_multiscales));
    TRY(multiscales(&j, "decoder_qkv_multiscales", c->n_decoder_stages, c->decoder_n_scales, c->decoder_qkv_multiscales));
    TRY(stage_strings(&j, "decoder_norm_types", c->n_decoder_stages, parse_norm_v, c->decoder_norm_types,
                      sizeof c->decoder_norm_types[0]));
    TRY(stage_strings(&j, "decoder_act_fns", c->n_decoder_stages, parse_act_v, c->decoder_act_fns,
                      sizeof c->decoder_act_fns[0]));

    TRY(sana_json_string(&j, "upsample_block_type", "pixel_shuffle", &s));
    c->upsample_interpolate = !strcmp(s, "interpolate");
    free(s);
    s = NULL;
    TRY(sana_json_string(&j, "downsample_block_type", "pixel_unshuffle", &s));
    c->downsample_pixel_unshuffle = !strcmp(s, "pixel_unshuffle");
    free(s);
    s = NULL;
    TRY(sana_json_bool(&j, "encoder_out_shortcut", c->encoder_out_shortcut, &c->encoder_out_shortcut));
    TRY(sana_json_bool(&j, "decoder_in_shortcut", c->decoder_in_shortcut, &c->decoder_in_shortcut));
    TRY(sana_json_string(&j, "decoder_conv_act_fn", "relu", &s));
    TRY(parse_act(&j, "decoder_conv_act_fn", s, &c->decoder_conv_act_fn));
    TRY(sana_json_double(&j, "scaling_factor", c->scaling_factor, &c->scaling_factor));
    if (c->n_encoder_stages > 31) { st = sana_json_bad(&j, "encoder_block_out_channels", "too many stages"); goto done; }
    c->spatial_compression_ratio = (int64_t)1 << (c->n_encoder_stages - 1);
#undef TRY
done:
    free(s);
    sana_json_free(&j);
    return st;
}
