/*
 * tests/test-safetensors.c -- the safetensors reader on good and broken files.
 *
 * Each broken file is made here, byte by byte, and the test asserts the
 * status and a distinctive part of the message (not just "it failed").
 */
#include "golden.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

static char tmpdir[256];
static int checks, failures;

static void expect(int cond, const char *what)
{
    checks++;
    if (!cond) failures++;
    printf("%s: %s\n", cond ? "ok  " : "FAIL", what);
}

/* Write [u64 header length][header][ndata bytes of pattern] to tmpdir/name. */
static const char *make(const char *name, const char *header, uint64_t hlen_override, size_t ndata)
{
    static char path[512];
    snprintf(path, sizeof path, "%s/%s", tmpdir, name);
    FILE *fp = fopen(path, "wb");
    uint64_t hlen = hlen_override ? hlen_override : strlen(header);
    unsigned char l8[8];
    for (int i = 0; i < 8; i++) l8[i] = (unsigned char)(hlen >> (8 * i));
    fwrite(l8, 1, 8, fp);
    fwrite(header, 1, strlen(header), fp);
    for (size_t i = 0; i < ndata; i++) fputc((int)(i * 7 + 1), fp);
    fclose(fp);
    return path;
}

/* Opening must fail with status st and a message containing needle. */
static void expect_error(const char *what, const char *path, sana_status st, const char *needle)
{
    sana_st_file *f = NULL;
    sana_err_clear();
    sana_status got = sana_st_open(&f, path);
    int ok = got == st && f == NULL && strstr(sana_errmsg(), needle) && strstr(sana_errmsg(), path);
    char line[1024];
    snprintf(line, sizeof line, "%s -> [%s] %s", what, sana_status_name(got), sana_errmsg());
    expect(ok, line);
    sana_st_close(f);
}

static void broken_files(void)
{
    const char *p;
    p = make("short.safetensors", "", 0, 0);
    /* a 5-byte file: rewrite it shorter than the length field */
    FILE *fp = fopen(p, "wb");
    fwrite("\x05\x00\x00", 1, 3, fp);
    fclose(fp);
    expect_error("truncated file", p, SANA_ERR_FORMAT, "truncated");
    p = make("empty.safetensors", "", 0, 0);
    fp = fopen(p, "wb");
    fclose(fp);
    expect_error("empty file", p, SANA_ERR_FORMAT, "truncated");
    expect_error("header length beyond file", make("hlen.safetensors", "{}", 4096, 0), SANA_ERR_FORMAT,
                 "beyond the end of the file");
    expect_error("invalid JSON", make("json.safetensors", "{\"a\": {\"dtype\": ", 0, 0), SANA_ERR_FORMAT,
                 "invalid JSON header");
    expect_error("JSON not an object", make("arr.safetensors", "[1, 2]", 0, 0), SANA_ERR_FORMAT, "not an object");
    expect_error("trailing bytes after JSON", make("trail.safetensors", "{} x", 0, 0), SANA_ERR_FORMAT,
                 "trailing bytes");
    expect_error("unknown dtype",
                 make("dtype.safetensors", "{\"w\":{\"dtype\":\"F8_E9\",\"shape\":[2],\"data_offsets\":[0,2]}}", 0, 2),
                 SANA_ERR_FORMAT, "unknown dtype \"F8_E9\"");
    expect_error("offsets outside the data area",
                 make("oob.safetensors", "{\"w\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[8,24]}}", 0, 16),
                 SANA_ERR_FORMAT, "outside the data area");
    expect_error("overlapping tensors",
                 make("overlap.safetensors",
                      "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
                      "\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}", 0, 16),
                 SANA_ERR_FORMAT, "overlap");
    expect_error("shape product overflows",
                 make("overflow.safetensors",
                      "{\"w\":{\"dtype\":\"F32\",\"shape\":[4294967296,4294967296],\"data_offsets\":[0,4]}}", 0, 4),
                 SANA_ERR_FORMAT, "overflows");
    expect_error("shape disagrees with byte length",
                 make("len.safetensors", "{\"w\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,8]}}", 0, 8),
                 SANA_ERR_FORMAT, "needs 12 bytes");
    expect_error("negative dimension",
                 make("neg.safetensors", "{\"w\":{\"dtype\":\"F32\",\"shape\":[-1],\"data_offsets\":[0,4]}}", 0, 4),
                 SANA_ERR_FORMAT, "shape[0]");
    expect_error("offsets end before begin",
                 make("rev.safetensors", "{\"w\":{\"dtype\":\"U8\",\"shape\":[0],\"data_offsets\":[4,0]}}", 0, 4),
                 SANA_ERR_FORMAT, "invalid data_offsets");
    expect_error("non-string metadata",
                 make("meta.safetensors", "{\"__metadata__\":{\"a\":1}}", 0, 0), SANA_ERR_FORMAT, "__metadata__");
    char missing[300];
    snprintf(missing, sizeof missing, "%s/nope.safetensors", tmpdir);
    expect_error("missing file", missing, SANA_ERR_MISSING, "cannot open");
}

