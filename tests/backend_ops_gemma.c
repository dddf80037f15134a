/* Backend-op cases of the gemma family (see backend_ops.h). Sizes are odd where the op allows.
 * Real config: google/gemma-2-2b-it (bench/generate_ckpt.py GEMMA): hidden 2304, 8 query heads and
 * 4 key/value heads of 256, MLP 9216, query_pre_attn_scalar 256, logit softcap 50, sliding window
 * 4096; prompts of 300 tokens, after a complex-human-instruction prefix of up to ~550 tokens whose
 * keys are cached. Weights are prepared as the text encoder's are (SANA_PREP_COMPACT). */
#include "backend_ops.h"

#include <math.h>
#include <stdlib.h>

/* gemma_embed: p = {vocab, C, n, table dtype} */
static float *run_embed(const bo_case *c, const sana_backend *be, bo_rng *r, int64_t *n)
{
    const int64_t V = c->p[0], C = c->p[1], N = c->p[2];
    int32_t *ids = malloc((size_t)N * sizeof *ids);
    for (int64_t i = 0; i < N; i++) ids[i] = (int32_t)(bo_uniform(r, 0, 1) * (float)V) % (int32_t)V;
    ids[0] = (int32_t)V - 1; /* the last row */
    int32_t *d = bo_in_host(be, ids, (size_t)N * sizeof *ids);
    free(ids);
    float *y = bo_out(be, N * C);
    const sana_wt *table = bo_wt(be, r, (sana_dtype)c->p[3], SHP(V, C), -1, 1);
    bo_cost((double)(N * C), BO_F(2 * N * C));
    BO_OP(be, gemma_embed, y, d, table, N, C, 8.185353f);
    *n = N * C;
    return bo_result(be, y, *n);
}

/* gemma_rms_norm: p = {rows, C, with residual} */
static float *run_norm(const bo_case *c, const sana_backend *be, bo_rng *r, int64_t *n)
{
    const int64_t rows = c->p[0], C = c->p[1];
    float *x = bo_in(be, r, rows * C, -3, 3), *res = c->p[2] ? bo_in(be, r, rows * C, -1, 1) : NULL;
    float *y = bo_out(be, rows * C);
    const sana_wt *w = bo_wt(be, r, SANA_BF16, SHP(C), -0.5f, 0.5f);
    bo_cost(5.0 * rows * C, BO_F((c->p[2] ? 3 : 2) * rows * C));
    BO_OP(be, gemma_rms_norm, y, x, w, res, rows, C, 1e-6f);
    *n = rows * C;
    return bo_result(be, y, *n);
}

/* gemma_geglu: p = {n}. In place on the gate: perf mode restores it before each call (timed too). */
static float *run_geglu(const bo_case *c, const sana_backend *be, bo_rng *r, int64_t *n)
{
    const int64_t len = c->p[0];
    float *g = bo_out(be, len), *u = bo_in(be, r, len, -2, 2), *src = bo_in(be, r, len, -6, 6);
    bo_cost(10.0 * len, BO_F(5 * len));
    for (int it = bo_op_begin(be, SANA_OP_gemma_geglu); it; it = bo_op_next(be)) {
        be->copy(be->ctx, g, src, (size_t)len * sizeof(float));
        SANA_OP_CALL(be, gemma_geglu, g, u, len);
    }
    *n = len;
    return bo_result(be, g, len);
}

/* gemma_rope: p = {n, H, D, pos0}, in place (a rotation: repeating it in perf mode keeps the scale) */
static float *run_rope(const bo_case *c, const sana_backend *be, bo_rng *r, int64_t *n)
{
    const int64_t N = c->p[0], H = c->p[1], D = c->p[2], pos0 = c->p[3];
    float *x = bo_out(be, N * H * D), *src = bo_in(be, r, N * H * D, -2, 2);
    be->copy(be->ctx, x, src, (size_t)(N * H * D) * sizeof(float));
    bo_cost(6.0 * N * H * D, BO_F(2 * N * H * D));
    BO_OP(be, gemma_rope, x, N, H, D, pos0, 10000.0f);
    *n = N * H * D;
    return bo_result(be, x, *n);
}

/* gemma_attention: p = {nq, q0, nk, Hq, Hkv, D, window, softcap, eager, valid keys}: queries
 * q0..q0+nq-1 over nk keys (a cached prefix when q0 > 0), padding after `valid` keys. */
