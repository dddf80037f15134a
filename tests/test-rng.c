/* tests/test-rng.c -- sana_randn against torch.randn with torch.Generator("cpu").manual_seed(seed).
 *
 * golden/sampler/rng.safetensors (golden/dump_samplers.py): seeds x shapes (large, 16-multiples,
 * tails, below 16), sequences of draws on one generator (the cached Box-Muller value), diffusers'
 * randn_tensor with one generator over a batch and with a list of generators.
 * Also checks the raw MT19937 stream against the reference values of the algorithm.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <json-c/json.h>
#include "golden.h"
#include "sampler/rng.h"

static void check_mt(void)
{
    /* MT19937 seeded 5489 (the classic default): output 1 is 3499211612, output 10000 is 4123659995. */
    sana_rng *g = sana_rng_new(5489);
    uint32_t first = sana_rng_u32(g), v = first;
    for (int i = 1; i < 10000; i++) v = sana_rng_u32(g);
    if (first != 3499211612u || v != 4123659995u)
        golden_fail("mt19937(5489): outputs 1 and 10000 are %u and %u, want 3499211612 and 4123659995", first, v);
    else
        printf("ok    mt19937(5489) outputs 1 and 10000\n");
    /* manual_seed resets the stream and the cached normal. */
    float a[3], b[3];
    sana_rng_seed(g, 77); sana_randn(g, a, 3);
    sana_rng_seed(g, 77); sana_randn(g, b, 3);
    if (memcmp(a, b, sizeof a) != 0) golden_fail("reseeding does not restart the stream");
    if (sana_rng_initial_seed(g) != 77) golden_fail("initial_seed");
    sana_rng_free(g);
}

int main(void)
{
    check_mt();
    golden *g = golden_open("sampler/rng.safetensors");
    const char *meta = golden_meta(g, "cases");
    json_object *cases = meta ? json_tokener_parse(meta) : NULL;
    if (!cases || !json_object_is_type(cases, json_type_array)) {
        golden_fail("rng golden: no \"cases\" metadata");
        golden_close(g);
        return golden_exit();
    }
    for (size_t c = 0; c < json_object_array_length(cases); c++) {
        json_object *cs = json_object_array_get_idx(cases, c), *v;
        const char *name = json_object_get_string(json_object_object_get(cs, "name"));
        json_object *sizes = json_object_object_get(cs, "sizes");
        int64_t total = 0;
        for (size_t k = 0; k < json_object_array_length(sizes); k++)
            total += json_object_get_int64(json_object_array_get_idx(sizes, k));
        float *got = malloc((size_t)total * sizeof(float));
        if (json_object_object_get_ex(cs, "seeds_per_image", &v)) {
            /* randn_tensor with a list of generators: one draw of one image from each. */
            int64_t off = 0;
            for (size_t k = 0; k < json_object_array_length(v); k++) {
                int64_t n = json_object_get_int64(json_object_array_get_idx(sizes, k));
                sana_rng *r = sana_rng_new((uint64_t)json_object_get_int64(json_object_array_get_idx(v, k)));
                sana_randn(r, got + off, n);
                sana_rng_free(r);
                off += n;
            }
        } else {
            sana_rng *r = sana_rng_new((uint64_t)json_object_get_int64(json_object_object_get(cs, "seed")));
            int64_t off = 0;
            for (size_t k = 0; k < json_object_array_length(sizes); k++) {
                int64_t n = json_object_get_int64(json_object_array_get_idx(sizes, k));
                sana_randn(r, got + off, n);
                off += n;
            }
            sana_rng_free(r);
        }
        golden_check(g, name, got, total, name, "rng_randn");
        free(got);
    }
    json_object_put(cases);
    golden_close(g);
    return golden_exit();
}
