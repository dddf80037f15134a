/* src/backend/ops/types.h -- the small constants that appear in op signatures (ops/<family>.def), shared
 * by the callers (model code, through backend.h) and the implementations (ref/, accel/). */
#ifndef SANA_OPS_TYPES_H
#define SANA_OPS_TYPES_H

#include "core/weight.h"

/* The activation of mlp2 (the hidden layer of a two-layer perceptron). */
enum { SANA_ACT_SILU = 0, SANA_ACT_GELU_TANH = 1 };

#endif
