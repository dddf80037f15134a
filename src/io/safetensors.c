/*
 * src/io/safetensors.c -- safetensors files over mmap, sharded sets, and writing.
 *
 * Every check of the format happens in st_parse(), which is also what the
 * fuzz target (tests/fuzz-safetensors.c) drives: a file that passes it can be
 * read anywhere in its data area without going out of bounds.
 */
#include "io/safetensors.h"

#include <errno.h>
#include <stdarg.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>
#include <json-c/json.h>

/* The safetensors library refuses headers above 100 MB; so do we. */
#define ST_MAX_HEADER ((uint64_t)100 * 1000 * 1000)
/* Largest .gz golden we inflate into memory. */
#define ST_MAX_INFLATED ((size_t)1 << 31)

static sana_status st_dtype(const char *s, sana_dtype *out)
{
    for (int t = 0; t < SANA_FILE_DTYPE_COUNT; t++)
        if (strcmp(s, sana_dtype_name((sana_dtype)t)) == 0) {
            *out = (sana_dtype)t;
            return SANA_OK;
        }
    return SANA_ERR_FORMAT;
}

static int cmp_begin(const void *a, const void *b)
{
    const sana_st_tensor *x = *(const sana_st_tensor *const *)a, *y = *(const sana_st_tensor *const *)b;
    return x->begin < y->begin ? -1 : x->begin > y->begin ? 1 : (x->end < y->end ? -1 : x->end > y->end);
}

/* A non-negative JSON integer, or -1. */
static int64_t json_nonneg(json_object *o)
{
    if (!o || !json_object_is_type(o, json_type_int)) return -1;
    errno = 0;
    int64_t v = json_object_get_int64(o);
    if (errno || v < 0) return -1;
    return v;
}

static sana_status st_parse_tensor(sana_st_file *f, sana_st_tensor *t, const char *key, json_object *val,
                                   const unsigned char *data, uint64_t datasize)
{
    const char *p = f->path;
    json_object *jd, *js, *jo;
    if (!json_object_is_type(val, json_type_object))
        return sana_err(SANA_ERR_FORMAT, "%s: tensor \"%s\": header entry is not an object", p, key);
    if (!json_object_object_get_ex(val, "dtype", &jd) || !json_object_is_type(jd, json_type_string))
        return sana_err(SANA_ERR_FORMAT, "%s: tensor \"%s\": missing or non-string \"dtype\"", p, key);
    if (st_dtype(json_object_get_string(jd), &t->wt.dtype) != SANA_OK)
        return sana_err(SANA_ERR_FORMAT, "%s: tensor \"%s\": unknown dtype \"%s\"", p, key,
                        json_object_get_string(jd));
    if (!json_object_object_get_ex(val, "shape", &js) || !json_object_is_type(js, json_type_array))
        return sana_err(SANA_ERR_FORMAT, "%s: tensor \"%s\": missing or non-array \"shape\"", p, key);
    size_t nd = json_object_array_length(js);
    if (nd > SANA_MAX_DIMS)
        return sana_err(SANA_ERR_FORMAT, "%s: tensor \"%s\": %zu dimensions (at most %d supported)", p, key,
                        nd, SANA_MAX_DIMS);
    t->wt.ndim = (int)nd;
    size_t esize = sana_dtype_size(t->wt.dtype);
    uint64_t numel = 1;
    int overflow = 0;
    for (size_t i = 0; i < nd; i++) {
        int64_t d = json_nonneg(json_object_array_get_idx(js, i));
        if (d < 0)
            return sana_err(SANA_ERR_FORMAT, "%s: tensor \"%s\": shape[%zu] is not a non-negative integer", p,
                            key, i);
        t->wt.shape[i] = d;
        if (d != 0 && numel > (uint64_t)INT64_MAX / esize / (uint64_t)d)
            overflow = 1;
        else
            numel *= (uint64_t)d;
    }
    for (size_t i = 0; i < nd; i++)
        if (t->wt.shape[i] == 0) { numel = 0; overflow = 0; }
    if (overflow)
        return sana_err(SANA_ERR_FORMAT, "%s: tensor \"%s\": shape product overflows", p, key);
    if (!json_object_object_get_ex(val, "data_offsets", &jo) || !json_object_is_type(jo, json_type_array) ||
        json_object_array_length(jo) != 2)
        return sana_err(SANA_ERR_FORMAT, "%s: tensor \"%s\": \"data_offsets\" must be [begin, end]", p, key);
    int64_t b = json_nonneg(json_object_array_get_idx(jo, 0)), e = json_nonneg(json_object_array_get_idx(jo, 1));
    if (b < 0 || e < 0 || e < b)
        return sana_err(SANA_ERR_FORMAT, "%s: tensor \"%s\": invalid data_offsets", p, key);
    if ((uint64_t)e > datasize)
        return sana_err(SANA_ERR_FORMAT,
                        "%s: tensor \"%s\": data_offsets [%lld, %lld] outside the data area of %llu bytes", p,
                        key, (long long)b, (long long)e, (unsigned long long)datasize);
    if ((uint64_t)(e - b) != numel * esize)
        return sana_err(SANA_ERR_FORMAT,
                        "%s: tensor \"%s\": shape needs %llu bytes of %s but data_offsets span %lld bytes", p,
                        key, (unsigned long long)(numel * esize), sana_dtype_name(t->wt.dtype),
                        (long long)(e - b));
    t->begin = (uint64_t)b;
    t->end = (uint64_t)e;
    t->nbytes = (size_t)(e - b);
    t->wt.data = data + b;
    t->name = strdup(key);
    return t->name ? SANA_OK : sana_err(SANA_ERR_NOMEM, "%s: out of memory", p);
}

