/* accel/cpu/cpu_dnnl.c -- dense convolutions of the cpu backend through oneDNN (Debian libdnnl-dev,
 * built only when configure finds it: SANA_HAVE_DNNL). See cpu_conv.h for the contract.
 *
 * oneDNN runs convolutions in its blocked layouts (nChw8c / nChw16c, with weights to match): its
 * direct kernels (brgconv on AVX-512, jit on AVX2) and, on AVX-512, Winograd F(4x4, 3x3). Large
 * images run in bands of output rows (BAND_FLOATS), so the extra memory stays bounded. A plan per
 * band shape (the primitive and the reorders from and to the strided NCHW band) is made once and
 * kept in a small table; the blocked copies of the input, the weights and the output and oneDNN's scratchpad live
 * in four buffers that grow to the largest shape seen (user scratchpad mode: one for all plans).
 * Everything is released at exit. Measured on the DC-AE decoder's shapes: doc/dcae.md.
 */
#include "config.h"
#include "accel/cpu/cpu_conv.h"
#include "accel/cpu/cpu_dnnl.h"

#include <dnnl.h>
#include <stdlib.h>
#include <string.h>

#define PLANS 64
/* Output rows per band: a band's input and output hold at most this many floats each, which bounds
 * the blocked copies and the Winograd scratchpad (~2.25 x input + output) at any image size. */
#define BAND_FLOATS ((int64_t)1 << 23)

/* A plan's key: the band's shape and where it lies in the whole image. */
enum { K_B, K_CIN, K_H, K_W, K_COUT, K_KH, K_KW, K_S, K_P, K_PT, K_PB, K_HS, K_HOS, K_WINO, K_BIAS, K_N };
/* K_H: input rows of the band; K_PT, K_PB: zero rows above and below it; K_P: padding of the
 * columns; K_HS, K_HOS: rows of the whole input and output (their strides). */

typedef struct {
    int64_t key[K_N];
    int used;
    dnnl_primitive_t conv, r_src, r_w, r_dst; /* a reorder is NULL when the layouts already agree */
    dnnl_memory_desc_t u_src, u_w, u_b, u_dst, src, w, dst, scratch;
} plan;

static struct {
    int ready, broken, wino;
    dnnl_engine_t eng;
    dnnl_stream_t strm;
    plan plans[PLANS];
    int next;
    void *buf[4];
    size_t cap[4];
} D;

static void plan_free(plan *p)
{
    dnnl_primitive_t *pr[4] = {&p->conv, &p->r_src, &p->r_w, &p->r_dst};
    for (int i = 0; i < 4; i++)
        if (*pr[i]) dnnl_primitive_destroy(*pr[i]);
    memset(p, 0, sizeof *p);
}

static void dnnl_cleanup(void)
{
    for (int i = 0; i < PLANS; i++) plan_free(&D.plans[i]);
    for (int i = 0; i < 4; i++) free(D.buf[i]);
    if (D.strm) dnnl_stream_destroy(D.strm);
    if (D.eng) dnnl_engine_destroy(D.eng);
    memset(&D, 0, sizeof D);
    D.broken = 1; /* no use after exit began */
}

static int dnnl_start(void)
{
    if (D.ready || D.broken) return D.ready;
    if (dnnl_engine_create(&D.eng, dnnl_cpu, 0) != dnnl_success ||
        dnnl_stream_create(&D.strm, D.eng, dnnl_stream_default_flags) != dnnl_success) {
        D.broken = 1;
        return 0;
    }
    const char *e = getenv("SANA_CPU_WINOGRAD");
    D.wino = !(e && !strcmp(e, "0"));
    atexit(dnnl_cleanup);
    D.ready = 1;
    return 1;
}

/* A reorder from a to b, or NULL when they are the same layout (or on failure: *ok = 0). */
static dnnl_primitive_t reorder(const dnnl_memory_desc_t *a, const dnnl_memory_desc_t *b, int *ok)
{
    if (dnnl_memory_desc_equal(a, b)) return NULL;
    dnnl_primitive_desc_t pd;
    dnnl_primitive_t p = NULL;
    if (dnnl_reorder_primitive_desc_create(&pd, a, D.eng, b, D.eng, NULL) != dnnl_success) {
        *ok = 0;
        return NULL;
    }
    if (dnnl_primitive_create(&p, pd) != dnnl_success) *ok = 0;
    dnnl_primitive_desc_destroy(pd);
    return p;
}

dnnl_status_t cpu_dnnl_pd_user_scratchpad(dnnl_primitive_desc_t *pd, const_dnnl_op_desc_t op_desc,
                                          dnnl_engine_t eng)
{
    dnnl_primitive_attr_t attr;
    dnnl_status_t rc = dnnl_primitive_attr_create(&attr);
    if (rc != dnnl_success) return rc;
    rc = dnnl_primitive_attr_set_scratchpad_mode(attr, dnnl_scratchpad_mode_user);
    if (rc == dnnl_success) rc = dnnl_primitive_desc_create(pd, op_desc, attr, eng, NULL);
    dnnl_primitive_attr_destroy(attr);
    return rc;
}

