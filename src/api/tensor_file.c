/* src/api/tensor_file.c -- tensors of safetensors files for programs: read one as float32, write
 * float32/int64 tensors with metadata. Thin wrappers over io/safetensors.h. */
#include <stdlib.h>

#include "sana.h"
#include "core/status.h"
#include "core/weight.h"
#include "io/safetensors.h"

int sana_tensor_read_f32(const char *path, const char *name, float **data, int *ndim,
                         int64_t shape[SANA_TENSOR_MAX_DIMS])
{
    *data = NULL;
    *ndim = 0;
    sana_st_file *f = NULL;
    sana_status st = sana_st_open(&f, path);
    if (st != SANA_OK) return st;
    const sana_st_tensor *t = sana_st_find(f, name);
    if (!t) {
        sana_st_close(f);
        return sana_err(SANA_ERR_MISSING, "%s: no tensor \"%s\"", path, name);
    }
    int64_t n = sana_wt_numel(&t->wt);
    float *v = malloc(sizeof(float) * (size_t)(n > 0 ? n : 1));
    if (!v) {
        sana_st_close(f);
        return sana_err(SANA_ERR_NOMEM, "%s: out of memory reading tensor \"%s\"", path, name);
    }
    sana_convert_f32(v, t->wt.data, t->wt.dtype, 0, n);
    *ndim = t->wt.ndim;
    for (int i = 0; i < t->wt.ndim && i < SANA_TENSOR_MAX_DIMS; i++) shape[i] = t->wt.shape[i];
    *data = v;
    sana_st_close(f);
    return SANA_OK;
}

int sana_tensor_write(const char *path, const sana_tensor *t, int n, const char *const *meta_kv, int nmeta)
{
    if (n < 0 || n > 64) return sana_err(SANA_ERR_ARG, "%s: %d tensors to write (0 to 64)", path, n);
    sana_st_write_tensor w[64];
    for (int i = 0; i < n; i++) {
        if (t[i].ndim < 0 || t[i].ndim > SANA_TENSOR_MAX_DIMS || t[i].ndim > SANA_MAX_DIMS)
            return sana_err(SANA_ERR_ARG, "%s: tensor \"%s\" has %d dimensions", path, t[i].name, t[i].ndim);
        if (t[i].type != SANA_TENSOR_F32 && t[i].type != SANA_TENSOR_I64)
            return sana_err(SANA_ERR_ARG, "%s: tensor \"%s\" has an unknown type %d", path, t[i].name, (int)t[i].type);
        w[i].name = t[i].name;
        w[i].dtype = t[i].type == SANA_TENSOR_F32 ? SANA_F32 : SANA_I64;
        w[i].ndim = t[i].ndim;
        for (int d = 0; d < t[i].ndim; d++) w[i].shape[d] = t[i].shape[d];
        w[i].data = t[i].data;
    }
    return sana_st_write(path, w, n, meta_kv, nmeta);
}