static void write_read_roundtrip(void)
{
    float a[6] = {1, -2, 3.5f, 1e-3f, -0.0f, 65504};
    uint16_t h[3] = {sana_f32_to_f16(1.5f), sana_f32_to_f16(-2.25f), sana_f32_to_f16(1e-6f)};
    uint16_t bf[2] = {sana_f32_to_bf16(3.140625f), sana_f32_to_bf16(-1e20f)};
    sana_st_write_tensor t[3] = {
        {"a", SANA_F32, 2, {2, 3}, a}, {"h", SANA_F16, 1, {3}, h}, {"bf", SANA_BF16, 1, {2}, bf}};
    const char *meta[] = {"format", "pt", "note", "round trip"};
    char path[300];
    snprintf(path, sizeof path, "%s/rt.safetensors", tmpdir);
    expect(sana_st_write(path, t, 3, meta, 2) == SANA_OK, "write a safetensors file");
    sana_st_file *f;
    sana_status st = sana_st_open(&f, path);
    expect(st == SANA_OK, "read it back");
    if (st != SANA_OK) return;
    const sana_st_tensor *ta = sana_st_find(f, "a"), *th = sana_st_find(f, "h"), *tb = sana_st_find(f, "bf");
    float v[6];
    expect(ta && ta->wt.ndim == 2 && ta->wt.shape[1] == 3, "shape of a");
    if (ta) { sana_convert_f32(v, ta->wt.data, ta->wt.dtype, 0, 6); expect(memcmp(v, a, sizeof a) == 0, "F32 values"); }
    if (th) {
        sana_convert_f32(v, th->wt.data, th->wt.dtype, 0, 3);
        expect(v[0] == 1.5f && v[1] == -2.25f && fabsf(v[2] - 1e-6f) <= 2.99e-8f && v[2] == 17 * 5.9604644775390625e-8f, "F16 values (subnormal included)");
    }
    if (tb) {
        sana_convert_f32(v, tb->wt.data, tb->wt.dtype, 0, 2);
        expect(v[0] == 3.140625f && fabsf(v[1] + 1e20f) < 1e18f, "BF16 values");
    }
    expect(sana_st_meta(f, "note") && strcmp(sana_st_meta(f, "note"), "round trip") == 0, "metadata");
    sana_st_close(f);

    /* the same file gzip-compressed */
    char gzpath[320];
    snprintf(gzpath, sizeof gzpath, "%s.gz", path);
    FILE *in = fopen(path, "rb");
    gzFile out = gzopen(gzpath, "wb");
    char buf[4096];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, in)) > 0) gzwrite(out, buf, (unsigned)n);
    fclose(in);
    gzclose(out);
    st = sana_st_open(&f, gzpath);
    expect(st == SANA_OK && sana_st_find(f, "bf") != NULL, "read a .safetensors.gz file");
    if (st == SANA_OK) sana_st_close(f);

    /* a truncated gzip stream */
    FILE *gz = fopen(gzpath, "r+b");
    ftruncate(fileno(gz), 20);
    fclose(gz);
    expect_error("truncated .gz", gzpath, SANA_ERR_FORMAT, "gzip");
}

static void write_tensor_file(const char *dir, const char *name, const char *const *tnames, int n, sana_dtype dt)
{
    char path[400];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    static float data[4] = {1, 2, 3, 4};
    static uint16_t h16[4];
    for (int i = 0; i < 4; i++) h16[i] = dt == SANA_F16 ? sana_f32_to_f16(data[i]) : sana_f32_to_bf16(data[i]);
    sana_st_write_tensor t[4];
    for (int i = 0; i < n; i++)
        t[i] = (sana_st_write_tensor){tnames[i], dt, 2, {2, 2}, dt == SANA_F32 ? (void *)data : (void *)h16};
    sana_st_write(path, t, n, NULL, 0);
}

static void write_text(const char *dir, const char *name, const char *text)
{
    char path[400];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *fp = fopen(path, "w");
    fputs(text, fp);
    fclose(fp);
}

/* A file held in memory (an inflated .gz) is anonymous memory, which madvise would zero:
 * sana_st_set_release_pages must leave it alone. 16 page-aligned pages, one tensor filling the data
 * area after an 80-byte header. */
