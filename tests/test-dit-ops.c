/* tests/test-dit-ops.c -- every dit operator alone, through the ref backend, against golden/dit/ops
 * (diffusers 0.35.2 modules run by golden/dump_dit.py). */
#include "golden.h"
#include "backend/backend.h"
#include "ref.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const sana_backend *be;
static golden *g;

static const sana_wt *wt(const char *fmt, const char *a)
{
    char name[128];
    snprintf(name, sizeof name, fmt, a);
    return &golden_get(g, name)->wt;
}
static float *in(const char *fmt, const char *a, int64_t *n)
{
    char name[128];
    snprintf(name, sizeof name, fmt, a);
    return golden_f32(g, name, n);
}
static float *alloc(int64_t n) { return calloc((size_t)(n > 0 ? n : 1), sizeof(float)); }
static void check(const char *what, const char *pre, const float *got, int64_t n, const char *want, const char *tol)
{
    char w[128], label[128];
    snprintf(w, sizeof w, "%s.%s", pre, want);
    snprintf(label, sizeof label, "%s %s", pre, what);
    golden_check(g, label, got, n, w, tol);
}

static void test_timestep(void)
{
    int64_t B;
    float *t = in("%s.t", "tproj", &B), *y = alloc(B * 256);
    SANA_OP_CALL(be, timestep_embedding, y, t, B, 256);
    check("Timesteps(256)", "tproj", y, B * 256, "y", "dit_timestep");
    free(t);
    free(y);
}

static void test_mlp(const char *pre, int64_t M, int64_t K, int64_t Hd, int64_t N, int act)
{
    float *x = in("%s.x", pre, NULL), *y = alloc(M * N), *work = alloc(ref_mlp2_work(M, Hd));
    SANA_OP_CALL(be, mlp2, y, work, x, wt("%s.linear_1.weight", pre), wt("%s.linear_1.bias", pre),
                 wt("%s.linear_2.weight", pre), wt("%s.linear_2.bias", pre), M, K, Hd, N, act);
    check(act == SANA_ACT_SILU ? "TimestepEmbedding" : "PixArtAlphaTextProjection", pre, y, M * N, "y", "dit_mlp");
    free(x);
    free(y);
    free(work);
}

/* AdaLayerNormSingle / SanaCombinedTimestepGuidanceEmbeddings composed from the ops as src/models/dit.c does. */
static void test_time_embed(const char *pre, int guidance)
{
    const int64_t D = 48, B = 3;
    char p1[64], p2[64];
    snprintf(p1, sizeof p1, guidance ? "%s.timestep_embedder" : "%s.emb.timestep_embedder", pre);
    snprintf(p2, sizeof p2, "%s.guidance_embedder", pre);
    float *t = in("%s.t", pre, NULL), *tp = alloc(B * 256), *emb = alloc(B * D), *work = alloc(B * D);
    float *y = alloc(B * 6 * D);
    SANA_OP_CALL(be, timestep_embedding, tp, t, B, 256);
    SANA_OP_CALL(be, mlp2, emb, work, tp, wt("%s.linear_1.weight", p1), wt("%s.linear_1.bias", p1),
                 wt("%s.linear_2.weight", p1), wt("%s.linear_2.bias", p1), B, 256, D, D, SANA_ACT_SILU);
    if (guidance) {
        float *gd = in("%s.g", pre, NULL), *ge = alloc(B * D);
        SANA_OP_CALL(be, timestep_embedding, tp, gd, B, 256);
        SANA_OP_CALL(be, mlp2, ge, work, tp, wt("%s.linear_1.weight", p2), wt("%s.linear_1.bias", p2),
                     wt("%s.linear_2.weight", p2), wt("%s.linear_2.bias", p2), B, 256, D, D, SANA_ACT_SILU);
        SANA_OP_CALL(be, add, emb, emb, ge, B * D);
        free(gd);
        free(ge);
    }
    SANA_OP_CALL(be, silu, work, emb, B * D);
    SANA_OP_CALL(be, linear, y, work, wt("%s.linear.weight", pre), wt("%s.linear.bias", pre), B, D, 6 * D);
    const char *what = guidance ? "SanaCombinedTimestepGuidanceEmbeddings" : "AdaLayerNormSingle";
    check(what, pre, emb, B * D, "emb", "dit_mlp");
    check(what, pre, y, B * 6 * D, "y", "dit_mlp");
    free(t); free(tp); free(emb); free(work); free(y);
}

