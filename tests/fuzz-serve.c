/* tests/fuzz-serve.c -- libFuzzer target of the request parser of `sana serve` (src/server/request.c):
 * any bytes as the body of either API (the first byte picks it) must give a srv_gen or a message, never
 * a crash, a leak or undefined behaviour; an accepted request must hold what the checks promise.
 * Built with ./configure CC=clang --enable-fuzz; run with make fuzz-serve FUZZ_SECONDS=N. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sana.h"
#include "server/server.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1) return 0;
    srv_api api = data[0] & 1 ? SRV_API_A1111 : SRV_API_OPENAI;
    srv_gen g;
    char err[512];
    if (srv_request_parse(api, (const char *)data + 1, size - 1, &g, err, sizeof err) != 0) {
        if (!memchr(err, 0, sizeof err)) abort();
        return 0;
    }
    if (!g.prompt || strlen(g.prompt) > SRV_MAX_PROMPT || !sana_utf8_valid(g.prompt)) abort();
    if (g.n < 1 || g.n > SRV_MAX_IMAGES || g.steps < 0 || g.steps > SRV_MAX_STEPS) abort();
    if (g.width % SANA_SIZE_MULTIPLE || g.width > SRV_MAX_SIDE || (g.width == 0) != (g.height == 0)) abort();
    srv_gen_free(&g);
    return 0;
}