static void release_in_memory(void)
{
    enum { NB = 1 << 16, NF = (NB - 88) / 4 };
    void *mem = NULL;
    if (posix_memalign(&mem, 1 << 16, NB) != 0) mem = NULL;
    unsigned char *buf = mem;
    char hdr[81];
    snprintf(hdr, sizeof hdr, "{\"t\": {\"dtype\": \"F32\", \"shape\": [%d], \"data_offsets\": [0, %d]}}", NF, 4 * NF);
    if (buf) {
        memset(buf, 0, 8);
        buf[0] = 80;
        memset(buf + 8, ' ', 80);
        memcpy(buf + 8, hdr, strlen(hdr));
        for (int i = 0; i < NF; i++) ((float *)(buf + 88))[i] = (float)(i + 1);
    }
    sana_st_file *mf = NULL;
    sana_status st = buf ? sana_st_open_mem(&mf, buf, NB, 1, "in-memory") : SANA_ERR_NOMEM;
    if (st == SANA_OK) {
        sana_st_set ms = {.desc = "in-memory", .files = &mf, .nfiles = 1};
        sana_st_set_release_pages(&ms);
        const sana_st_tensor *t = sana_st_find(mf, "t");
        const float *v = t ? t->wt.data : NULL;
        expect(v && v[0] == 1 && v[NF / 2] == (float)(NF / 2 + 1) && v[NF - 1] == (float)NF,
               "release_pages leaves an in-memory file alone");
        sana_st_close(mf);
    } else {
        expect(0, sana_errmsg());
    }
}