static sana_status st_parse_meta(sana_st_file *f, json_object *meta)
{
    if (!json_object_is_type(meta, json_type_object))
        return sana_err(SANA_ERR_FORMAT, "%s: \"__metadata__\" is not an object", f->path);
    int n = json_object_object_length(meta), i = 0;
    f->meta_keys = calloc((size_t)n + 1, sizeof(char *));
    f->meta_vals = calloc((size_t)n + 1, sizeof(char *));
    if (!f->meta_keys || !f->meta_vals) return sana_err(SANA_ERR_NOMEM, "%s: out of memory", f->path);
    json_object_object_foreach(meta, k, v) {
        if (!json_object_is_type(v, json_type_string))
            return sana_err(SANA_ERR_FORMAT, "%s: __metadata__ \"%s\" is not a string", f->path, k);
        f->meta_keys[i] = strdup(k);
        f->meta_vals[i] = strdup(json_object_get_string(v));
        f->nmeta = ++i;
    }
    return SANA_OK;
}

/* Validate the whole file image f->map[0..size). */
static sana_status st_parse(sana_st_file *f)
{
    const unsigned char *buf = f->map;
    if (f->size < 8)
        return sana_err(SANA_ERR_FORMAT, "%s: truncated: %zu bytes, shorter than the 8-byte header length",
                        f->path, f->size);
    uint64_t hlen = 0;
    for (int i = 7; i >= 0; i--) hlen = (hlen << 8) | buf[i];
    if (hlen > f->size - 8)
        return sana_err(SANA_ERR_FORMAT, "%s: header length %llu runs beyond the end of the file (%zu bytes)",
                        f->path, (unsigned long long)hlen, f->size);
    if (hlen > ST_MAX_HEADER)
        return sana_err(SANA_ERR_FORMAT, "%s: header length %llu exceeds the 100 MB limit", f->path,
                        (unsigned long long)hlen);
    const unsigned char *data = buf + 8 + hlen;
    uint64_t datasize = f->size - 8 - hlen;

    json_tokener *tok = json_tokener_new_ex(64);
    if (!tok) return sana_err(SANA_ERR_NOMEM, "%s: out of memory", f->path);
    json_object *root = json_tokener_parse_ex(tok, (const char *)buf + 8, (int)hlen);
    enum json_tokener_error jerr = json_tokener_get_error(tok);
    size_t end = json_tokener_get_parse_end(tok);
    json_tokener_free(tok);
    if (!root || jerr != json_tokener_success) {
        json_object_put(root);
        return sana_err(SANA_ERR_FORMAT, "%s: invalid JSON header: %s", f->path,
                        jerr == json_tokener_continue ? "unexpected end of header" : json_tokener_error_desc(jerr));
    }
    for (size_t i = end; i < hlen; i++)
        if (buf[8 + i] != ' ' && buf[8 + i] != '\n' && buf[8 + i] != '\t' && buf[8 + i] != '\r') {
            json_object_put(root);
            return sana_err(SANA_ERR_FORMAT, "%s: invalid JSON header: trailing bytes after the object", f->path);
        }
    if (!json_object_is_type(root, json_type_object)) {
        json_object_put(root);
        return sana_err(SANA_ERR_FORMAT, "%s: invalid JSON header: not an object", f->path);
    }
    sana_status st = SANA_OK;
    int n = json_object_object_length(root);
    f->tensors = calloc((size_t)n + 1, sizeof(sana_st_tensor));
    if (!f->tensors) st = sana_err(SANA_ERR_NOMEM, "%s: out of memory", f->path);
    json_object_object_foreach(root, key, val) {
        if (st != SANA_OK) break;
        if (strcmp(key, "__metadata__") == 0)
            st = st_parse_meta(f, val);
        else if ((st = st_parse_tensor(f, &f->tensors[f->ntensors], key, val, data, datasize)) == SANA_OK)
            f->ntensors++;
    }
    json_object_put(root);
    if (st != SANA_OK) return st;

    /* No two tensors may share bytes. */
    sana_st_tensor **order = malloc(((size_t)f->ntensors + 1) * sizeof *order);
    if (!order) return sana_err(SANA_ERR_NOMEM, "%s: out of memory", f->path);
    for (int i = 0; i < f->ntensors; i++) order[i] = &f->tensors[i];
    qsort(order, (size_t)f->ntensors, sizeof *order, cmp_begin);
    for (int i = 1; i < f->ntensors; i++)
        if (order[i]->begin < order[i - 1]->end && order[i]->nbytes && order[i - 1]->nbytes) {
            st = sana_err(SANA_ERR_FORMAT, "%s: tensors \"%s\" and \"%s\" overlap in the data area", f->path,
                          order[i - 1]->name, order[i]->name);
            break;
        }
    free(order);
    return st;
}

