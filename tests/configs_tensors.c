/* tests/configs_tensors.c -- the tensors of diffusers' / transformers' module trees for the published SANA
 * configs, and sparse safetensors files holding them (tests/configs_tensors.h). */
#define _XOPEN_SOURCE 700
#include "configs_tensors.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <unistd.h>

void bput(buf *b, const char *fmt, ...)
{
    for (;;) {
        va_list ap;
        va_start(ap, fmt);
        int k = vsnprintf(b->s ? b->s + b->n : NULL, b->s ? b->cap - b->n : 0, fmt, ap);
        va_end(ap);
        if (b->s && (size_t)k < b->cap - b->n) { b->n += (size_t)k; return; }
        b->cap = (b->cap + (size_t)k + 1) * 2;
        b->s = realloc(b->s, b->cap);
        if (!b->s) exit(99);
    }
}

static void tadd(tlist *l, int nd, const int64_t *shape, const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static void tadd(tlist *l, int nd, const int64_t *shape, const char *fmt, ...)
{
    if (l->n == l->cap) {
        l->cap = l->cap ? 2 * l->cap : 256;
        l->t = realloc(l->t, (size_t)l->cap * sizeof *l->t);
        if (!l->t) exit(99);
    }
    tdesc *t = &l->t[l->n++];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(t->name, sizeof t->name, fmt, ap);
    va_end(ap);
    t->nd = nd;
    memcpy(t->shape, shape, (size_t)nd * sizeof *shape);
}
#define T1(l, a, ...) tadd(l, 1, (const int64_t[]){a}, __VA_ARGS__)
#define T2(l, a, b, ...) tadd(l, 2, (const int64_t[]){a, b}, __VA_ARGS__)
#define T4(l, a, b, c, d, ...) tadd(l, 4, (const int64_t[]){a, b, c, d}, __VA_ARGS__)

/* nn.Linear(i, o) under key (weight [o, i], bias [o] when bias). */
static void linear(tlist *l, int64_t i, int64_t o, int bias, const char *key)
{
    T2(l, o, i, "%s.weight", key);
    if (bias) T1(l, o, "%s.bias", key);
}
static void conv(tlist *l, int64_t i, int64_t o, int64_t k, int64_t groups, int bias, const char *key)
{
    T4(l, o, i / groups, k, k, "%s.weight", key);
    if (bias) T1(l, o, "%s.bias", key);
}

/* SanaTransformer2DModel.__init__ (diffusers 0.35.2, models/transformers/sana_transformer.py). */
void dit_tensors(tlist *l, const dit_arch *p)
{
    const int64_t D = p->num_attention_heads * 32, Dc = p->num_cross_attention_heads * p->cross_attention_head_dim;
    const int64_t Hd = (int64_t)(2.5 * (double)D); /* GLUMBConv: hidden_channels = int(expand_ratio * in_channels) */
    char k[128];
    conv(l, 32, D, 1, 1, 1, "patch_embed.proj"); /* PatchEmbed(patch_size 1); pos_embed is a buffer, not saved */
    /* AdaLayerNormSingle(D).emb.timestep_embedder, or SanaCombinedTimestepGuidanceEmbeddings (Sprint) */
    const char *te = p->guidance_embeds ? "time_embed.timestep_embedder" : "time_embed.emb.timestep_embedder";
    snprintf(k, sizeof k, "%s.linear_1", te), linear(l, 256, D, 1, k);
    snprintf(k, sizeof k, "%s.linear_2", te), linear(l, D, D, 1, k);
    if (p->guidance_embeds) {
        linear(l, 256, D, 1, "time_embed.guidance_embedder.linear_1");
        linear(l, D, D, 1, "time_embed.guidance_embedder.linear_2");
    }
    linear(l, D, 6 * D, 1, "time_embed.linear");
    linear(l, 2304, D, 1, "caption_projection.linear_1"); /* PixArtAlphaTextProjection */
    linear(l, D, D, 1, "caption_projection.linear_2");
    T1(l, D, "caption_norm.weight");                      /* RMSNorm(D, elementwise_affine=True) */
    for (int64_t i = 0; i < p->num_layers; i++) {
        const char *b = k;
        snprintf(k, sizeof k, "transformer_blocks.%lld", (long long)i);
        char s[160];
        T2(l, 6, D, "%s.scale_shift_table", b);
        /* attn1 = Attention(D, heads, 32, bias=attention_bias=False, out_bias=True) */
        snprintf(s, sizeof s, "%s.attn1.to_q", b), linear(l, D, D, 0, s);
        snprintf(s, sizeof s, "%s.attn1.to_k", b), linear(l, D, D, 0, s);
        snprintf(s, sizeof s, "%s.attn1.to_v", b), linear(l, D, D, 0, s);
        snprintf(s, sizeof s, "%s.attn1.to_out.0", b), linear(l, D, D, 1, s);
        /* attn2 = Attention(D, cross heads, cross head dim, cross_attention_dim=D, bias=True) */
        snprintf(s, sizeof s, "%s.attn2.to_q", b), linear(l, D, Dc, 1, s);
        snprintf(s, sizeof s, "%s.attn2.to_k", b), linear(l, D, Dc, 1, s);
        snprintf(s, sizeof s, "%s.attn2.to_v", b), linear(l, D, Dc, 1, s);
        snprintf(s, sizeof s, "%s.attn2.to_out.0", b), linear(l, Dc, D, 1, s);
        if (p->qk_norm) { /* "rms_norm_across_heads": RMSNorm(dim_head * heads) on q and k */
            T1(l, D, "%s.attn1.norm_q.weight", b);
            T1(l, D, "%s.attn1.norm_k.weight", b);
            T1(l, Dc, "%s.attn2.norm_q.weight", b);
            T1(l, Dc, "%s.attn2.norm_k.weight", b);
        }
        /* ff = GLUMBConv(D, D, mlp_ratio, norm_type=None, residual_connection=False) */
        snprintf(s, sizeof s, "%s.ff.conv_inverted", b), conv(l, D, 2 * Hd, 1, 1, 1, s);
        snprintf(s, sizeof s, "%s.ff.conv_depth", b), conv(l, 2 * Hd, 2 * Hd, 3, 2 * Hd, 1, s);
        snprintf(s, sizeof s, "%s.ff.conv_point", b), conv(l, Hd, D, 1, 1, 0, s);
    }
    T2(l, 2, D, "scale_shift_table");
    linear(l, D, 32, 1, "proj_out"); /* patch_size^2 * out_channels */
}

/* AutoencoderDC.__init__ for the SANA config (models/autoencoders/autoencoder_dc.py, 0.35.2). */
static void dcae_block(tlist *l, const char *key, int64_t C, int vit)
{
    char s[160];
    if (!vit) { /* ResBlock(C, C, "rms_norm", "silu") */
        snprintf(s, sizeof s, "%s.conv1", key), conv(l, C, C, 3, 1, 1, s);
        snprintf(s, sizeof s, "%s.conv2", key), conv(l, C, C, 3, 1, 0, s);
        T1(l, C, "%s.norm.weight", key), T1(l, C, "%s.norm.bias", key); /* RMSNorm(C, bias=True) */
        return;
    }
    /* EfficientViTBlock: SanaMultiscaleLinearAttention(C, C, head_dim 32, kernel_sizes (5,)) + GLUMBConv(C, C, 4, rms) */
    const int64_t heads = C / 32, inner = heads * 32;
    snprintf(s, sizeof s, "%s.attn.to_q", key), linear(l, C, inner, 0, s);
    snprintf(s, sizeof s, "%s.attn.to_k", key), linear(l, C, inner, 0, s);
    snprintf(s, sizeof s, "%s.attn.to_v", key), linear(l, C, inner, 0, s);
    snprintf(s, sizeof s, "%s.attn.to_qkv_multiscale.0.proj_in", key), conv(l, 3 * inner, 3 * inner, 5, 3 * inner, 0, s);
    snprintf(s, sizeof s, "%s.attn.to_qkv_multiscale.0.proj_out", key), conv(l, 3 * inner, 3 * inner, 1, 3 * heads, 0, s);
    snprintf(s, sizeof s, "%s.attn.to_out", key), linear(l, 2 * inner, C, 0, s);
    T1(l, C, "%s.attn.norm_out.weight", key), T1(l, C, "%s.attn.norm_out.bias", key);
    snprintf(s, sizeof s, "%s.conv_out.conv_inverted", key), conv(l, C, 8 * C, 1, 1, 1, s);
    snprintf(s, sizeof s, "%s.conv_out.conv_depth", key), conv(l, 8 * C, 8 * C, 3, 8 * C, 1, s);
    snprintf(s, sizeof s, "%s.conv_out.conv_point", key), conv(l, 4 * C, C, 1, 1, 0, s);
    T1(l, C, "%s.conv_out.norm.weight", key), T1(l, C, "%s.conv_out.norm.bias", key);
}

void dcae_tensors(tlist *l)
{
    static const int64_t w[6] = {128, 256, 512, 512, 1024, 1024}, enc_n[6] = {2, 2, 2, 3, 3, 3};
    char k[128];
    conv(l, 3, w[0], 3, 1, 1, "encoder.conv_in");
    for (int i = 0; i < 6; i++) {
        int j = 0;
        for (; j < enc_n[i]; j++) snprintf(k, sizeof k, "encoder.down_blocks.%d.%d", i, j), dcae_block(l, k, w[i], i >= 3);
        /* DCDownBlock2d(downsample_block_type "Conv": a stride-2 3x3 conv to the next width) */
        if (i < 5) snprintf(k, sizeof k, "encoder.down_blocks.%d.%d.conv", i, j), conv(l, w[i], w[i + 1], 3, 1, 1, k);
    }
    conv(l, w[5], 32, 3, 1, 1, "encoder.conv_out");
    conv(l, 32, w[5], 3, 1, 1, "decoder.conv_in");
    for (int i = 0; i < 6; i++) {
        int j = 0;
        /* DCUpBlock2d("interpolate": nearest x2 then a 3x3 conv from the width below) first */
        if (i < 5) snprintf(k, sizeof k, "decoder.up_blocks.%d.%d.conv", i, j++), conv(l, w[i + 1], w[i], 3, 1, 1, k);
        for (int n = 0; n < 3; n++, j++) snprintf(k, sizeof k, "decoder.up_blocks.%d.%d", i, j), dcae_block(l, k, w[i], i >= 3);
    }
    T1(l, w[0], "decoder.norm_out.weight"), T1(l, w[0], "decoder.norm_out.bias");
    conv(l, w[0], 3, 3, 1, 1, "decoder.conv_out");
}

/* transformers Gemma2Model (models/gemma2/modeling_gemma2.py). */
void gemma2_tensors(tlist *l)
{
    const int64_t C = 2304, I = 9216, Q = 8 * 256, KV = 4 * 256;
    T2(l, 256000, C, "embed_tokens.weight");
    for (int i = 0; i < 26; i++) {
        T1(l, C, "layers.%d.input_layernorm.weight", i);
        T1(l, C, "layers.%d.post_attention_layernorm.weight", i);
        T1(l, C, "layers.%d.pre_feedforward_layernorm.weight", i);
        T1(l, C, "layers.%d.post_feedforward_layernorm.weight", i);
        T2(l, Q, C, "layers.%d.self_attn.q_proj.weight", i);
        T2(l, KV, C, "layers.%d.self_attn.k_proj.weight", i);
        T2(l, KV, C, "layers.%d.self_attn.v_proj.weight", i);
        T2(l, C, Q, "layers.%d.self_attn.o_proj.weight", i);
        T2(l, I, C, "layers.%d.mlp.gate_proj.weight", i);
        T2(l, I, C, "layers.%d.mlp.up_proj.weight", i);
        T2(l, C, I, "layers.%d.mlp.down_proj.weight", i);
    }
    T1(l, C, "norm.weight");
}

static int64_t tnumel(const tdesc *t)
{
    int64_t n = 1;
    for (int d = 0; d < t->nd; d++) n *= t->shape[d];
    return n;
}

/* Write l as a safetensors file of dtype (F32 / BF16) whose data area is a hole: ftruncate, no data
 * written, zeros when read. Returns the parameter count. */
int64_t write_sparse_safetensors(const char *path, const tlist *l, const char *dtype, int esize)
{
    buf h = {0};
    uint64_t off = 0;
    int64_t params = 0;
    bput(&h, "{\"__metadata__\":{\"format\":\"pt\"}");
    for (int i = 0; i < l->n; i++) {
        const tdesc *t = &l->t[i];
        int64_t n = tnumel(t);
        bput(&h, ",\"%s\":{\"dtype\":\"%s\",\"shape\":[", t->name, dtype);
        for (int d = 0; d < t->nd; d++) bput(&h, "%s%lld", d ? "," : "", (long long)t->shape[d]);
        bput(&h, "],\"data_offsets\":[%llu,%llu]}", (unsigned long long)off, (unsigned long long)(off + (uint64_t)n * esize));
        off += (uint64_t)n * (uint64_t)esize;
        params += n;
    }
    bput(&h, "}");
    while (h.n % 8) bput(&h, " ");
    FILE *f = fopen(path, "wb");
    unsigned char len[8];
    for (int i = 0; i < 8; i++) len[i] = (unsigned char)((uint64_t)h.n >> (8 * i));
    int ok = f && fwrite(len, 1, 8, f) == 8 && fwrite(h.s, 1, h.n, f) == h.n && fflush(f) == 0 &&
             ftruncate(fileno(f), (off_t)(8 + h.n + off)) == 0;
    if (f) fclose(f);
    free(h.s);
    if (!ok) {
        printf("FAIL cannot write %s\n", path);
        exit(99);
    }
    return params;
}
