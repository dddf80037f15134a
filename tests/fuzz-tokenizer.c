/* tests/fuzz-tokenizer.c -- libFuzzer target: tokenizer.json loading + tokenizing.
 *
 * Input layout: [json text] 0x00 [prompt bytes]. The JSON part goes to
 * sana_tokenizer_load_mem; when it loads, the prompt part (any bytes, so also
 * invalid UTF-8) is tokenized plain, padded to a few lengths, and decoded.
 * Build: ./configure CC=clang --enable-fuzz && make tests/fuzz-tokenizer;
 * run: make fuzz-tokenizer FUZZ_SECONDS=60 (seeds in tests/fuzz-seeds/tokenizer).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "text/tokenizer.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void quiet(const char *msg, void *ud) { (void)msg; (void)ud; }

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const uint8_t *nul = memchr(data, 0, size);
    size_t jlen = nul ? (size_t)(nul - data) : size;
    const char *prompt = nul ? (const char *)nul + 1 : "";
    size_t plen = nul ? size - jlen - 1 : 0;
    sana_tokenizer *t;
    sana_tokenizer_set_warn(quiet, NULL);
    if (sana_tokenizer_load_mem(&t, (const char *)data, jlen, "fuzz/tokenizer.json") != SANA_OK) return 0;
    int32_t *ids;
    int n;
    if (sana_tokenize(t, prompt, plen, 1, &ids, &n) == SANA_OK) {
        char *s = sana_detokenize(t, ids, n, 0);
        free(s);
        s = sana_detokenize(t, ids, n, 1);
        free(s);
        free(ids);
    }
    static const int lens[] = {1, 2, 7, 64};
    for (int k = 0; k < 4; k++) {
        int32_t pid[64], pm[64];
        int dropped;
        (void)sana_tokenize_padded(t, prompt, plen, lens[k], pid, pm, &dropped);
    }
    sana_tokenizer_free(t);
    return 0;
}