static void test_pos(const char *pre, int64_t h, int64_t w, int64_t D, double base, double interp)
{
    float *y = alloc(h * w * D);
    SANA_OP_CALL(be, pos_embed_2d, y, h, w, D, base, interp);
    check("get_2d_sincos_pos_embed", pre, y, h * w * D, "y", "dit_pos");
    free(y);
}

static void test_patch(const char *pre, int64_t p, int has_pos, double interp)
{
    const int64_t B = 2, C = 4, H = 6, W = 10, D = 32, h = H / p, w = W / p;
    float *x = in("%s.x", pre, NULL), *y = alloc(B * h * w * D), *pos = NULL;
    if (has_pos) {
        pos = alloc(h * w * D);
        SANA_OP_CALL(be, pos_embed_2d, pos, h, w, D, (double)(8 / p), interp); /* base = sample_size // p */
    }
    SANA_OP_CALL(be, patch_embed, y, x, wt("%s.proj.weight", pre), wt("%s.proj.bias", pre), pos, B, C, H, W, D, p);
    check("PatchEmbed", pre, y, B * h * w * D, "y", "dit_op");
    free(x); free(y); free(pos);
}

static void test_unpatchify(void)
{
    const int64_t B = 2, h = 3, w = 5, p = 2, C = 4, n = B * h * w * p * p * C;
    float *x = in("%s.x", "unpatch", NULL), *y = alloc(n);
    SANA_OP_CALL(be, unpatchify, y, x, B, h, w, p, C);
    check("unpatchify", "unpatch", y, n, "y", "dit_exact");
    free(x); free(y);
}

static void test_modulation(void)
{
    const int64_t B = 2, N = 15, D = 48;
    /* SanaModulatedNorm */
    float *x = in("%s.x", "mnorm", NULL), *temb = in("%s.temb", "mnorm", NULL), *mod = alloc(B * 6 * D);
    float *y = alloc(B * N * D);
    SANA_OP_CALL(be, dit_modulation, mod, wt("%s.table", "mnorm"), temb, B, 2, D, 0);
    SANA_OP_CALL(be, modulated_layer_norm, y, x, NULL, NULL, mod, B, N, D, 2, 0, 1, 1e-6f);
    check("SanaModulatedNorm", "mnorm", y, B * N * D, "y", "dit_op");
    free(temb);
    /* block modulation */
    float *t6 = in("%s.temb", "mod", NULL), *r = in("%s.r", "mod", NULL);
    SANA_OP_CALL(be, dit_modulation, mod, wt("%s.table", "mod"), t6, B, 6, D, 1);
    SANA_OP_CALL(be, modulated_layer_norm, y, x, NULL, NULL, mod, B, N, D, 6, 0, 1, 1e-6f);
    check("norm1 * (1 + scale_msa) + shift_msa", "mod", y, B * N * D, "norm1", "dit_op");
    SANA_OP_CALL(be, modulated_layer_norm, y, x, NULL, NULL, mod, B, N, D, 6, 3, 4, 1e-6f);
    check("norm2 * (1 + scale_mlp) + shift_mlp", "mod", y, B * N * D, "norm2", "dit_op");
    SANA_OP_CALL(be, modulated_layer_norm, y, x, wt("%s.ln_w", "mod"), wt("%s.ln_b", "mod"), mod, B, N, D, 6, 3, 4,
                 1e-6f);
    check("norm2 (affine) * (1 + scale_mlp) + shift_mlp", "mod", y, B * N * D, "norm2_affine", "dit_op");
    memcpy(y, x, (size_t)(B * N * D) * sizeof(float));
    SANA_OP_CALL(be, gated_residual, y, r, mod, B, N, D, 6, 2);
    check("x + gate_msa * r", "mod", y, B * N * D, "res_msa", "dit_op");
    memcpy(y, x, (size_t)(B * N * D) * sizeof(float));
    SANA_OP_CALL(be, gated_residual, y, r, mod, B, N, D, 6, 5);
    check("x + gate_mlp * r", "mod", y, B * N * D, "res_mlp", "dit_op");
    free(x); free(t6); free(r); free(mod); free(y);
}

