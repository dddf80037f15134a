/* accel/cpu/backend_cpu.c -- the cpu backend's table: memory, weights, threads, errors, and the
 * families of kernels (see cpu.h).
 *
 * Weights (prepare_weight, once at load): 16-bit (F16, BF16) weights become float32 so that every
 * op reads them straight (sgemm, no per-call conversion): twice their file size, reported in
 * *bytes. With SANA_PREP_COMPACT (the text encoder, read once per prompt) they stay in their file
 * dtype and cpu_linear reads them as they are. F32 weights alias the mapped file (bytes 0) when
 * 4-byte aligned, else they are copied. The matrices of linear and glumbconv_tokens (the DiT's)
 * in F32, F16 or BF16 are instead packed for oneDNN's float32 matmul (cpu_pack.h) where it is built
 * and has a brgemm kernel (not with SANA_PREP_MAPPED, nor SANA_CPU_PACK_F32=0, nor with fusion
 * off: ref's unfused sequence reads plain matrices). Q8 weights (quantized at load or read from a
 * quantized file) of linear and GLUMBConv are packed for its int8 matmul; Q4 and other dtypes
 * alias as they are (Q4: dequantized into sgemm panels by the ops).
 */
#include "config.h"
#include "accel/cpu/cpu.h"
#include "accel/cpu/cpu_kern.h"
#include "accel/cpu/cpu_pack.h"

#ifdef SANA_HAVE_AVX2_KERNELS
#include <cpuid.h>
#endif
#include <stdlib.h>
#include <string.h>

static cpu_ctx cpu;

#ifdef SANA_HAVE_AVX2_KERNELS
/* AVX2 + FMA (the CPU and the OS, through __builtin_cpu_supports) and F16C (CPUID.1:ECX bit 29;
 * clang 14's __builtin_cpu_supports does not know "f16c"). */
static int cpu_has_avx2_fma_f16c(void)
{
    unsigned a, b, c, d;
    if (!__builtin_cpu_supports("avx2") || !__builtin_cpu_supports("fma")) return 0;
    return __get_cpuid(1, &a, &b, &c, &d) && (c & (1u << 29));
}
#endif

void cpu_fail(cpu_ctx *c, sana_status st)
{
    if (c->error == SANA_OK) c->error = st;
}

/* Activations are 64-byte aligned host buffers, as ref's. */
static void *cpu_alloc(void *ctx, size_t n)
{
    (void)ctx;
    size_t sz = (n + 63) / 64 * 64;
    return aligned_alloc(64, sz ? sz : 64);
}
static void cpu_free(void *ctx, void *p) { (void)ctx; free(p); }
static void cpu_copy(void *ctx, void *dst, const void *src, size_t n) { (void)ctx; if (n && dst != src) memmove(dst, src, n); }

static sana_status cpu_sync(void *ctx)
{
    cpu_ctx *c = ctx;
    sana_status st = c->error;
    c->error = SANA_OK;
    return st;
}

/* Every kernel of this backend reads float32 weights, and F16 / BF16 / Q8 / Q4 ones through the same
 * converters as ref (cpu_linear: natively, the others by a converted copy); other dtypes run on ref.
 * PACKED (int8 or float32 for oneDNN): linear and the two glumbconv ops only. */
static int cpu_supports(void *ctx, sana_op op, sana_dtype wdtype)
{
    const cpu_ctx *c = ctx;
    if ((unsigned)op >= SANA_OP_COUNT || !c->has[op]) return 0;
    if (wdtype == SANA_PACKED) return op == SANA_OP_linear || op == SANA_OP_glumbconv || op == SANA_OP_glumbconv_tokens;
    return wdtype == SANA_F32 || wdtype == SANA_F16 || wdtype == SANA_BF16 || wdtype == SANA_Q8 || wdtype == SANA_Q4;
}