static void sets(void)
{
    char dir[300];
    snprintf(dir, sizeof dir, "%s/component", tmpdir);
    mkdir(dir, 0755);
    const char *n1[] = {"a.weight", "a.bias"}, *n2[] = {"b.weight"};
    /* sharded, transformers layout */
    write_tensor_file(dir, "model-00001-of-00002.safetensors", n1, 2, SANA_F32);
    write_tensor_file(dir, "model-00002-of-00002.safetensors", n2, 1, SANA_F32);
    write_text(dir, "model.safetensors.index.json",
               "{\"metadata\": {\"total_size\": 48}, \"weight_map\": {\"a.weight\": \"model-00001-of-00002.safetensors\","
               " \"a.bias\": \"model-00001-of-00002.safetensors\", \"b.weight\": \"model-00002-of-00002.safetensors\"}}");
    sana_st_set *s;
    sana_status st = sana_st_set_open(&s, dir, "model", NULL);
    expect(st == SANA_OK && s->nfiles == 2, "sharded set through model.safetensors.index.json");
    if (st == SANA_OK) {
        const sana_wt *w;
        expect(sana_st_weight(&st, s, &w, SHP(2, 2), "b.weight") == SANA_OK, "tensor from the second shard");
        sana_err_clear();
        sana_st_weight(&st, s, &w, SHP(2, 2), "%s.weight", "c");
        expect(st == SANA_ERR_MISSING && strstr(sana_errmsg(), "missing tensor \"c.weight\"") &&
                   strstr(sana_errmsg(), dir), "missing tensor by name names it and the folder");
        sana_status st2 = SANA_OK;
        sana_st_weight(&st2, s, &w, SHP(4, 1), "a.weight");
        expect(st2 == SANA_ERR_FORMAT && strstr(sana_errmsg(), "has shape [2, 2], expected [4, 1]"),
               "mis-shaped tensor names both shapes");
        st2 = SANA_OK;
        sana_st_weight(&st2, s, &w, SHP(2), "a.weight");
        expect(st2 == SANA_ERR_FORMAT && strstr(sana_errmsg(), "has shape [2, 2], expected [2]"),
               "tensor with another number of dims names both shapes");
        sana_err_clear();
        expect(sana_st_weight(&st2, s, &w, SHP(2, 2), "b.weight") == SANA_ERR_FORMAT && w == NULL &&
                   !strcmp(sana_errmsg(), ""),
               "a lookup after a failed one does nothing (the status is sticky)");
        st = SANA_OK;
        expect(sana_st_weight(&st, s, &w, SHP(2, 2), "a.weight") == SANA_OK && w && w->ndim == 2, "found tensor");
        /* the pipeline gives a model's file pages back after its phase: its tensors read the same after */
        float before[4] = {0}, after[4] = {0};
        sana_wt_rows_f32(before, w, 0, 2);
        sana_st_set_release_pages(s);
        sana_wt_rows_f32(after, w, 0, 2);
        expect(before[0] == 1 && !memcmp(before, after, sizeof before), "tensor values unchanged after release_pages");
        sana_st_set_close(s);
    }
    /* variants: diffusion_pytorch_model.fp16.safetensors, .bf16. */
    const char *dn[] = {"proj.weight"};
    write_tensor_file(dir, "diffusion_pytorch_model.fp16.safetensors", dn, 1, SANA_F16);
    write_tensor_file(dir, "diffusion_pytorch_model.bf16.safetensors", dn, 1, SANA_BF16);
    const char *variants[] = {"fp16", "bf16"};
    sana_dtype want[] = {SANA_F16, SANA_BF16};
    for (int i = 0; i < 2; i++) {
        st = sana_st_set_open(&s, dir, "diffusion_pytorch_model", variants[i]);
        const sana_wt *w = NULL;
        sana_status wst = SANA_OK;
        int ok = st == SANA_OK && sana_st_weight(&wst, s, &w, SHP(2, 2), "proj.weight") == SANA_OK &&
                 w->dtype == want[i];
        float v[4] = {0};
        if (ok) sana_wt_rows_f32(v, w, 0, 2);
        char what[64];
        snprintf(what, sizeof what, "variant %s file, values converted", variants[i]);
        expect(ok && v[0] == 1 && v[3] == 4, what);
        if (st == SANA_OK) sana_st_set_close(s);
    }
    sana_err_clear();
    st = sana_st_set_open(&s, dir, "diffusion_pytorch_model", NULL);
    expect(st == SANA_ERR_MISSING && strstr(sana_errmsg(), "no weights"), "no non-variant file: clear error");
    st = sana_st_set_open(&s, dir, "diffusion_pytorch_model", "fp32");
    expect(st == SANA_ERR_MISSING && strstr(sana_errmsg(), "(variant fp32)") &&
               strstr(sana_errmsg(), "diffusion_pytorch_model.fp32.safetensors"),
           "absent variant: the message names the variant and the file looked for");

    /* broken indexes */
    char dir2[300];
    snprintf(dir2, sizeof dir2, "%s/badindex", tmpdir);
    mkdir(dir2, 0755);
    write_tensor_file(dir2, "model-00001-of-00001.safetensors", n1, 2, SANA_F32);
    write_text(dir2, "model.safetensors.index.json",
               "{\"weight_map\": {\"zzz\": \"model-00001-of-00001.safetensors\"}}");
    sana_err_clear();
    st = sana_st_set_open(&s, dir2, "model", NULL);
    expect(st == SANA_ERR_FORMAT && strstr(sana_errmsg(), "lists tensor \"zzz\""), "index names a tensor its shard lacks");
    write_text(dir2, "model.safetensors.index.json", "{\"weight_map\": {\"a.weight\": \"../../etc/passwd\"}}");
    st = sana_st_set_open(&s, dir2, "model", NULL);
    expect(st == SANA_ERR_FORMAT && strstr(sana_errmsg(), "not a file in this folder"), "index names a path outside the folder");
    write_text(dir2, "model.safetensors.index.json", "{\"weight_map\": [");
    st = sana_st_set_open(&s, dir2, "model", NULL);
    expect(st == SANA_ERR_FORMAT && strstr(sana_errmsg(), "invalid JSON"), "index that is not JSON");
    write_text(dir2, "model.safetensors.index.json", "{\"weight_map\": {\"a.weight\": \"model-00009-of-00009.safetensors\"}}");
    st = sana_st_set_open(&s, dir2, "model", NULL);
    expect(st == SANA_ERR_MISSING && strstr(sana_errmsg(), "model-00009-of-00009"), "index names a missing shard");
}

static void conversions(void)
{
    /* every f16 bit pattern converts back to itself (NaNs aside) */
    int bad = 0;
    for (uint32_t h = 0; h < 65536; h++) {
        float f = sana_f16_to_f32((uint16_t)h);
        if (!isnan(f) && sana_f32_to_f16(f) != h) bad++;
    }
    expect(bad == 0, "f16 -> f32 -> f16 is the identity on all non-NaN halves");
    expect(sana_f32_to_bf16(1.00390625f) == 0x3f80 && sana_f32_to_bf16(1.01171875f) == 0x3f82,
           "bf16 rounds to nearest even");
    expect(sana_f32_to_f16(65520.0f) == 0x7c00 && sana_f32_to_f16(65519.0f) == 0x7bff, "f16 overflow threshold");
}

int main(void)
{
    snprintf(tmpdir, sizeof tmpdir, "/tmp/sana-test-st-XXXXXX");
    if (!mkdtemp(tmpdir)) return 99;
    broken_files();
    write_read_roundtrip();
    sets();
    release_in_memory();
    conversions();
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    if (system(cmd) != 0) return 99;
    printf("%d passed, %d failed\n", checks - failures, failures);
    return failures ? 1 : 0;
}
