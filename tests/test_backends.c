/* tests/test_backends.c -- see test_backends.h. */
#include "test_backends.h"

#include <stdlib.h>
#include <string.h>

/* 1 when backend name is in SANA_TEST_BACKENDS (a comma-separated list), or that is unset. */
int test_backend_wanted(const char *name)
{
    const char *list = getenv("SANA_TEST_BACKENDS");
    size_t n = strlen(name);
    for (const char *s = list; s && *s;) {
        size_t len = strcspn(s, ",");
        if (len == n && !strncmp(s, name, n)) return 1;
        s += len + (s[len] == ',');
    }
    return !list || !*list;
}

/*
 * Values that change bits when rows of one linear call over M rows are computed again in calls of
 * fewer rows, for a weight [N, K] of dtype dt with random values: the chunks {row offset, rows}
 * given (nc of them), or without any the first and the last m rows for m = 1 .. 260 (M >= 300).
 * 0: this backend's linear is row-exact at that shape for those chunks. The cpu backend's 16-bit
 * kernel is (one FMA chain per output, any M); OpenBLAS's sgemm (ref, and float32 weights on cpu)
 * promises nothing: its bits for a row change with M and with the row's place in its tiles, by how
 * much depends on the kernels it picks for this CPU (doc/text-encoder.md).
 */
long test_linear_row_drift(const sana_backend *b, sana_dtype dt, int64_t K, int64_t N, int64_t M,
                           const int64_t (*chunks)[2], int nc)
{
    static const int64_t ms[] = {1, 2, 3, 5, 8, 13, 30, 64, 130, 240, 260};
    float *x = malloc((size_t)(M * K) * sizeof(float)), *wf = malloc((size_t)(N * K) * sizeof(float));
    float *y = malloc((size_t)(M * N) * sizeof(float)), *z = malloc((size_t)(M * N) * sizeof(float));
    uint16_t *wh = malloc((size_t)(N * K) * sizeof(uint16_t));
    uint32_t r = 12345;
    for (int64_t i = 0; i < M * K; i++) x[i] = (float)((r = r * 1664525u + 1013904223u) >> 8) / 16777216.0f - 0.5f;
    for (int64_t i = 0; i < N * K; i++) {
        float v = ((float)((r = r * 1664525u + 1013904223u) >> 8) / 16777216.0f - 0.5f) * 0.1f;
        wh[i] = dt == SANA_F16 ? sana_f32_to_f16(v) : sana_f32_to_bf16(v);
        wf[i] = dt == SANA_F16 ? sana_f16_to_f32(wh[i]) : dt == SANA_BF16 ? sana_bf16_to_f32(wh[i]) : v;
    }
    sana_wt w = {.data = dt == SANA_F32 ? (const void *)wf : (const void *)wh, .dtype = dt, .ndim = 2, .shape = {N, K}};
    long d = 0;
    SANA_OP_CALL(b, linear, y, x, &w, NULL, M, K, N);
    const int n = nc ? nc : 2 * (int)(sizeof ms / sizeof ms[0]);
    for (int i = 0; i < n; i++) {
        const int64_t rows = nc ? chunks[i][1] : ms[i / 2], off = nc ? chunks[i][0] : i % 2 ? M - rows : 0;
        SANA_OP_CALL(b, linear, z, x + off * K, &w, NULL, rows, K, N);
        for (int64_t j = 0; j < rows * N; j++) d += memcmp(&z[j], &y[off * N + j], sizeof(float)) != 0;
    }
    free(x); free(wf); free(y); free(z); free(wh);
    return d;
}
