/* src/pipeline/pipeline.h -- internals of the SANA pipelines shared by the library's layers and the tests.
 *
 * The public API is in sana.h (the size limits SANA_MIN_SIZE, SANA_MAX_SIZE, SANA_SIZE_MULTIPLE and
 * SANA_MAX_IMAGES included). This header adds what src/api/ and the tests need beyond it: PAG layer
 * matching, the diffusers checks, and the tokenizer of a loaded pipeline.
 */
#ifndef SANA_PIPELINE_H
#define SANA_PIPELINE_H

#include <stdint.h>
#include "sana.h"
#include "core/status.h"
#include "core/json.h"

/* Resolve the PAG layer patterns (comma-separated) to block indices the way diffusers'
 * PAGMixin._set_pag_attn_processor does: each pattern is a regular expression searched in the
 * self-attention module names "transformer_blocks.<i>.attn1", except a "fake integral match"
 * (pattern and name both ending in numbers that differ). A pattern that matches nothing is an
 * error. layers receives a sorted set of indices (at most num_layers); *n its count. */
sana_status sana_pag_layers(const char *patterns, int num_layers, int *layers, int *n);

/* Validate the asked size with one message each: height and width between SANA_MIN_SIZE and
 * SANA_MAX_SIZE, and without resolution binning (binned = 0) multiples of SANA_SIZE_MULTIPLE. With
 * binning any size in range is accepted, as in diffusers, whose check_inputs runs on the binned size:
 * the image is generated at the bin (a multiple of 32) and resized back. */
sana_status sana_check_size(int height, int width, int binned);

/* The tokenizer of a loaded pipeline, loaded on first use. */
struct sana_tokenizer;
sana_status sana_pipeline_tokenizer(sana_pipeline *p, const struct sana_tokenizer **out);

#endif