/* linear on 16-bit weights with AVX2 is one FMA chain per output element (cpu_linear16_avx2); sgemm
 * (float32 weights, and the portable panels) and oneDNN's int8 make no such promise. */
static int cpu_row_exact(void *ctx, sana_op op, sana_dtype wdtype)
{
    const cpu_ctx *c = ctx;
    return op == SANA_OP_linear && c->avx2 && (wdtype == SANA_F16 || wdtype == SANA_BF16);
}

/* ---- weights ---- */

/* The buffers prepare_weight allocated (release_weight frees only those; aliases stay mapped). */
static struct {
    const void **p;
    size_t n, cap;
} owned;

static int own_add(const void *p)
{
    int ok = 1;
#pragma omp critical(cpu_weights)
    {
        if (owned.n == owned.cap) {
            size_t cap = owned.cap ? 2 * owned.cap : 256;
            const void **np = realloc(owned.p, cap * sizeof *np);
            if (np) owned.p = np, owned.cap = cap;
        }
        if (owned.n < owned.cap) owned.p[owned.n++] = p;
        else ok = 0;
    }
    return ok;
}

static int own_remove(const void *p)
{
    int found = 0;
#pragma omp critical(cpu_weights)
    for (size_t i = owned.n; i-- > 0;)
        if (owned.p[i] == p) {
            owned.p[i] = owned.p[--owned.n];
            found = 1;
            break;
        }
    return found;
}

#ifdef SANA_HAVE_DNNL
/* A weight that is a matrix [N, K] of op `use`: a linear layer's, or a GLUMBConv 1x1 convolution's. */
static int is_matrix(const sana_wt *in, sana_op use)
{
    if (use == SANA_OP_linear) return in->ndim == 2;
    return (use == SANA_OP_glumbconv || use == SANA_OP_glumbconv_tokens) && in->ndim == 4 && in->shape[2] == 1 &&
           in->shape[3] == 1;
}

/* in (F32, F16 or BF16) packed for the float32 matmul (SANA_ERR_UNSUPPORTED: not here), through a
 * float32 copy when it is not float32 already. */
static sana_status pack_f32(const cpu_ctx *c, const sana_wt *in, sana_wt *out, size_t *bytes)
{
    if (in->dtype == SANA_F32 && (uintptr_t)in->data % sizeof(float) == 0)
        return cpu_pack_f32(in, (const float *)in->data, out, bytes);
    const int64_t n = sana_wt_numel(in);
    float *f = aligned_alloc(64, ((size_t)(n > 0 ? n : 1) * sizeof(float) + 63) / 64 * 64);
    if (!f) return SANA_ERR_UNSUPPORTED; /* the plain float32 copy below says it */
    if (in->dtype == SANA_F32) memcpy(f, in->data, (size_t)n * sizeof(float));
    else cpu_convert16(c, f, in->data, in->dtype, n);
    sana_status st = cpu_pack_f32(in, f, out, bytes);
    free(f);
    return st;
}
#endif

