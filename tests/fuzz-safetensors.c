/*
 * tests/fuzz-safetensors.c -- libFuzzer target for the safetensors header parser.
 * Build: ./configure CC=clang --enable-fuzz && make fuzz FUZZ_SECONDS=60
 * Any input must give SANA_OK or an error status, never a crash, leak or
 * out-of-bounds read; on SANA_OK every tensor's bytes are read once.
 */
#include "io/safetensors.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    void *copy = malloc(size ? size : 1);
    memcpy(copy, data, size);
    sana_st_file *f = NULL;
    if (sana_st_open_mem(&f, copy, size, 1, "fuzz") == SANA_OK) {
        volatile unsigned sum = 0;
        for (int i = 0; i < f->ntensors; i++) {
            const unsigned char *p = f->tensors[i].wt.data;
            for (size_t k = 0; k < f->tensors[i].nbytes; k++) sum += p[k];
            float tmp[4];
            int64_t n = sana_wt_numel(&f->tensors[i].wt);
            sana_convert_f32(tmp, p, f->tensors[i].wt.dtype, 0, n < 4 ? n : 4);
        }
        (void)sum;
        sana_st_close(f);
    }
    return 0;
}
