/* src/pipeline/pipeline.h -- internals of the SANA pipelines shared by the library and the command.
 *
 * The public API is in sana.h. This header adds what the `sana` command and the tests need
 * beyond it: the loaded components, PAG layer matching, and the diffusers checks.
 */
#ifndef SANA_PIPELINE_H
#define SANA_PIPELINE_H

#include <stdint.h>
#include "sana.h"
#include "core/status.h"
#include "core/json.h"

/* Limits of height and width (pixels). diffusers only asks for multiples of 32; the upper bound
 * keeps sizes far from integer overflow and above the largest published model (4096 px). */
#define SANA_MIN_SIZE 32
#define SANA_MAX_SIZE 16384
/* diffusers' check_inputs: height and width must be divisible by 32 (pipeline_sana.py). */
#define SANA_SIZE_MULTIPLE 32
#define SANA_MAX_IMAGES 64

/* Resolve the PAG layer patterns (comma-separated) to block indices the way diffusers'
 * PAGMixin._set_pag_attn_processor does: each pattern is a regular expression searched in the
 * self-attention module names "transformer_blocks.<i>.attn1", except a "fake integral match"
 * (pattern and name both ending in numbers that differ). A pattern that matches nothing is an
 * error. layers receives a sorted set of indices (at most num_layers); *n its count. */
sana_status sana_pag_layers(const char *patterns, int num_layers, int *layers, int *n);

/* Validate the size arguments (multiple of 32, range) with one message each. */
sana_status sana_check_size(int height, int width);

/* The text of the tEXt "parameters" chunk of an image (malloc'd), in the A1111 format:
 *   prompt\nNegative prompt: neg\nSteps: N, Sampler: S, CFG scale: G, Seed: N, Size: WxH, Model: M */
char *sana_format_parameters(const char *prompt, const char *negative, int steps, const char *sampler,
                             double cfg, uint64_t seed, int width, int height, const char *model,
                             const char *extra);

/* The A1111 name of a sampler kind ("dpm" -> "DPM++ 2M", "euler" -> "Euler", "scm" -> "SCM"). */
const char *sana_sampler_display_name(const char *kind);

/* The tokenizer of a loaded pipeline (for `sana tokenize`), loading it when needed. */
struct sana_tokenizer;
sana_status sana_pipeline_tokenizer(sana_pipeline *p, const struct sana_tokenizer **out);

#endif
