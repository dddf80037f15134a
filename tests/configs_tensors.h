/* tests/configs_tensors.h -- for tests/test-configs.c: the tensors (names, shapes) that diffusers' and
 * transformers' module trees hold for a SANA config, derived here from their __init__ code and not from
 * src/models/, and a writer of sparse safetensors files (a header and a hole) holding them. */
#ifndef SANA_TESTS_CONFIGS_TENSORS_H
#define SANA_TESTS_CONFIGS_TENSORS_H

#include <stddef.h>
#include <stdint.h>

/* A growing string (bput appends printf-style; exits 99 when out of memory). */
typedef struct { char *s; size_t n, cap; } buf;
void bput(buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

typedef struct { char name[128]; int nd; int64_t shape[4]; } tdesc;
typedef struct { tdesc *t; int n, cap; } tlist;

/* What tells the published SanaTransformer2DModel configs apart (the rest is shared: 32 channels, head_dim
 * 32, caption 2304, mlp_ratio 2.5, patch 1, no attention bias, no norm2 affine). */
typedef struct {
    int64_t num_layers, num_attention_heads, num_cross_attention_heads, cross_attention_head_dim;
    int qk_norm, guidance_embeds;
} dit_arch;

/* SanaTransformer2DModel (diffusers 0.35.2) for a. */
void dit_tensors(tlist *l, const dit_arch *a);
/* AutoencoderDC of SANA (dc-ae-f32c32-sana-1.0 / 1.1). */
void dcae_tensors(tlist *l);
/* transformers' Gemma2Model of gemma-2-2b. */
void gemma2_tensors(tlist *l);
/* Write l as a safetensors file of dtype ("F32" / "BF16", esize bytes) whose data area is a hole (ftruncate:
 * no data written, zeros when read); exits 99 when it cannot. Returns the parameter count. */
int64_t write_sparse_safetensors(const char *path, const tlist *l, const char *dtype, int esize);

#endif