void sana_st_close(sana_st_file *f)
{
    if (!f) return;
    for (int i = 0; i < f->ntensors; i++) free(f->tensors[i].name);
    free(f->tensors);
    for (int i = 0; i < f->nmeta; i++) { free(f->meta_keys[i]); free(f->meta_vals[i]); }
    free(f->meta_keys);
    free(f->meta_vals);
    if (f->map) {
        if (f->mapped > 0) munmap(f->map, f->size);
        else if (f->mapped == 0) free(f->map);
    }
    free(f->path);
    free(f);
}

sana_status sana_st_open_mem(sana_st_file **out, void *buf, size_t size, int own, const char *name)
{
    *out = NULL;
    sana_st_file *f = calloc(1, sizeof *f);
    if (!f || !(f->path = strdup(name))) {
        free(f);
        if (own) free(buf);
        return sana_err(SANA_ERR_NOMEM, "%s: out of memory", name);
    }
    f->map = buf;
    f->size = size;
    f->mapped = own ? 0 : -1;
    sana_status st = st_parse(f);
    if (st != SANA_OK) {
        sana_st_close(f);
        return st;
    }
    *out = f;
    return SANA_OK;
}

static int ends_with(const char *s, const char *suffix)
{
    size_t a = strlen(s), b = strlen(suffix);
    return a >= b && strcmp(s + a - b, suffix) == 0;
}

