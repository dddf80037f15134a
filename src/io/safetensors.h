/* src/io/safetensors.h -- the safetensors format over mmap, single files and sharded folders.
 *
 * Format: u64 little-endian header length N, N bytes of JSON
 *   {"name": {"dtype": "F32", "shape": [..], "data_offsets": [begin, end]}, ...,
 *    "__metadata__": {"key": "string", ...}}
 * then the data area; offsets are relative to the start of the data area.
 *
 * Every way a file can be broken is checked when it is opened: truncated
 * file, header length beyond the file, invalid JSON, unknown dtype, bad
 * shapes, shape product overflow, byte length that disagrees with the shape,
 * offsets outside the data area, overlapping tensors.
 */
#ifndef SANA_SAFETENSORS_H
#define SANA_SAFETENSORS_H

#include <stddef.h>
#include <stdint.h>
#include "core/status.h"
#include "core/weight.h"

typedef struct {
    char *name;
    sana_wt wt;           /* dtype, shape, data pointer into the mapping */
    size_t nbytes;
    uint64_t begin, end;  /* data_offsets as in the header */
} sana_st_tensor;

typedef struct {
    char *path;           /* for messages */
    void *map;            /* the mmap (or malloc'd buffer for in-memory/gz files) */
    size_t size;
    int mapped;           /* 1: munmap, 0: free, -1: borrowed from the caller */
    sana_st_tensor *tensors;
    int ntensors;
    char **meta_keys, **meta_vals;
    int nmeta;
} sana_st_file;

/* Open and validate a .safetensors file (mmap), or a .safetensors.gz file (inflated into memory). */
sana_status sana_st_open(sana_st_file **out, const char *path);
/* Validate a safetensors image held in memory; takes ownership of buf (free()d on close) when own=1.
 * `name` is used in messages. This is the parser the fuzz target drives. */
sana_status sana_st_open_mem(sana_st_file **out, void *buf, size_t size, int own, const char *name);
void sana_st_close(sana_st_file *f);
/* Tensor by name, NULL when absent (no message set). */
const sana_st_tensor *sana_st_find(const sana_st_file *f, const char *name);
/* __metadata__ value by key, NULL when absent. */
const char *sana_st_meta(const sana_st_file *f, const char *key);

/*
 * A set of safetensors files that together hold one component: a single file,
 * or the shards listed by an index.json ("weight_map").
 */
typedef struct {
    char *desc;            /* folder or file, for messages */
    sana_st_file **files;
    int nfiles;
} sana_st_set;

/*
 * Open a component folder the way diffusers/transformers do:
 *   DIR/BASE[.VARIANT].safetensors, or DIR/BASE[.VARIANT].safetensors.index.json with its shards.
 * BASE is "diffusion_pytorch_model" (diffusers) or "model" (transformers);
 * VARIANT is NULL, "fp16" or "bf16".
 */
sana_status sana_st_set_open(sana_st_set **out, const char *dir, const char *base, const char *variant);
/* A set over one file. */
sana_status sana_st_set_open_file(sana_st_set **out, const char *path);
void sana_st_set_close(sana_st_set *s);
/* Give the pages of the set's memory-mapped files back to the kernel (madvise MADV_DONTNEED): the
 * mappings are read-only, so nothing is lost, the set stays usable and a later read faults each page
 * in again from the page cache (or the file). For a model a phase has finished with; files held in
 * memory (inflated .gz, borrowed buffers) are left alone. */
void sana_st_set_release_pages(const sana_st_set *s);
/* Find a tensor in any file of the set; NULL when absent (no message set). */
const sana_st_tensor *sana_st_set_find(const sana_st_set *s, const char *name);


/*
 * The one weight lookup of the models: the tensor under the checkpoint key printf(fmt, ...) in
 * the set, which must exist with exactly `shape` (ndim included) and a float dtype (F32, F16,
 * BF16). *out points into the mapping. Errors name the folder (or file) and the tensor:
 *   "DIR: missing tensor \"KEY\"", "DIR: tensor \"KEY\" has shape [a, b], expected [c, d]".
 * The status is sticky: when *st is not SANA_OK on entry nothing is looked up, so a loader makes
 * its lookups one after another and checks *st once (the first error's message is kept).
 * Returns *st.
 *   sana_st_weight(&st, set, &w, SHP(D, C), "transformer_blocks.%d.attn1.to_q.weight", i);
 */
sana_status sana_st_weight(sana_status *st, const sana_st_set *s, const sana_wt **out, sana_shape shape,
                           const char *fmt, ...) __attribute__((format(printf, 5, 6)));

/*
 * Write a safetensors file (float32 tensors or any dtype), to PATH.tmp then renamed.
 * Used by `sana encode`, latent output, and tests.
 */
typedef struct {
    const char *name;
    sana_dtype dtype;
    int ndim;
    int64_t shape[SANA_MAX_DIMS];
    const void *data;
} sana_st_write_tensor;
sana_status sana_st_write(const char *path, const sana_st_write_tensor *t, int n,
                          const char *const *meta_kv, int nmeta);

#endif