static float *run_attn(const bo_case *c, const sana_backend *be, bo_rng *r, int64_t *n)
{
    const int64_t nq = c->p[0], q0 = c->p[1], nk = c->p[2], Hq = c->p[3], Hkv = c->p[4], D = c->p[5];
    const float scale = (float)(1.0 / sqrt((double)(D > 64 ? 256 : 16))); /* query_pre_attn_scalar^-0.5 */
    float *q = bo_in(be, r, nq * Hq * D, -2, 2), *k = bo_in(be, r, nk * Hkv * D, -2, 2);
    float *v = bo_in(be, r, nk * Hkv * D, -1, 1), *out = bo_out(be, nq * Hq * D);
    int32_t *mask = malloc((size_t)nk * sizeof *mask);
    for (int64_t j = 0; j < nk; j++) mask[j] = j < c->p[9];
    int32_t *dm = bo_in_host(be, mask, (size_t)nk * sizeof *mask);
    free(mask);
    bo_cost(4.0 * nq * Hq * D * (double)(q0 + (nq + 1) / 2), BO_F(2 * nq * Hq * D + 2 * nk * Hkv * D));
    BO_OP(be, gemma_attention, out, q, k, v, dm, nq, q0, nk, Hq, Hkv, D, scale, (float)c->p[7], c->p[6],
          (int)c->p[8]);
    *n = nq * Hq * D;
    return bo_result(be, out, *n);
}

#define F32 SANA_F32
#define BF16 SANA_BF16
#define F16 SANA_F16
#define BIG ((1 << 22) + 37) /* above REF_OMP_MIN */
#define CMP BO_COMPACT

const bo_case bo_cases_gemma[] = {
    {"gemma_embed f32 29x67", SANA_OP_gemma_embed, run_embed, {53, 67, 29, F32}, CMP},
    {"gemma_embed bf16 29x67", SANA_OP_gemma_embed, run_embed, {53, 67, 29, BF16}, CMP},
    {"gemma_embed gemma 300 tokens of 2304, bf16", SANA_OP_gemma_embed, run_embed, {4099, 2304, 300, BF16}, CMP},
    {"gemma_rms_norm 21x131", SANA_OP_gemma_rms_norm, run_norm, {21, 131, 0}, CMP},
    {"gemma_rms_norm + residual 21x131", SANA_OP_gemma_rms_norm, run_norm, {21, 131, 1}, CMP},
    {"gemma_rms_norm tails 3x7", SANA_OP_gemma_rms_norm, run_norm, {3, 7, 1}, CMP},
    {"gemma_rms_norm gemma 300x2304", SANA_OP_gemma_rms_norm, run_norm, {300, 2304, 0}, CMP},
    {"gemma_rms_norm + residual gemma 300x2304", SANA_OP_gemma_rms_norm, run_norm, {300, 2304, 1}, CMP},
    {"gemma_rms_norm + residual 1821x2304 (4.2M)", SANA_OP_gemma_rms_norm, run_norm, {1821, 2304, 1}, CMP},
    {"gemma_geglu 7", SANA_OP_gemma_geglu, run_geglu, {BO_N_TAIL}, CMP},
    {"gemma_geglu 1037", SANA_OP_gemma_geglu, run_geglu, {1037}, CMP},
    {"gemma_geglu gemma 300x9216", SANA_OP_gemma_geglu, run_geglu, {300 * 9216}, CMP},
    {"gemma_geglu 4194341", SANA_OP_gemma_geglu, run_geglu, {BIG}, CMP},
    {"gemma_rope 23x3x34 from 7", SANA_OP_gemma_rope, run_rope, {23, 3, 34, 7}, CMP},
    {"gemma_rope tails 3x1x6 from 0", SANA_OP_gemma_rope, run_rope, {3, 1, 6, 0}, CMP},
    {"gemma_rope gemma q 300x8x256", SANA_OP_gemma_rope, run_rope, {300, 8, 256, 0}, CMP},
    {"gemma_rope gemma k 300x4x256 after a 549 prefix", SANA_OP_gemma_rope, run_rope, {300, 4, 256, 549}, CMP},
    /*                                                                   nq  q0   nk Hq Hkv   D  win cap eager valid */
    {"gemma_attention eager softcap full, cached prefix", SANA_OP_gemma_attention, run_attn,
     {22, 5, 27, 6, 2, 20, 0, 5, 1, 19}, CMP},
    {"gemma_attention eager softcap window 4 (empty rows)", SANA_OP_gemma_attention, run_attn,
     {22, 5, 27, 6, 2, 20, 4, 5, 1, 19}, CMP},
    {"gemma_attention sdpa window 4 (empty rows)", SANA_OP_gemma_attention, run_attn,
     {22, 5, 27, 6, 2, 20, 4, 0, 0, 19}, CMP},
    {"gemma_attention tails 3 of 3, 1 head of 6", SANA_OP_gemma_attention, run_attn, {3, 0, 3, 1, 1, 6, 0, 0, 0, 3},
     CMP},
    {"gemma_attention gemma 300 tokens, 120 valid", SANA_OP_gemma_attention, run_attn,
     {300, 0, 300, 8, 4, 256, 4096, 50, 0, 120}, CMP},
    {"gemma_attention gemma eager 300 after 549 cached", SANA_OP_gemma_attention, run_attn,
     {300, 549, 849, 8, 4, 256, 4096, 50, 1, 700}, CMP},
    {0, 0, 0, {0}, 0}
};