/* The convolution primitive of algorithm alg for p's shapes, with the layouts it chooses. */
static int plan_conv(plan *p, dnnl_alg_kind_t alg, const int64_t *k)
{
    dnnl_memory_desc_t s_any, w_any, d_any;
    if (dnnl_memory_desc_init_by_tag(&s_any, 4, p->u_src.dims, dnnl_f32, dnnl_format_tag_any) ||
        dnnl_memory_desc_init_by_tag(&w_any, 4, p->u_w.dims, dnnl_f32, dnnl_format_tag_any) ||
        dnnl_memory_desc_init_by_tag(&d_any, 4, p->u_dst.dims, dnnl_f32, dnnl_format_tag_any))
        return 0;
    dnnl_dims_t st = {k[K_S], k[K_S]}, pl = {k[K_PT], k[K_P]}, pr = {k[K_PB], k[K_P]};
    dnnl_convolution_desc_t cd;
    if (dnnl_convolution_forward_desc_init(&cd, dnnl_forward_inference, alg, &s_any, &w_any, k[K_BIAS] ? &p->u_b : NULL,
                                           &d_any, st, pl, pr) != dnnl_success)
        return 0;
    /* the scratchpad is ours (buffer 3, shared by all plans), not one per primitive */
    dnnl_primitive_desc_t pd;
    if (cpu_dnnl_pd_user_scratchpad(&pd, &cd, D.eng) != dnnl_success) return 0;
    p->scratch = *dnnl_primitive_desc_query_md(pd, dnnl_query_scratchpad_md, 0);
    p->src = *dnnl_primitive_desc_query_md(pd, dnnl_query_src_md, 0);
    p->w = *dnnl_primitive_desc_query_md(pd, dnnl_query_weights_md, 0);
    p->dst = *dnnl_primitive_desc_query_md(pd, dnnl_query_dst_md, 0);
    int ok = dnnl_primitive_create(&p->conv, pd) == dnnl_success;
    dnnl_primitive_desc_destroy(pd);
    return ok;
}

/* Make the plan for key k into p (user memory: a band of rows of NCHW tensors); 0 on failure. */
static int plan_make(plan *p, const int64_t *k)
{
    int64_t Hob = (k[K_H] + k[K_PT] + k[K_PB] - k[K_KH]) / k[K_S] + 1, Wo = (k[K_W] + 2 * k[K_P] - k[K_KW]) / k[K_S] + 1;
    dnnl_dims_t sd = {k[K_B], k[K_CIN], k[K_H], k[K_W]}, wd = {k[K_COUT], k[K_CIN], k[K_KH], k[K_KW]}, bd = {k[K_COUT]};
    dnnl_dims_t dd = {k[K_B], k[K_COUT], Hob, Wo};
    dnnl_dims_t ss = {k[K_CIN] * k[K_HS] * k[K_W], k[K_HS] * k[K_W], k[K_W], 1};
    dnnl_dims_t ds = {k[K_COUT] * k[K_HOS] * Wo, k[K_HOS] * Wo, Wo, 1};
    memcpy(p->key, k, sizeof p->key);
    if (dnnl_memory_desc_init_by_strides(&p->u_src, 4, sd, dnnl_f32, ss) ||
        dnnl_memory_desc_init_by_tag(&p->u_w, 4, wd, dnnl_f32, dnnl_oihw) ||
        dnnl_memory_desc_init_by_tag(&p->u_b, 1, bd, dnnl_f32, dnnl_x) ||
        dnnl_memory_desc_init_by_strides(&p->u_dst, 4, dd, dnnl_f32, ds))
        return 0;
    /* Winograd where it is built (oneDNN's AVX-512 kernels) and asked for; else direct */
    if (!(k[K_WINO] && plan_conv(p, dnnl_convolution_winograd, k)) && !plan_conv(p, dnnl_convolution_direct, k))
        return 0;
    int ok = 1;
    p->r_src = reorder(&p->u_src, &p->src, &ok);
    p->r_w = reorder(&p->u_w, &p->w, &ok);
    p->r_dst = reorder(&p->dst, &p->u_dst, &ok);
    p->used = ok;
    return ok;
}

static plan *plan_get(const int64_t *k)
{
    for (int i = 0; i < PLANS; i++)
        if (D.plans[i].used && !memcmp(D.plans[i].key, k, sizeof D.plans[i].key)) return &D.plans[i];
    plan *p = &D.plans[D.next];
    D.next = (D.next + 1) % PLANS; /* replace round robin */
    plan_free(p);
    if (plan_make(p, k)) return p;
    plan_free(p);
    return NULL;
}

/* Buffer i of at least n bytes (kept); NULL on out of memory. */
static void *buf(int i, size_t n)
{
    if (n <= D.cap[i]) return D.buf[i];
    free(D.buf[i]);
    D.cap[i] = 0;
    D.buf[i] = aligned_alloc(64, (n + 63) / 64 * 64);
    if (D.buf[i]) D.cap[i] = n;
    return D.buf[i];
}