/* Self-attention module: projections, optional q/k RMSNorm, linear attention, to_out. */
static void test_linear_attn(const char *pre, int qk)
{
    const int64_t B = 2, N = 60, heads = 4, d = 16, D = heads * d;
    float *x = in("%s.x", pre, NULL), *q = alloc(B * N * D), *k = alloc(B * N * D), *v = alloc(B * N * D);
    float *att = alloc(B * N * D), *y = alloc(B * N * D), *work = alloc(ref_linear_attn_work(d));
    /* the operator alone, from diffusers' q, k (after norms), v */
    float *gq = in("%s.q", pre, NULL), *gk = in("%s.k", pre, NULL), *gv = in("%s.v", pre, NULL);
    SANA_OP_CALL(be, linear_attn, att, work, gq, gk, gv, B, N, heads, d);
    check("linear_attn alone", pre, att, B * N * D, "core", "dit_attn");
    /* the module */
    SANA_OP_CALL(be, linear, q, x, wt("%s.to_q.weight", pre), NULL, B * N, D, D);
    SANA_OP_CALL(be, linear, k, x, wt("%s.to_k.weight", pre), NULL, B * N, D, D);
    SANA_OP_CALL(be, linear, v, x, wt("%s.to_v.weight", pre), NULL, B * N, D, D);
    if (qk) {
        SANA_OP_CALL(be, rms_norm, q, q, wt("%s.norm_q.weight", pre), B * N, D, 1e-5f);
        SANA_OP_CALL(be, rms_norm, k, k, wt("%s.norm_k.weight", pre), B * N, D, 1e-5f);
    }
    check("q", pre, q, B * N * D, "q", "dit_attn");
    check("k", pre, k, B * N * D, "k", "dit_attn");
    SANA_OP_CALL(be, linear_attn, att, work, q, k, v, B, N, heads, d);
    SANA_OP_CALL(be, linear, y, att, wt("%s.to_out.0.weight", pre), wt("%s.to_out.0.bias", pre), B * N, D, D);
    check("Attention(SanaLinearAttnProcessor2_0)", pre, y, B * N * D, "y", "dit_attn");
    free(x); free(q); free(k); free(v); free(att); free(y); free(work); free(gq); free(gk); free(gv);
}

/* Cross-attention module: mask -> bias, projections, optional q/k norm, softmax attention, to_out. */
static void test_softmax_attn(const char *pre, int qk)
{
    const int64_t B = 2, N = 60, L = 7, heads = 2, d = 24, Dc = heads * d, D = 64;
    float *x = in("%s.x", pre, NULL), *enc = in("%s.enc", pre, NULL), *mask = in("%s.mask", pre, NULL);
    float *bias = alloc(B * L), *q = alloc(B * N * Dc), *k = alloc(B * L * Dc), *v = alloc(B * L * Dc);
    float *att = alloc(B * N * Dc), *y = alloc(B * N * D), *work = alloc(ref_softmax_attn_work(N, L));
    SANA_OP_CALL(be, attn_mask_bias, bias, mask, B * L);
    check("mask -> bias", pre, bias, B * L, "bias", "dit_exact");
    float *gq = in("%s.q", pre, NULL), *gk = in("%s.k", pre, NULL), *gv = in("%s.v", pre, NULL);
    SANA_OP_CALL(be, softmax_attn, att, work, gq, gk, gv, bias, B, N, L, heads, d);
    check("softmax_attn alone", pre, att, B * N * Dc, "core", "dit_attn");
    SANA_OP_CALL(be, linear, q, x, wt("%s.to_q.weight", pre), wt("%s.to_q.bias", pre), B * N, D, Dc);
    SANA_OP_CALL(be, linear, k, enc, wt("%s.to_k.weight", pre), wt("%s.to_k.bias", pre), B * L, D, Dc);
    SANA_OP_CALL(be, linear, v, enc, wt("%s.to_v.weight", pre), wt("%s.to_v.bias", pre), B * L, D, Dc);
    if (qk) {
        SANA_OP_CALL(be, rms_norm, q, q, wt("%s.norm_q.weight", pre), B * N, Dc, 1e-5f);
        SANA_OP_CALL(be, rms_norm, k, k, wt("%s.norm_k.weight", pre), B * L, Dc, 1e-5f);
    }
    SANA_OP_CALL(be, softmax_attn, att, work, q, k, v, bias, B, N, L, heads, d);
    SANA_OP_CALL(be, linear, y, att, wt("%s.to_out.0.weight", pre), wt("%s.to_out.0.bias", pre), B * N, Dc, D);
    check("Attention(SanaAttnProcessor2_0)", pre, y, B * N * D, "y", "dit_attn");
    free(x); free(enc); free(mask); free(bias); free(q); free(k); free(v); free(att); free(y); free(work);
    free(gq); free(gk); free(gv);
}

