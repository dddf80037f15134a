/* src/sampler/rng.h -- a random generator that reproduces torch.Generator("cpu").
 *
 * PyTorch's CPU generator is a 32-bit Mersenne Twister (MT19937) seeded the
 * classic way with the low 32 bits of the seed, plus a one-value cache for
 * the second output of the scalar Box-Muller transform. sana_randn() mirrors
 * torch.randn(n, generator=g, dtype=torch.float32) on a contiguous tensor:
 *
 *   n >= 16 (ATen normal_fill, the AVX2 build of it that x86-64 torch runs):
 *     1. n uniforms u[i] = (mt() & 0xffffff) / 2^24 in order;
 *     2. for each whole block of 16: for j < 8, with a = 1 - u[j] and
 *        b = u[j+8]:  x[j] = sqrt(-2 log a) cos(2 pi b),
 *                     x[j+8] = sqrt(-2 log a) sin(2 pi b)
 *        (log/sin/cos are the Cephes polynomials of avx_mathfun.h, in
 *        float32, so that results match torch to the last bit);
 *     3. when n % 16 != 0, 16 fresh uniforms overwrite x[n-16..n) and that
 *        last block is transformed again.
 *   n < 16 (ATen normal_distribution<double>, element by element):
 *     if a cached normal is held, use it and drop it; otherwise draw two
 *     53-bit uniforms u1, u2 (each from two 32-bit outputs, first one high),
 *     r = sqrt(-2 log1p(-u2)), return r cos(2 pi u1) and cache r sin(2 pi u1);
 *     the float32 result is the rounded double.
 *
 * manual_seed clears the cache. The cache outlives a call, exactly as in
 * torch (randn(3) leaves one value that the next small randn uses).
 *
 * diffusers: utils.torch_utils.randn_tensor draws the whole [B, C, H, W]
 * shape with one torch.randn call for a single generator; with a list of
 * generators it draws [1, C, H, W] from each in turn (sana_randn per image).
 */
#ifndef SANA_RNG_H
#define SANA_RNG_H

#include <stdint.h>

typedef struct sana_rng sana_rng;

/* torch.default_generator's seed at start-up (c10::detail::default_rng_seed_val). */
#define SANA_TORCH_DEFAULT_SEED 67280421310721ULL

/* A generator seeded with seed (torch.Generator("cpu").manual_seed(seed)); NULL when out of memory. */
sana_rng *sana_rng_new(uint64_t seed);
void sana_rng_free(sana_rng *g);
/* generator.manual_seed(seed): reseed and drop the cached normal. */
void sana_rng_seed(sana_rng *g, uint64_t seed);
/* The seed last given. */
uint64_t sana_rng_initial_seed(const sana_rng *g);

/* One raw 32-bit output of the Mersenne Twister (torch: generator->random()). */
uint32_t sana_rng_u32(sana_rng *g);
/* torch.randn(n, generator=g, dtype=torch.float32) into out[0..n). n <= 0 draws nothing. */
void sana_randn(sana_rng *g, float *out, int64_t n);
/* torch.rand(n, generator=g, dtype=torch.float32): uniforms in [0, 1) with 24 random bits. */
void sana_rand(sana_rng *g, float *out, int64_t n);

#endif