static sana_status st_open_gz(sana_st_file **out, const char *path)
{
    gzFile gz = gzopen(path, "rb");
    if (!gz) return sana_err(SANA_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    size_t cap = 1 << 20, len = 0;
    unsigned char *buf = malloc(cap);
    for (;;) {
        if (!buf) { gzclose(gz); return sana_err(SANA_ERR_NOMEM, "%s: out of memory", path); }
        if (len == cap) {
            if (cap >= ST_MAX_INFLATED) {
                free(buf); gzclose(gz);
                return sana_err(SANA_ERR_FORMAT, "%s: inflates beyond %zu bytes", path, ST_MAX_INFLATED);
            }
            unsigned char *nb = realloc(buf, cap * 2);
            if (!nb) { free(buf); gzclose(gz); return sana_err(SANA_ERR_NOMEM, "%s: out of memory", path); }
            buf = nb;
            cap *= 2;
        }
        int r = gzread(gz, buf + len, (unsigned)(cap - len));
        if (r < 0) {
            int zerr;
            const char *msg = gzerror(gz, &zerr);
            sana_status st = sana_err(SANA_ERR_FORMAT, "%s: corrupt gzip data: %s", path, msg);
            free(buf); gzclose(gz);
            return st;
        }
        if (r == 0) {
            int zerr;
            const char *msg = gzerror(gz, &zerr);
            if (zerr != Z_OK && zerr != Z_STREAM_END) {
                sana_status st = sana_err(SANA_ERR_FORMAT, "%s: corrupt gzip data: %s", path, msg);
                free(buf); gzclose(gz);
                return st;
            }
            break;
        }
        len += (size_t)r;
    }
    gzclose(gz);
    return sana_st_open_mem(out, buf, len, 1, path);
}

sana_status sana_st_open(sana_st_file **out, const char *path)
{
    *out = NULL;
    if (ends_with(path, ".gz")) return st_open_gz(out, path);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return sana_err(errno == ENOENT ? SANA_ERR_MISSING : SANA_ERR_IO, "%s: cannot open: %s", path,
                        strerror(errno));
    struct stat sb;
    if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
        close(fd);
        return sana_err(SANA_ERR_IO, "%s: not a regular file", path);
    }
    sana_st_file *f = calloc(1, sizeof *f);
    if (!f || !(f->path = strdup(path))) {
        free(f);
        close(fd);
        return sana_err(SANA_ERR_NOMEM, "%s: out of memory", path);
    }
    f->size = (size_t)sb.st_size;
    if (f->size > 0) {
        void *m = mmap(NULL, f->size, PROT_READ, MAP_PRIVATE, fd, 0);
        if (m == MAP_FAILED) {
            close(fd);
            sana_st_close(f);
            return sana_err(SANA_ERR_IO, "%s: cannot mmap: %s", path, strerror(errno));
        }
        f->map = m;
        f->mapped = 1;
    }
    close(fd);
    sana_status st = st_parse(f);
    if (st != SANA_OK) {
        sana_st_close(f);
        return st;
    }
    *out = f;
    return SANA_OK;
}

const sana_st_tensor *sana_st_find(const sana_st_file *f, const char *name)
{
    for (int i = 0; i < f->ntensors; i++)
        if (strcmp(f->tensors[i].name, name) == 0) return &f->tensors[i];
    return NULL;
}

const char *sana_st_meta(const sana_st_file *f, const char *key)
{
    for (int i = 0; i < f->nmeta; i++)
        if (strcmp(f->meta_keys[i], key) == 0) return f->meta_vals[i];
    return NULL;
}

/* ------------------------------------------------------------------ sets */

static sana_status set_add(sana_st_set *s, const char *path)
{
    sana_st_file **nf = realloc(s->files, ((size_t)s->nfiles + 1) * sizeof *nf);
    if (!nf) return sana_err(SANA_ERR_NOMEM, "%s: out of memory", path);
    s->files = nf;
    sana_status st = sana_st_open(&s->files[s->nfiles], path);
    if (st == SANA_OK) s->nfiles++;
    return st;
}

void sana_st_set_close(sana_st_set *s)
{
    if (!s) return;
    for (int i = 0; i < s->nfiles; i++) sana_st_close(s->files[i]);
    free(s->files);
    free(s->desc);
    free(s);
}

void sana_st_set_release_pages(const sana_st_set *s)
{
#ifdef MADV_DONTNEED
    for (int i = 0; s && i < s->nfiles; i++) {
        const sana_st_file *f = s->files[i];
        if (f->mapped == 1 && f->size > 0) (void)madvise(f->map, f->size, MADV_DONTNEED);
    }
#else
    (void)s;
#endif
}

