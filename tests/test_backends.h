/* tests/test_backends.h -- what the model and pipeline tests share to run on every backend. */
#ifndef SANA_TEST_BACKENDS_H
#define SANA_TEST_BACKENDS_H

#include <stdint.h>
#include "backend/backend.h"

/* 1 when backend name is in SANA_TEST_BACKENDS (a comma-separated list), or that is unset. */
int test_backend_wanted(const char *name);

/* How many output values of the backend's linear (random x [M, K], weight [N, K] of dtype dt) change
 * when rows are computed in other calls: the given chunks {offset, rows}, or (nc = 0) prefixes and
 * suffixes of several lengths. 0: the backend's linear is row-exact there. */
long test_linear_row_drift(const sana_backend *b, sana_dtype dt, int64_t K, int64_t N, int64_t M,
                           const int64_t (*chunks)[2], int nc);

#endif