/* A memory object of md over data (user memory: not owned). */
static dnnl_memory_t mem(const dnnl_memory_desc_t *md, void *data)
{
    dnnl_memory_t m = NULL;
    return dnnl_memory_create(&m, md, D.eng, data) == dnnl_success ? m : NULL;
}

static int run_reorder(dnnl_primitive_t r, dnnl_memory_t from, dnnl_memory_t to)
{
    dnnl_exec_arg_t a[2] = {{DNNL_ARG_FROM, from}, {DNNL_ARG_TO, to}};
    return dnnl_primitive_execute(r, D.strm, 2, a) == dnnl_success;
}

/* Run plan p on one band: reorder x into the blocked buffer (and w, unless buffer 1 already holds
 * it in that layout: *wok and *wmd), convolve, reorder back into y. 1: done, 0: failed, -1: out of
 * memory. */
static int plan_run(const plan *p, float *y, const float *x, const float *w, const float *bias, dnnl_memory_desc_t *wmd,
                    int *wok)
{
    void *bs = p->r_src ? buf(0, dnnl_memory_desc_get_size(&p->src)) : (void *)x;
    void *bw = p->r_w ? buf(1, dnnl_memory_desc_get_size(&p->w)) : (void *)w;
    void *bd = p->r_dst ? buf(2, dnnl_memory_desc_get_size(&p->dst)) : (void *)y;
    size_t nsc = dnnl_memory_desc_get_size(&p->scratch);
    void *bsc = nsc ? buf(3, nsc) : NULL;
    if (!bs || !bw || !bd || (nsc && !bsc)) return -1;
    dnnl_memory_t ms = mem(&p->u_src, (void *)x), mw = mem(&p->u_w, (void *)w), md = mem(&p->u_dst, y);
    dnnl_memory_t cs = mem(&p->src, bs), cw = mem(&p->w, bw), cd = mem(&p->dst, bd);
    dnnl_memory_t mb = bias ? mem(&p->u_b, (void *)bias) : NULL, msc = nsc ? mem(&p->scratch, bsc) : NULL;
    int ok = ms && mw && md && cs && cw && cd && (mb || !bias) && (msc || !nsc);
    if (ok && p->r_src) ok = run_reorder(p->r_src, ms, cs);
    if (ok && p->r_w && !(*wok && dnnl_memory_desc_equal(wmd, &p->w))) {
        ok = *wok = run_reorder(p->r_w, mw, cw);
        *wmd = p->w;
    }
    if (ok) {
        dnnl_exec_arg_t a[5] = {{DNNL_ARG_SRC, cs}, {DNNL_ARG_WEIGHTS, cw}, {DNNL_ARG_DST, cd}};
        int na = 3;
        if (msc) a[na++] = (dnnl_exec_arg_t){DNNL_ARG_SCRATCHPAD, msc};
        if (mb) a[na++] = (dnnl_exec_arg_t){DNNL_ARG_BIAS, mb};
        ok = dnnl_primitive_execute(p->conv, D.strm, na, a) == dnnl_success;
    }
    if (ok && p->r_dst) ok = run_reorder(p->r_dst, cd, md);
    if (ok) ok = dnnl_stream_wait(D.strm) == dnnl_success;
    dnnl_memory_t all[8] = {ms, mw, md, cs, cw, cd, mb, msc};
    for (int i = 0; i < 8; i++)
        if (all[i]) dnnl_memory_destroy(all[i]);
    return ok;
}

int cpu_dnnl_conv2d(float *y, const float *x, const float *w, const float *bias, int64_t B, int64_t Cin, int64_t H,
                    int64_t W, int64_t Cout, int64_t kh, int64_t kw, int64_t stride, int64_t pad)
{
    if (!dnnl_start()) return 0;
    int64_t Ho = (H + 2 * pad - kh) / stride + 1, Wo = (W + 2 * pad - kw) / stride + 1;
    int wino = D.wino && kh == 3 && kw == 3 && stride == 1 && Ho * Wo >= CPU_WINO_MIN_HW;
    int64_t cmax = Cin > Cout ? Cin : Cout, band = BAND_FLOATS / (B * Wo * cmax * stride) / 4 * 4;
    if (band < 4) band = 4;
    dnnl_memory_desc_t wmd; /* the layout of the blocked weights in buffer 1, when wok */
    int wok = 0;
    for (int64_t i0 = 0; i0 < Ho; i0 += band) {
        /* output rows [i0, i1) read input rows [i0*s - pad, (i1-1)*s - pad + kh), clipped to [0, H) */
        int64_t i1 = i0 + band < Ho ? i0 + band : Ho, lo = i0 * stride - pad, hi = (i1 - 1) * stride - pad + kh;
        int64_t r0 = lo > 0 ? lo : 0, r1 = hi < H ? hi : H;
        int64_t k[K_N] = {B, Cin, r1 - r0, W, Cout, kh, kw, stride, pad, r0 - lo, hi - r1, H, Ho, wino, bias != NULL};
        plan *p = plan_get(k);
        if (!p) return 0; /* the caller's portable path rewrites all of y */
        int r = plan_run(p, y + i0 * Wo, x + r0 * W, w, bias, &wmd, &wok);
        if (r <= 0) return r;
    }
    return 1;
}