/* buf = fmt(...), or an error when the path does not fit. */
static sana_status pathf(char *buf, size_t n, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static sana_status pathf(char *buf, size_t n, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int k = vsnprintf(buf, n, fmt, ap);
    va_end(ap);
    if (k < 0 || (size_t)k >= n) return sana_err(SANA_ERR_ARG, "%.200s...: path too long", buf);
    return SANA_OK;
}

static int file_exists(const char *p)
{
    struct stat sb;
    return stat(p, &sb) == 0;
}

/* Shards named by DIR/INDEX's "weight_map"; every listed tensor must be in its shard. */
static sana_status set_open_index(sana_st_set *s, const char *dir, const char *index)
{
    char path[PATH_MAX];
    if (pathf(path, sizeof path, "%s/%s", dir, index) != SANA_OK) return SANA_ERR_ARG;
    json_object *root = json_object_from_file(path), *wm;
    if (!root)
        return sana_err(SANA_ERR_FORMAT, "%s: invalid JSON: %s", path, json_util_get_last_err());
    sana_status st = SANA_OK;
    if (!json_object_is_type(root, json_type_object) || !json_object_object_get_ex(root, "weight_map", &wm) ||
        !json_object_is_type(wm, json_type_object)) {
        st = sana_err(SANA_ERR_FORMAT, "%s: no \"weight_map\" object", path);
        goto done;
    }
    json_object_object_foreach(wm, tname, fval) {
        if (!json_object_is_type(fval, json_type_string)) {
            st = sana_err(SANA_ERR_FORMAT, "%s: weight_map \"%s\" is not a file name", path, tname);
            break;
        }
        const char *shard = json_object_get_string(fval);
        if (!*shard || strchr(shard, '/') || strcmp(shard, "..") == 0 || strcmp(shard, ".") == 0) {
            st = sana_err(SANA_ERR_FORMAT, "%s: weight_map \"%s\" names \"%s\", not a file in this folder", path,
                          tname, shard);
            break;
        }
        char spath[PATH_MAX];
        if ((st = pathf(spath, sizeof spath, "%s/%s", dir, shard)) != SANA_OK) break;
        sana_st_file *f = NULL;
        for (int i = 0; i < s->nfiles; i++)
            if (strcmp(s->files[i]->path, spath) == 0) f = s->files[i];
        if (!f) {
            if ((st = set_add(s, spath)) != SANA_OK) break;
            f = s->files[s->nfiles - 1];
        }
        if (!sana_st_find(f, tname)) {
            st = sana_err(SANA_ERR_FORMAT, "%s: lists tensor \"%s\" in %s, which does not hold it", path, tname,
                          shard);
            break;
        }
    }
done:
    json_object_put(root);
    return st;
}

sana_status sana_st_set_open(sana_st_set **out, const char *dir, const char *base, const char *variant)
{
    *out = NULL;
    sana_st_set *s = calloc(1, sizeof *s);
    if (!s || !(s->desc = strdup(dir))) {
        free(s);
        return sana_err(SANA_ERR_NOMEM, "%s: out of memory", dir);
    }
    char single[PATH_MAX], index[PATH_MAX], ipath[PATH_MAX];
    /* diffusers/transformers variant names: BASE.VARIANT.safetensors, BASE.safetensors.index.VARIANT.json */
    sana_status st;
    if (variant)
        st = pathf(single, sizeof single, "%s/%s.%s.safetensors", dir, base, variant) ||
             pathf(index, sizeof index, "%s.safetensors.index.%s.json", base, variant);
    else
        st = pathf(single, sizeof single, "%s/%s.safetensors", dir, base) ||
             pathf(index, sizeof index, "%s.safetensors.index.json", base);
    if (st != SANA_OK || pathf(ipath, sizeof ipath, "%s/%s", dir, index) != SANA_OK)
        st = SANA_ERR_ARG;
    else if (file_exists(single))
        st = set_add(s, single);
    else if (file_exists(ipath))
        st = set_open_index(s, dir, index);
    else
        st = sana_err(SANA_ERR_MISSING, "%s: no weights: neither %s nor %s%s%s%s", dir, strrchr(single, '/') + 1,
                      index, variant ? " (variant " : "", variant ? variant : "", variant ? ")" : "");
    if (st != SANA_OK) {
        sana_st_set_close(s);
        return st;
    }
    *out = s;
    return SANA_OK;
}

sana_status sana_st_set_open_file(sana_st_set **out, const char *path)
{
    *out = NULL;
    sana_st_set *s = calloc(1, sizeof *s);
    if (!s || !(s->desc = strdup(path))) {
        free(s);
        return sana_err(SANA_ERR_NOMEM, "%s: out of memory", path);
    }
    sana_status st = set_add(s, path);
    if (st != SANA_OK) {
        sana_st_set_close(s);
        return st;
    }
    *out = s;
    return SANA_OK;
}

const sana_st_tensor *sana_st_set_find(const sana_st_set *s, const char *name)
{
    for (int i = 0; i < s->nfiles; i++) {
        const sana_st_tensor *t = sana_st_find(s->files[i], name);
        if (t) return t;
    }
    return NULL;
}

static void shape_str(char *buf, size_t n, int ndim, const int64_t *shape)
{
    size_t k = (size_t)snprintf(buf, n, "[");
    for (int i = 0; i < ndim && k < n; i++)
        k += (size_t)snprintf(buf + k, n - k, "%s%lld", i ? ", " : "", (long long)shape[i]);
    if (k < n) snprintf(buf + k, n - k, "]");
}

static sana_status weight_lookup(const sana_st_set *s, const char *name, sana_shape shape, const sana_wt **out)
{
    const sana_st_tensor *t = sana_st_set_find(s, name);
    if (!t) return sana_err(SANA_ERR_MISSING, "%s: missing tensor \"%s\"", s->desc, name);
    int ok = t->wt.ndim == shape.ndim;
    for (int i = 0; ok && i < shape.ndim; i++) ok = t->wt.shape[i] == shape.dim[i];
    if (!ok) {
        char want[256], got[256];
        shape_str(want, sizeof want, shape.ndim, shape.dim);
        shape_str(got, sizeof got, t->wt.ndim, t->wt.shape);
        return sana_err(SANA_ERR_FORMAT, "%s: tensor \"%s\" has shape %s, expected %s", s->desc, name, got, want);
    }
    if (t->wt.dtype != SANA_F32 && t->wt.dtype != SANA_F16 && t->wt.dtype != SANA_BF16)
        return sana_err(SANA_ERR_UNSUPPORTED, "%s: tensor \"%s\" has dtype %s; weights must be F32, F16 or BF16",
                        s->desc, name, sana_dtype_name(t->wt.dtype));
    *out = &t->wt;
    return SANA_OK;
}

sana_status sana_st_weight(sana_status *st, const sana_st_set *s, const sana_wt **out, sana_shape shape,
                           const char *fmt, ...)
{
    *out = NULL;
    if (*st != SANA_OK) return *st;
    char name[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(name, sizeof name, fmt, ap);
    va_end(ap);
    return *st = weight_lookup(s, name, shape, out);
}

/* ------------------------------------------------------------------ writing */

sana_status sana_st_write(const char *path, const sana_st_write_tensor *t, int n,
                          const char *const *meta_kv, int nmeta)
{
    json_object *root = json_object_new_object();
    uint64_t off = 0;
    if (nmeta > 0) {
        json_object *m = json_object_new_object();
        for (int i = 0; i < nmeta; i++)
            json_object_object_add(m, meta_kv[2 * i], json_object_new_string(meta_kv[2 * i + 1]));
        json_object_object_add(root, "__metadata__", m);
    }
    for (int i = 0; i < n; i++) {
        json_object *e = json_object_new_object(), *sh = json_object_new_array(), *of = json_object_new_array();
        uint64_t numel = 1;
        for (int d = 0; d < t[i].ndim; d++) {
            json_object_array_add(sh, json_object_new_int64(t[i].shape[d]));
            numel *= (uint64_t)t[i].shape[d];
        }
        uint64_t nb = numel * sana_dtype_size(t[i].dtype);
        json_object_array_add(of, json_object_new_int64((int64_t)off));
        json_object_array_add(of, json_object_new_int64((int64_t)(off + nb)));
        off += nb;
        json_object_object_add(e, "dtype", json_object_new_string(sana_dtype_name(t[i].dtype)));
        json_object_object_add(e, "shape", sh);
        json_object_object_add(e, "data_offsets", of);
        json_object_object_add(root, t[i].name, e);
    }
    const char *hdr = json_object_to_json_string_ext(root, JSON_C_TO_STRING_PLAIN);
    size_t hlen = strlen(hdr), padded = (hlen + 7) / 8 * 8;

    char tmp[PATH_MAX];
    FILE *fp = NULL;
    if (pathf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)getpid()) == SANA_OK) fp = fopen(tmp, "wb");
    if (!fp) {
        json_object_put(root);
        return sana_err(SANA_ERR_IO, "%s: cannot write: %s", path, strerror(errno));
    }
    unsigned char len8[8];
    for (int i = 0; i < 8; i++) len8[i] = (unsigned char)((uint64_t)padded >> (8 * i));
    int ok = fwrite(len8, 1, 8, fp) == 8 && fwrite(hdr, 1, hlen, fp) == hlen;
    for (size_t i = hlen; ok && i < padded; i++) ok = fputc(' ', fp) != EOF;
    json_object_put(root);
    for (int i = 0; ok && i < n; i++) {
        size_t nb = sana_dtype_size(t[i].dtype);
        for (int d = 0; d < t[i].ndim; d++) nb *= (size_t)t[i].shape[d];
        ok = nb == 0 || fwrite(t[i].data, 1, nb, fp) == nb;
    }
    ok = (fflush(fp) == 0) && ok;
    ok = (fclose(fp) == 0) && ok;
    if (!ok || rename(tmp, path) != 0) {
        sana_status st = sana_err(SANA_ERR_IO, "%s: cannot write: %s", path, strerror(errno));
        unlink(tmp);
        return st;
    }
    return SANA_OK;
}