static void test_glumbconv(const char *pre, int64_t B, int64_t Cin, int64_t Cout, int64_t Hd, int64_t H, int64_t W)
{
    float *x = in("%s.x", pre, NULL), *y = alloc(B * Cout * H * W), *work = alloc(ref_glumbconv_work(Hd, H, W));
    SANA_OP_CALL(be, glumbconv, y, work, x, wt("%s.conv_inverted.weight", pre), wt("%s.conv_inverted.bias", pre),
                 wt("%s.conv_depth.weight", pre), wt("%s.conv_depth.bias", pre), wt("%s.conv_point.weight", pre),
                 NULL, B, Cin, H, W, Hd, Cout);
    check("GLUMBConv", pre, y, B * Cout * H * W, "y", "dit_glumbconv");
    /* glumbconv_tokens (SanaTransformerBlock's permutes around GLUMBConv): the same golden, x given
     * as tokens [B, H*W, Cin] and the tokens out read back as [B, Cout, H, W] */
    const int64_t HW = H * W, C = Cin > Cout ? Cin : Cout;
    float *xt = alloc(B * HW * Cin), *yt = alloc(B * HW * Cout);
    float *wk = alloc(sana_backend_work(be, SANA_OP_glumbconv_tokens, Hd, HW, C));
    for (int64_t b = 0; b < B; b++)
        for (int64_t c = 0; c < Cin; c++)
            for (int64_t i = 0; i < HW; i++) xt[(b * HW + i) * Cin + c] = x[(b * Cin + c) * HW + i];
    SANA_OP_CALL(be, glumbconv_tokens, yt, wk, xt, wt("%s.conv_inverted.weight", pre),
                 wt("%s.conv_inverted.bias", pre), wt("%s.conv_depth.weight", pre), wt("%s.conv_depth.bias", pre),
                 wt("%s.conv_point.weight", pre), NULL, B, Cin, H, W, Hd, Cout);
    for (int64_t b = 0; b < B; b++)
        for (int64_t c = 0; c < Cout; c++)
            for (int64_t i = 0; i < HW; i++) y[(b * Cout + c) * HW + i] = yt[(b * HW + i) * Cout + c];
    check("GLUMBConv on tokens", pre, y, B * Cout * H * W, "y", "dit_glumbconv");
    free(x); free(y); free(work); free(xt); free(yt); free(wk);
}

/* Transposes have no diffusers module of their own: check them exactly both ways. */
static void test_transpose(void)
{
    const int64_t B = 2, R = 37, Cc = 45;
    float *x = alloc(B * R * Cc), *y = alloc(B * R * Cc), *z = alloc(B * R * Cc);
    for (int64_t i = 0; i < B * R * Cc; i++) x[i] = (float)i;
    SANA_OP_CALL(be, transpose_batched, y, x, B, R, Cc);
    int bad = 0;
    for (int64_t b = 0; b < B; b++)
        for (int64_t r = 0; r < R; r++)
            for (int64_t c = 0; c < Cc; c++) bad |= y[(b * Cc + c) * R + r] != x[(b * R + r) * Cc + c];
    SANA_OP_CALL(be, transpose_batched, z, y, B, Cc, R);
    bad |= memcmp(z, x, (size_t)(B * R * Cc) * sizeof(float)) != 0;
    if (bad) golden_fail("transpose_batched: wrong element");
    else printf("PASS transpose_batched 2x37x45 and back\n");
    free(x); free(y); free(z);
}

int main(void)
{
    be = sana_backend_ref();
    g = golden_open("dit/ops.safetensors");
    test_timestep();
    test_mlp("temb", 3, 256, 96, 96, SANA_ACT_SILU);
    test_mlp("cap", 14, 40, 48, 48, SANA_ACT_GELU_TANH);
    test_time_embed("ada", 0);
    test_time_embed("tg", 1);
    test_pos("pos0", 6, 10, 64, 16, 1.0);
    test_pos("pos1", 3, 5, 32, 4, 2.0);
    test_pos("pos2", 4, 6, 1152, 32, 2.0);
    test_patch("pe0", 1, 1, 1.0);
    test_patch("pe1", 2, 0, 0.0);
    test_patch("pe2", 2, 1, 2.0);
    test_unpatchify();
    test_modulation();
    test_linear_attn("lattn", 0);
    test_linear_attn("lattn_qk", 1);
    test_softmax_attn("xattn", 0);
    test_softmax_attn("xattn_qk", 1);
    test_glumbconv("ff", 2, 32, 32, 80, 6, 10);
    test_glumbconv("ff2", 1, 16, 24, 48, 5, 7);
    test_transpose();
    golden_close(g);
    return golden_exit();
}