static sana_status cpu_prepare_weight(void *ctx, const sana_wt *in, sana_op use, unsigned flags, sana_wt *out,
                                      size_t *bytes)
{
    const cpu_ctx *c = ctx;
    *out = *in;
    *bytes = 0;
#ifdef SANA_HAVE_DNNL
    if (in->dtype == SANA_Q8 && is_matrix(in, use) && c->int8) {
        sana_status st = cpu_pack_q8(in, out, bytes);
        if (st != SANA_ERR_UNSUPPORTED) return st;
        *out = *in; /* this shape does not run on oneDNN here: dequantized panels */
    }
    const int fl = in->dtype == SANA_F32 || in->dtype == SANA_F16 || in->dtype == SANA_BF16;
    if (fl && c->pack32 && !(flags & (SANA_PREP_COMPACT | SANA_PREP_MAPPED)) &&
        (use == SANA_OP_linear || use == SANA_OP_glumbconv_tokens) && is_matrix(in, use)) {
        sana_status st = pack_f32(c, in, out, bytes);
        if (st != SANA_ERR_UNSUPPORTED) return st;
        *out = *in; /* no brgemm kernel here: a plain float32 matrix for sgemm */
    }
#endif
    if (in->dtype == SANA_Q8 || in->dtype == SANA_Q4) return SANA_OK;
    const int is16 = in->dtype == SANA_F16 || in->dtype == SANA_BF16;
    const int aligned32 = in->dtype == SANA_F32 && (uintptr_t)in->data % sizeof(float) == 0;
    if ((is16 && (flags & SANA_PREP_COMPACT)) || (!is16 && in->dtype != SANA_F32) || aligned32) return SANA_OK;
    const int64_t n = sana_wt_numel(in);
    const size_t sz = ((size_t)(n > 0 ? n : 1) * sizeof(float) + 63) / 64 * 64;
    float *f = aligned_alloc(64, sz);
    if (!f || !own_add(f)) {
        free(f);
        return sana_err(SANA_ERR_NOMEM, "cpu backend: cannot allocate %.1f MiB for a float32 copy of a weight",
                        (double)sz / 1048576.0);
    }
    if (is16) cpu_convert16(c, f, in->data, in->dtype, n);
    else memcpy(f, in->data, (size_t)n * sizeof(float));
    out->data = f;
    out->dtype = SANA_F32;
    *bytes = (size_t)n * sizeof(float);
    return SANA_OK;
}

static void cpu_release_weight(void *ctx, sana_wt *w)
{
    (void)ctx;
#ifdef SANA_HAVE_DNNL
    if (w && w->dtype == SANA_PACKED) {
        cpu_pack_release(w);
        return;
    }
#endif
    if (w && w->data && own_remove(w->data)) {
        free((void *)w->data);
        w->data = NULL;
    }
}

static void cpu_set_threads(void *ctx, int n)
{
    cpu_ctx *c = ctx;
    c->threads = n > 0 ? n : 0;
    sana_backend_ref()->set_threads(NULL, n); /* the same OpenMP pool and OpenBLAS */
}

static sana_backend cpu_backend;
static int cpu_ready;

const sana_backend *sana_backend_cpu(void)
{
    if (cpu_ready) return &cpu_backend;
    const sana_backend *ref = sana_backend_ref();
    sana_backend *be = &cpu_backend;
    *be = *ref; /* every slot starts as ref's; the families below take theirs over */
    be->name = "cpu";
    be->description = "tuned CPU kernels (OpenMP, OpenBLAS" ", AVX2 when the CPU has it); ref for the rest";
    be->ctx = &cpu;
    be->alloc = cpu_alloc;
    be->free = cpu_free;
    be->upload = cpu_copy;
    be->download = cpu_copy;
    be->copy = cpu_copy;
    be->synchronize = cpu_sync;
    be->supports_op = cpu_supports;
    be->row_exact = cpu_row_exact;
    be->set_threads = cpu_set_threads;
    be->prepare_weight = cpu_prepare_weight;
    be->release_weight = cpu_release_weight;
    const char *f = getenv("SANA_CPU_FUSION");
    cpu.fusion = !(f && !strcmp(f, "0"));
    const char *i8 = getenv("SANA_CPU_INT8");
    cpu.int8 = !(i8 && !strcmp(i8, "0"));
    const char *p32 = getenv("SANA_CPU_PACK_F32");
    cpu.pack32 = cpu.fusion && !(p32 && !strcmp(p32, "0"));
#ifdef SANA_HAVE_AVX2_KERNELS
    cpu.avx2 = cpu_has_avx2_fma_f16c();
#endif
    cpu_fill_core(be, &cpu);
    cpu_fill_conv(be, &cpu);
    cpu_fill_dit(be, &cpu);
    cpu_fill_dcae(be, &cpu);
    cpu_fill_gemma(be, &cpu);
    cpu_ready = 1;
    return be;
}
