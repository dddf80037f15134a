/* Backend-op cases of the gemma family (see backend_ops.h). Sizes are odd where the op allows. */
#include "backend_ops.h"

#include <stdlib.h>

/* Device int32 buffer holding v[0..n) (the case frees it after the op). */
static int32_t *dev_i32(const sana_backend *be, const int32_t *v, int64_t n)
{
    int32_t *d = be->alloc(be->ctx, (size_t)n * sizeof(int32_t));
    be->upload(be->ctx, d, v, (size_t)n * sizeof(int32_t));
    return d;
}

static float *run_embed(const sana_backend *be, bo_rng *r, int64_t *n, sana_dtype dt)
{
    int64_t V = 53, C = 67, N = 29;
    int32_t ids[29];
    for (int64_t i = 0; i < N; i++) ids[i] = (int32_t)(bo_uniform(r, 0, 1) * (float)V) % (int32_t)V;
    int32_t *d = dev_i32(be, ids, N);
    float *y = bo_out(be, N * C);
    SANA_OP_CALL(be, gemma_embed, y, d, bo_wt(r, dt, SHP(V, C), -1, 1), N, C, 8.185353f);
    float *out = bo_result(be, y, N * C);
    be->free(be->ctx, d);
    *n = N * C;
    return out;
}
static float *run_embed_f32(const sana_backend *be, bo_rng *r, int64_t *n) { return run_embed(be, r, n, SANA_F32); }
static float *run_embed_bf16(const sana_backend *be, bo_rng *r, int64_t *n) { return run_embed(be, r, n, SANA_BF16); }

static float *run_norm(const sana_backend *be, bo_rng *r, int64_t *n, int with_res)
{
    int64_t rows = 21, C = 131;
    float *x = bo_in(be, r, rows * C, -3, 3), *res = with_res ? bo_in(be, r, rows * C, -1, 1) : NULL;
    float *y = bo_out(be, rows * C);
    SANA_OP_CALL(be, gemma_rms_norm, y, x, bo_wt(r, SANA_BF16, SHP(C), -0.5f, 0.5f), res, rows, C, 1e-6f);
    *n = rows * C;
    return bo_result(be, y, *n);
}
static float *run_norm_plain(const sana_backend *be, bo_rng *r, int64_t *n) { return run_norm(be, r, n, 0); }
static float *run_norm_res(const sana_backend *be, bo_rng *r, int64_t *n) { return run_norm(be, r, n, 1); }

static float *run_geglu(const sana_backend *be, bo_rng *r, int64_t *n)
{
    int64_t len = 1037;
    float *g = bo_out(be, len), *u = bo_in(be, r, len, -2, 2);
    float *src = bo_in(be, r, len, -6, 6);
    float *tmp = malloc((size_t)len * sizeof(float));
    be->download(be->ctx, tmp, src, (size_t)len * sizeof(float));
    be->upload(be->ctx, g, tmp, (size_t)len * sizeof(float));
    free(tmp);
    SANA_OP_CALL(be, gemma_geglu, g, u, len);
    *n = len;
    return bo_result(be, g, len);
}

static float *run_rope(const sana_backend *be, bo_rng *r, int64_t *n)
{
    int64_t N = 23, H = 3, D = 34, pos0 = 7;
    float *x = bo_out(be, N * H * D), *src = bo_in(be, r, N * H * D, -2, 2);
    float *tmp = malloc((size_t)(N * H * D) * sizeof(float));
    be->download(be->ctx, tmp, src, (size_t)(N * H * D) * sizeof(float));
    be->upload(be->ctx, x, tmp, (size_t)(N * H * D) * sizeof(float));
    free(tmp);
    SANA_OP_CALL(be, gemma_rope, x, N, H, D, pos0, 10000.0f);
    *n = N * H * D;
    return bo_result(be, x, *n);
}

/* Queries 5..N-1 over N keys (a cached prefix), 6 query heads on 2 kv heads, padding after 19. */
static float *run_attn(const sana_backend *be, bo_rng *r, int64_t *n, int64_t window, float cap, int eager)
{
    int64_t N = 27, q0 = 5, nq = N - q0, Hq = 6, Hkv = 2, D = 20;
    float *q = bo_in(be, r, nq * Hq * D, -2, 2), *k = bo_in(be, r, N * Hkv * D, -2, 2);
    float *v = bo_in(be, r, N * Hkv * D, -1, 1), *out = bo_out(be, nq * Hq * D);
    int32_t mask[27];
    for (int64_t j = 0; j < N; j++) mask[j] = j < 19;
    int32_t *dm = dev_i32(be, mask, N);
    SANA_OP_CALL(be, gemma_attention, out, q, k, v, dm, nq, q0, N, Hq, Hkv, D, 0.25f, cap, window, eager);
    float *res = bo_result(be, out, nq * Hq * D);
    be->free(be->ctx, dm);
    *n = nq * Hq * D;
    return res;
}
static float *run_attn_full_eager(const sana_backend *be, bo_rng *r, int64_t *n) { return run_attn(be, r, n, 0, 5.0f, 1); }
static float *run_attn_win_eager(const sana_backend *be, bo_rng *r, int64_t *n) { return run_attn(be, r, n, 4, 5.0f, 1); }
static float *run_attn_win_sdpa(const sana_backend *be, bo_rng *r, int64_t *n) { return run_attn(be, r, n, 4, 0.0f, 0); }

const bo_case bo_cases_gemma[] = {
    {"gemma_embed f32 29x67", SANA_OP_gemma_embed, run_embed_f32},
    {"gemma_embed bf16 29x67", SANA_OP_gemma_embed, run_embed_bf16},
    {"gemma_rms_norm 21x131", SANA_OP_gemma_rms_norm, run_norm_plain},
    {"gemma_rms_norm + residual 21x131", SANA_OP_gemma_rms_norm, run_norm_res},
    {"gemma_geglu 1037", SANA_OP_gemma_geglu, run_geglu},
    {"gemma_rope 23x3x34 from 7", SANA_OP_gemma_rope, run_rope},
    {"gemma_attention eager softcap full, cached prefix", SANA_OP_gemma_attention, run_attn_full_eager},
    {"gemma_attention eager softcap window 4 (empty rows)", SANA_OP_gemma_attention, run_attn_win_eager},
    {"gemma_attention sdpa window 4 (empty rows)", SANA_OP_gemma_attention, run_attn_win_sdpa},
    {0, 0, 0}
};
