/* src/cli/main.c -- the `sana` command: generate, encode, decode, tokenize, info.
 *
 * Only this layer prints and exits: every library error comes back as a status with a message,
 * printed here as one line "sana: error: ..." with exit status 1 (2 for usage errors).
 */
#define _GNU_SOURCE
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <libgen.h>
#include <math.h>
#include <omp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#ifdef HAVE_OPENBLAS_SET_NUM_THREADS
#include <cblas.h>
#endif

#include "cli/cli.h"
#include "pipeline/pipeline.h"
#include "io/pngio.h"
#include "io/safetensors.h"
#include "sana.h"
#include "text/tokenizer.h"

/* ------------------------------------------------------------------ helpers */

int cli_fail(const char *fmt, ...)
{
    char msg[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    /* one line: newlines of a message become spaces */
    for (char *s = msg; *s; s++)
        if (*s == '\n') *s = ' ';
    fprintf(stderr, "sana: error: %s\n", msg);
    return 1;
}

int cli_check_writable(const char *path)
{
    char *copy = strdup(path);
    if (!copy) return cli_fail("out of memory");
    const char *dir = dirname(copy);
    struct stat st;
    int r = 0;
    if (stat(path, &st) == 0 && S_ISDIR(st.st_mode)) r = cli_fail("%s: is a folder, not an output file name", path);
    else if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode)) r = cli_fail("%s: cannot write there: folder %s does not exist", path, dir);
    else if (access(dir, W_OK) != 0) r = cli_fail("%s: cannot write there: folder %s is not writable", path, dir);
    free(copy);
    return r;
}

static int quiet;

static void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void say(const char *fmt, ...)
{
    if (quiet) return;
    va_list ap;
    va_start(ap, fmt);
    fputs("sana: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static void on_progress(void *user, const sana_progress *p)
{
    (void)user;
    switch (p->phase) {
    case SANA_PHASE_ENCODE: say("encode: %.2f s", p->seconds); break;
    case SANA_PHASE_STEP: {
        static double sum;
        static int count;
        if (p->step == 1) sum = 0, count = 0;
        sum += p->seconds;
        count++;
        double per = sum / count;
        say("step %d/%d: %.2f s/it, ETA %.1f s", p->step, p->nsteps, per, per * (p->nsteps - p->step));
        break;
    }
    case SANA_PHASE_DECODE: say("decode: %.2f s", p->seconds); break;
    }
}

/* Parse helpers: the whole string must be a number in range, or a clear message. */
static int parse_int(const char *opt, const char *s, long lo, long hi, int *out)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end || v < lo || v > hi)
        return cli_fail("%s: \"%s\" is not a whole number between %ld and %ld", opt, s, lo, hi);
    *out = (int)v;
    return 0;
}

static int parse_u64(const char *opt, const char *s, uint64_t *out)
{
    char *end;
    errno = 0;
    if (*s == '-') return cli_fail("%s: \"%s\" is not a non-negative whole number", opt, s);
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || end == s || *end) return cli_fail("%s: \"%s\" is not a non-negative whole number", opt, s);
    *out = v;
    return 0;
}

static int parse_double(const char *opt, const char *s, double *out)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || end == s || *end || !isfinite(v)) return cli_fail("%s: \"%s\" is not a number", opt, s);
    *out = v;
    return 0;
}

/* Lines of a text file (without their newlines; a final empty line dropped). */
static int read_lines(const char *path, char ***lines, int *n, int skip_empty)
{
    FILE *f = fopen(path, "rb");
    if (!f) return cli_fail("%s: cannot open: %s", path, strerror(errno));
    char **v = NULL;
    int k = 0, cap = 0;
    char *line = NULL;
    size_t lcap = 0;
    ssize_t len;
    while ((len = getline(&line, &lcap, f)) >= 0) {
        while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r')) line[--len] = 0;
        if (skip_empty && len == 0) continue;
        if (!sana_utf8_valid(line)) {
            free(line);
            fclose(f);
            for (int i = 0; i < k; i++) free(v[i]);
            free(v);
            return cli_fail("%s: line %d is not valid UTF-8", path, k + 1);
        }
        if (k == cap) {
            cap = cap ? 2 * cap : 16;
            char **nv = realloc(v, sizeof(char *) * (size_t)cap);
            if (!nv) break;
            v = nv;
        }
        v[k++] = strdup(line);
    }
    free(line);
    fclose(f);
    *lines = v;
    *n = k;
    return 0;
}

static void free_lines(char **v, int n)
{
    for (int i = 0; i < n; i++) free(v[i]);
    free(v);
}

static void set_threads(int n)
{
    if (n <= 0) return;
    omp_set_num_threads(n);
#ifdef HAVE_OPENBLAS_SET_NUM_THREADS
    openblas_set_num_threads(n);
#endif
}

/* OUT.png -> OUT-<k>.png (k from 1) when a run writes several files. */
static char *numbered(const char *out, int k, int many)
{
    size_t n = strlen(out) + 24;
    char *s = malloc(n);
    if (!s) return NULL;
    if (!many) {
        snprintf(s, n, "%s", out);
        return s;
    }
    const char *dot = strrchr(out, '.'), *slash = strrchr(out, '/');
    if (!dot || (slash && dot < slash)) dot = out + strlen(out);
    snprintf(s, n, "%.*s-%d%s", (int)(dot - out), out, k, dot);
    return s;
}

/* A float32 copy of a tensor of a safetensors file (any numeric dtype). */
static float *tensor_f32(const sana_st_file *f, const char *name, const sana_st_tensor **t)
{
    *t = sana_st_find(f, name);
    if (!*t) return NULL;
    int64_t n = sana_wt_numel(&(*t)->wt);
    float *v = malloc(sizeof(float) * (size_t)(n > 0 ? n : 1));
    if (v) sana_convert_f32(v, (*t)->wt.data, (*t)->wt.dtype, 0, n);
    return v;
}

/* ------------------------------------------------------------------ usage */

static void usage(FILE *fp)
{
    fprintf(fp,
"usage: sana COMMAND [options]\n"
"\n"
"Commands:\n"
"  generate -m DIR -p PROMPT [-n NEGATIVE] -o OUT.png   text to image\n"
"  encode   -m DIR -p PROMPT -o EMB.safetensors         prompt_embeds + prompt_attention_mask\n"
"  decode   -m DIR --latents FILE -o OUT.png            VAE decode of latents\n"
"  tokenize -m DIR -p TEXT                              print the token ids\n"
"  info     DIR | IMAGE.png                             components of a checkpoint, or how an image was made\n"
"  --version, --help\n"
"\n"
"DIR is a diffusers pipeline folder as downloaded (model_index.json, transformer/, vae/, scheduler/,\n"
"text_encoder/, tokenizer/), e.g. Efficient-Large-Model/Sana_600M_512px_diffusers.\n"
"\n"
"Options (generate; encode and decode take the ones that apply):\n"
"  -m, --model DIR               pipeline folder (required)\n"
"  -p, --prompt TEXT             the prompt (UTF-8)\n"
"      --prompt-file FILE        several prompts, one a line; the model is loaded once and the\n"
"                                outputs are numbered OUT-1.png, OUT-2.png, ...\n"
"  -n, --negative-prompt TEXT    negative prompt (default: \"\")\n"
"  -o, --output FILE             output file (default: sana.png; encode: embeds.safetensors)\n"
"      --num-inference-steps N, --steps N\n"
"                                denoising steps (default: 20; Sprint checkpoints: 2)\n"
"      --guidance-scale G, --cfg-scale G\n"
"                                classifier-free guidance scale, on when > 1 (default: 4.5;\n"
"                                Sprint: the embedded guidance)\n"
"  -H, --height N                image height, a multiple of 32 (default: the transformer's\n"
"                                sample_size x 32, e.g. 512 for Sana_600M_512px)\n"
"  -W, --width N                 image width, likewise\n"
"  -s, --seed N                  seed of torch.Generator(\"cpu\").manual_seed (default: 0)\n"
"      --num-images-per-prompt N images per prompt (default: 1); several images are numbered\n"
"      --max-sequence-length N   prompt tokens kept (default: 300)\n"
"      --no-resolution-binning   generate at the asked size instead of the nearest aspect-ratio bin\n"
"      --chi FILE|none           complex human instruction: lines of FILE, or none\n"
"                                (default: the instruction of diffusers' SanaPipeline)\n"
"      --pag-scale S             perturbed-attention guidance scale; > 0 runs SanaPAGPipeline\n"
"                                on the same components (default: 0 = off; 3.0 on a\n"
"                                SanaPAGPipeline checkpoint)\n"
"      --pag-adaptive-scale S    adaptive PAG scale (default: 0)\n"
"      --pag-applied-layers L    comma-separated layer patterns (default: transformer_blocks.0)\n"
"      --scheduler dpm|euler|scm sampler (default: the checkpoint's scheduler config)\n"
"      --flow-shift X            override the sampler's flow shift (default: the checkpoint's)\n"
"      --max-timesteps X         Sprint: largest SCM time (default: 1.5708)\n"
"      --intermediate-timesteps X|none\n"
"                                Sprint: middle SCM time of 2-step runs (default: 1.3; other step\n"
"                                counts need none, as diffusers requires)\n"
"      --output-type png|latent  png (default), or latent: a safetensors file with a tensor\n"
"                                \"latents\" [B, C, H/32, W/32], the input of VAE decode\n"
"      --latents FILE            initial latents (a safetensors tensor \"latents\")\n"
"      --prompt-embeds FILE      prompt embeddings instead of a prompt (what `sana encode` writes)\n"
"      --tiled-decode            decode the VAE in tiles (less memory for large images)\n"
"      --low-memory              load the text encoder only while encoding, then release it\n"
"      --threads N               threads for OpenMP and BLAS (default: all cores)\n"
"      --variant fp16|bf16       load the *.VARIANT.safetensors weight files (default: float32 files)\n"
"  -q, --quiet                   no progress lines on stderr\n"
"  -h, --help                    this help\n"
"      --version                 the libsana version\n");
}

/* ------------------------------------------------------------------ options */

enum {
    O_STEPS = 256, O_CFG, O_NIMG, O_MAXSEQ, O_NOBIN, O_CHI, O_PAG, O_PAGADA, O_PAGLAY, O_SCHED, O_SHIFT, O_OTYPE,
    O_LATENTS, O_EMBEDS, O_THREADS, O_VARIANT, O_PFILE, O_LOWMEM, O_TILED, O_MAXT, O_INTERT, O_VERSION
};

static const struct option long_opts[] = {
    {"model", required_argument, 0, 'm'},
    {"prompt", required_argument, 0, 'p'},
    {"negative-prompt", required_argument, 0, 'n'},
    {"output", required_argument, 0, 'o'},
    {"height", required_argument, 0, 'H'},
    {"width", required_argument, 0, 'W'},
    {"seed", required_argument, 0, 's'},
    {"quiet", no_argument, 0, 'q'},
    {"help", no_argument, 0, 'h'},
    {"num-inference-steps", required_argument, 0, O_STEPS},
    {"steps", required_argument, 0, O_STEPS},
    {"guidance-scale", required_argument, 0, O_CFG},
    {"cfg-scale", required_argument, 0, O_CFG},
    {"num-images-per-prompt", required_argument, 0, O_NIMG},
    {"max-sequence-length", required_argument, 0, O_MAXSEQ},
    {"no-resolution-binning", no_argument, 0, O_NOBIN},
    {"chi", required_argument, 0, O_CHI},
    {"pag-scale", required_argument, 0, O_PAG},
    {"pag-adaptive-scale", required_argument, 0, O_PAGADA},
    {"pag-applied-layers", required_argument, 0, O_PAGLAY},
    {"scheduler", required_argument, 0, O_SCHED},
    {"flow-shift", required_argument, 0, O_SHIFT},
    {"output-type", required_argument, 0, O_OTYPE},
    {"latents", required_argument, 0, O_LATENTS},
    {"prompt-embeds", required_argument, 0, O_EMBEDS},
    {"threads", required_argument, 0, O_THREADS},
    {"variant", required_argument, 0, O_VARIANT},
    {"prompt-file", required_argument, 0, O_PFILE},
    {"low-memory", no_argument, 0, O_LOWMEM},
    {"tiled-decode", no_argument, 0, O_TILED},
    {"max-timesteps", required_argument, 0, O_MAXT},
    {"intermediate-timesteps", required_argument, 0, O_INTERT},
    {"version", no_argument, 0, O_VERSION},
    {0, 0, 0, 0}};

typedef struct {
    const char *model, *prompt, *negative, *output, *chi_file, *pag_layers, *scheduler, *otype, *latents_file,
        *embeds_file, *variant, *prompt_file;
    int steps, height, width, nimg, maxseq, nobin, threads, lowmem, tiled;
    int steps_set, cfg_set, pag_set, inter_set, inter_none, maxt_set;
    double cfg, pag, pag_ada, shift, maxt, inter;
    uint64_t seed;
} cli_opts;

static int parse_opts(int argc, char **argv, cli_opts *o)
{
    memset(o, 0, sizeof *o);
    o->nimg = 1;
    o->maxseq = 300;
    o->otype = "png";
    optind = 1;
    opterr = 0;
    int c;
    while ((c = getopt_long(argc, argv, ":m:p:n:o:H:W:s:qh", long_opts, NULL)) != -1) {
        const char *name = optind > 0 && optind <= argc ? argv[optind - 1] : "";
        int r = 0;
        switch (c) {
        case 'm': o->model = optarg; break;
        case 'p': o->prompt = optarg; break;
        case 'n': o->negative = optarg; break;
        case 'o': o->output = optarg; break;
        case 'H': r = parse_int("--height", optarg, 1, 1 << 20, &o->height); break;
        case 'W': r = parse_int("--width", optarg, 1, 1 << 20, &o->width); break;
        case 's': r = parse_u64("--seed", optarg, &o->seed); break;
        case 'q': quiet = 1; break;
        case 'h': usage(stdout); exit(0);
        case O_VERSION: printf("sana (libsana) %s\n", sana_version()); exit(0);
        case O_STEPS: r = parse_int("--num-inference-steps", optarg, -1000000, 1000000, &o->steps); o->steps_set = 1; break;
        case O_CFG: r = parse_double("--guidance-scale", optarg, &o->cfg); o->cfg_set = 1; break;
        case O_NIMG: r = parse_int("--num-images-per-prompt", optarg, -1000000, 1000000, &o->nimg); break;
        case O_MAXSEQ: r = parse_int("--max-sequence-length", optarg, -1000000, 1000000, &o->maxseq); break;
        case O_NOBIN: o->nobin = 1; break;
        case O_CHI: o->chi_file = optarg; break;
        case O_PAG: r = parse_double("--pag-scale", optarg, &o->pag); o->pag_set = 1; break;
        case O_PAGADA: r = parse_double("--pag-adaptive-scale", optarg, &o->pag_ada); break;
        case O_PAGLAY: o->pag_layers = optarg; break;
        case O_SCHED:
            if (strcmp(optarg, "dpm") && strcmp(optarg, "euler") && strcmp(optarg, "scm"))
                return cli_fail("--scheduler: \"%s\" is not one of dpm, euler, scm", optarg);
            o->scheduler = optarg;
            break;
        case O_SHIFT:
            r = parse_double("--flow-shift", optarg, &o->shift);
            if (!r && o->shift <= 0) r = cli_fail("--flow-shift must be positive, not %s", optarg);
            break;
        case O_OTYPE:
            if (strcmp(optarg, "png") && strcmp(optarg, "latent"))
                return cli_fail("--output-type: \"%s\" is not one of png, latent", optarg);
            o->otype = optarg;
            break;
        case O_LATENTS: o->latents_file = optarg; break;
        case O_EMBEDS: o->embeds_file = optarg; break;
        case O_THREADS: r = parse_int("--threads", optarg, 1, 4096, &o->threads); break;
        case O_VARIANT:
            if (strcmp(optarg, "fp16") && strcmp(optarg, "bf16"))
                return cli_fail("--variant: \"%s\" is not one of fp16, bf16", optarg);
            o->variant = optarg;
            break;
        case O_PFILE: o->prompt_file = optarg; break;
        case O_LOWMEM: o->lowmem = 1; break;
        case O_TILED: o->tiled = 1; break;
        case O_MAXT: r = parse_double("--max-timesteps", optarg, &o->maxt); o->maxt_set = 1; break;
        case O_INTERT:
            o->inter_set = 1;
            if (!strcmp(optarg, "none")) o->inter_none = 1;
            else r = parse_double("--intermediate-timesteps", optarg, &o->inter);
            break;
        case ':': fprintf(stderr, "sana: error: option %s needs a value (see sana --help)\n", name); return 2;
        default: fprintf(stderr, "sana: error: unknown option %s (see sana --help)\n", name); return 2;
        }
        if (r) return r;
    }
    if (optind < argc) {
        fprintf(stderr, "sana: error: unexpected argument \"%s\" (see sana --help)\n", argv[optind]);
        return 2;
    }
    if (o->prompt && !sana_utf8_valid(o->prompt)) return cli_fail("--prompt is not valid UTF-8");
    if (o->negative && !sana_utf8_valid(o->negative)) return cli_fail("--negative-prompt is not valid UTF-8");
    return 0;
}

static int load_pipeline(const cli_opts *o, sana_pipeline **p)
{
    if (!o->model) {
        fprintf(stderr, "sana: error: no model folder: give -m DIR (see sana --help)\n");
        return 2;
    }
    double t0 = now();
    sana_load_options lo = {o->variant, o->lowmem};
    if (sana_pipeline_load(p, o->model, &lo) != 0) return cli_fail("%s", sana_last_error());
    say("load: %s (%s, sampler %s): %.2f s", o->model, sana_pipeline_class_name(*p), sana_pipeline_sampler(*p),
        now() - t0);
    return 0;
}

/* ------------------------------------------------------------------ generate */

static int write_latents(const char *path, const sana_result *r, const char *meta_prompt)
{
    sana_st_write_tensor t = {"latents", SANA_F32, 4, {r->batch, r->lat_channels, r->lat_height, r->lat_width},
                              r->latents};
    const char *meta[] = {"prompt", meta_prompt ? meta_prompt : "", "producer", "sana " PACKAGE_VERSION};
    if (sana_st_write(path, &t, 1, meta, 2) != SANA_OK) return cli_fail("%s", sana_errmsg());
    return 0;
}

static int cmd_generate(int argc, char **argv)
{
    cli_opts o;
    int r = parse_opts(argc, argv, &o);
    if (r) return r;
    if (!o.prompt && !o.prompt_file && !o.embeds_file) {
        fprintf(stderr, "sana: error: no prompt: give -p PROMPT, --prompt-file FILE or --prompt-embeds FILE\n");
        return 2;
    }
    if ((o.prompt != NULL) + (o.prompt_file != NULL) + (o.embeds_file != NULL) > 1)
        return cli_fail("give only one of --prompt, --prompt-file, --prompt-embeds");
    const int latent_out = !strcmp(o.otype, "latent");
    if (!o.output) o.output = latent_out ? "latents.safetensors" : "sana.png";
    if (!o.model) {
        fprintf(stderr, "sana: error: no model folder: give -m DIR (see sana --help)\n");
        return 2;
    }
    if (cli_check_writable(o.output)) return 1;
    set_threads(o.threads);

    /* inputs read before the model is loaded, so that bad input fails fast */
    char **prompts = NULL, **chi = NULL;
    int nprompts = 0, nchi = 0, rc = 1;
    sana_chi_mode chi_mode = SANA_CHI_DEFAULT;
    float *lat = NULL, *emb = NULL, *embm = NULL;
    int64_t lat_shape[4] = {0}, emb_len = 0, emb_dim = 0;
    sana_pipeline *base = NULL, *pipe = NULL;
    if (o.prompt_file) {
        if (read_lines(o.prompt_file, &prompts, &nprompts, 1)) goto out;
        if (nprompts == 0) {
            cli_fail("%s: no prompts in the file", o.prompt_file);
            goto out;
        }
    }
    if (o.chi_file && strcmp(o.chi_file, "none") == 0) chi_mode = SANA_CHI_NONE;
    else if (o.chi_file) {
        if (read_lines(o.chi_file, &chi, &nchi, 0)) goto out;
        chi_mode = nchi ? SANA_CHI_CUSTOM : SANA_CHI_NONE;
    }
    if (o.latents_file) {
        sana_st_file *f = NULL;
        if (sana_st_open(&f, o.latents_file) != SANA_OK) {
            cli_fail("%s", sana_errmsg());
            goto out;
        }
        const sana_st_tensor *t;
        lat = tensor_f32(f, "latents", &t);
        if (!t) cli_fail("%s: no tensor \"latents\"", o.latents_file);
        else if (t->wt.ndim != 4) cli_fail("%s: \"latents\" must have 4 dimensions [B, C, h, w], not %d", o.latents_file, t->wt.ndim);
        else for (int i = 0; i < 4; i++) lat_shape[i] = t->wt.shape[i];
        sana_st_close(f);
        if (!lat_shape[0]) goto out;
    }
    if (o.embeds_file) {
        sana_st_file *f = NULL;
        if (sana_st_open(&f, o.embeds_file) != SANA_OK) {
            cli_fail("%s", sana_errmsg());
            goto out;
        }
        const sana_st_tensor *te, *tm;
        emb = tensor_f32(f, "prompt_embeds", &te);
        embm = tensor_f32(f, "prompt_attention_mask", &tm);
        if (!te || !tm) cli_fail("%s: needs tensors \"prompt_embeds\" and \"prompt_attention_mask\"", o.embeds_file);
        else if (!((te->wt.ndim == 3 && te->wt.shape[0] == 1) || te->wt.ndim == 2))
            cli_fail("%s: prompt_embeds must be [1, L, D] or [L, D]", o.embeds_file);
        else {
            emb_len = te->wt.shape[te->wt.ndim - 2];
            emb_dim = te->wt.shape[te->wt.ndim - 1];
            if (sana_wt_numel(&tm->wt) != emb_len) {
                cli_fail("%s: prompt_attention_mask has %lld values, prompt_embeds %lld tokens", o.embeds_file,
                         (long long)sana_wt_numel(&tm->wt), (long long)emb_len);
                emb_len = 0;
            }
        }
        sana_st_close(f);
        if (!emb_len) goto out;
    }

    if ((r = load_pipeline(&o, &base)) != 0) {
        rc = r;
        goto out;
    }
    pipe = base;
    sana_pipeline_kind kind = sana_pipeline_get_kind(base);
    if (kind == SANA_PIPELINE_T2I && o.pag_set && o.pag > 0) {
        /* SanaPAGPipeline over the same components */
        if (sana_pipeline_derive(&pipe, base, SANA_PIPELINE_PAG) != 0) {
            cli_fail("%s", sana_last_error());
            pipe = NULL;
            goto out;
        }
        kind = SANA_PIPELINE_PAG;
    } else if (kind != SANA_PIPELINE_PAG && (o.pag_set || o.pag_layers) && !(o.pag_set && o.pag == 0)) {
        cli_fail("--pag-scale / --pag-applied-layers need a SanaPipeline or SanaPAGPipeline checkpoint");
        goto out;
    }
    if (kind != SANA_PIPELINE_SPRINT && (o.maxt_set || o.inter_set)) {
        cli_fail("--max-timesteps / --intermediate-timesteps apply to SanaSprintPipeline checkpoints only");
        goto out;
    }

    sana_generate_params g;
    sana_generate_params_default(&g, pipe);
    if (o.negative) g.negative_prompt = o.negative;
    if (o.steps_set) g.num_inference_steps = o.steps;
    if (o.cfg_set) g.guidance_scale = o.cfg;
    g.num_images_per_prompt = o.nimg;
    g.height = o.height;
    g.width = o.width;
    g.use_resolution_binning = !o.nobin;
    g.max_sequence_length = o.maxseq;
    g.chi_mode = chi_mode;
    g.chi = (const char *const *)chi;
    g.nchi = nchi;
    g.seed = o.seed;
    if (o.pag_set) g.pag_scale = o.pag;
    g.pag_adaptive_scale = o.pag_ada;
    g.pag_applied_layers = o.pag_layers;
    if (o.maxt_set) g.max_timesteps = o.maxt;
    if (o.inter_set) {
        g.intermediate_unset = o.inter_none;
        if (!o.inter_none) g.intermediate_timesteps = o.inter;
    }
    g.scheduler = o.scheduler;
    g.flow_shift = o.shift;
    g.output_latent = latent_out;
    g.tiled_decode = o.tiled;
    g.progress = on_progress;
    if (lat) {
        g.latents = lat;
        g.latents_numel = lat_shape[0] * lat_shape[1] * lat_shape[2] * lat_shape[3];
    }
    if (emb) {
        g.prompt_embeds = emb;
        g.prompt_attention_mask = embm;
        g.prompt_embeds_len = (int)emb_len;
        g.prompt_embeds_dim = (int)emb_dim;
    }
    const char *model_name = strrchr(o.model, '/') && strrchr(o.model, '/')[1] ? strrchr(o.model, '/') + 1 : o.model;
    int nrun = prompts ? nprompts : 1;
    int many = nrun * o.nimg > 1, k = 0;
    for (int i = 0; i < nrun; i++) {
        g.prompt = prompts ? prompts[i] : o.prompt;
        if (lat) {
            int64_t want[4];
            if (sana_latent_shape(pipe, &g, want) != 0) {
                cli_fail("%s", sana_last_error());
                goto out;
            }
            if (memcmp(want, lat_shape, sizeof want) != 0) {
                cli_fail("%s: latents of shape [%lld, %lld, %lld, %lld] do not fit: this generation needs "
                         "[%lld, %lld, %lld, %lld]", o.latents_file, (long long)lat_shape[0], (long long)lat_shape[1],
                         (long long)lat_shape[2], (long long)lat_shape[3], (long long)want[0], (long long)want[1],
                         (long long)want[2], (long long)want[3]);
                goto out;
            }
        }
        if (prompts) say("prompt %d/%d: %s", i + 1, nrun, g.prompt);
        sana_result res;
        if (sana_generate(pipe, &g, &res) != 0) {
            cli_fail("%s", sana_last_error());
            goto out;
        }
        if (latent_out) {
            char *path = numbered(o.output, i + 1, nrun > 1);
            double t0 = now();
            int bad = !path || write_latents(path, &res, g.prompt);
            if (!bad) say("write: %s [%d, %d, %d, %d] (%.2f s)", path, res.batch, res.lat_channels, res.lat_height,
                          res.lat_width, now() - t0);
            free(path);
            k += res.batch;
            sana_result_free(&res);
            if (bad) goto out;
            continue;
        }
        char extra[256] = "";
        if (kind == SANA_PIPELINE_PAG)
            snprintf(extra, sizeof extra, "PAG scale: %g, PAG layers: %s", g.pag_scale,
                     g.pag_applied_layers ? g.pag_applied_layers : "transformer_blocks.0");
        const char *sampler = sana_sampler_display_name(o.scheduler ? o.scheduler : sana_pipeline_sampler(pipe));
        char *params = sana_format_parameters(g.prompt ? g.prompt : "(prompt embeddings)",
                                              kind == SANA_PIPELINE_SPRINT || g.guidance_scale <= 1 ? NULL : g.negative_prompt,
                                              g.num_inference_steps, sampler, g.guidance_scale, g.seed, res.width,
                                              res.height, model_name, extra);
        for (int j = 0; j < res.batch; j++) {
            char *path = numbered(o.output, ++k, many);
            double t0 = now();
            sana_status st = path ? sana_png_write(path, res.images + (size_t)j * res.height * res.width * 3,
                                                   res.width, res.height, params)
                                  : SANA_ERR_NOMEM;
            if (st != SANA_OK) {
                cli_fail("%s", path ? sana_errmsg() : "out of memory");
                free(path);
                free(params);
                sana_result_free(&res);
                goto out;
            }
            say("write: %s (%dx%d, %.2f s)", path, res.width, res.height, now() - t0);
            free(path);
        }
        free(params);
        sana_result_free(&res);
    }
    rc = 0;
out:
    if (pipe != base) sana_pipeline_free(pipe);
    sana_pipeline_free(base);
    free_lines(prompts, nprompts);
    free_lines(chi, nchi);
    free(lat);
    free(emb);
    free(embm);
    return rc;
}

/* ------------------------------------------------------------------ encode, decode */

static int cmd_encode(int argc, char **argv)
{
    cli_opts o;
    int r = parse_opts(argc, argv, &o);
    if (r) return r;
    if (!o.prompt) {
        fprintf(stderr, "sana: error: no prompt: give -p PROMPT\n");
        return 2;
    }
    if (!o.output) o.output = "embeds.safetensors";
    if (!o.model) {
        fprintf(stderr, "sana: error: no model folder: give -m DIR (see sana --help)\n");
        return 2;
    }
    if (cli_check_writable(o.output)) return 1;
    set_threads(o.threads);
    char **chi = NULL;
    int nchi = 0;
    sana_chi_mode mode = SANA_CHI_DEFAULT;
    if (o.chi_file && !strcmp(o.chi_file, "none")) mode = SANA_CHI_NONE;
    else if (o.chi_file) {
        if (read_lines(o.chi_file, &chi, &nchi, 0)) return 1;
        mode = nchi ? SANA_CHI_CUSTOM : SANA_CHI_NONE;
    }
    sana_pipeline *p = NULL;
    if ((r = load_pipeline(&o, &p)) != 0) {
        free_lines(chi, nchi);
        return r;
    }
    float *e = NULL, *m = NULL;
    int L = 0, D = 0, rc = 1;
    double t0 = now();
    if (sana_encode(p, o.prompt, mode, (const char *const *)chi, nchi, o.maxseq, &e, &m, &L, &D) != 0) {
        cli_fail("%s", sana_last_error());
    } else {
        say("encode: %.2f s", now() - t0);
        /* as encode_prompt returns them: float32 [1, L, D] and an int64 mask [1, L] */
        int64_t *mi = malloc(sizeof(int64_t) * (size_t)L);
        if (mi) {
            for (int i = 0; i < L; i++) mi[i] = (int64_t)m[i];
            sana_st_write_tensor t[2] = {{"prompt_embeds", SANA_F32, 3, {1, L, D}, e},
                                         {"prompt_attention_mask", SANA_I64, 2, {1, L}, mi}};
            const char *meta[] = {"prompt", o.prompt, "producer", "sana " PACKAGE_VERSION};
            if (sana_st_write(o.output, t, 2, meta, 2) != SANA_OK) cli_fail("%s", sana_errmsg());
            else {
                say("write: %s [1, %d, %d]", o.output, L, D);
                rc = 0;
            }
            free(mi);
        } else {
            cli_fail("out of memory");
        }
    }
    free(e);
    free(m);
    free_lines(chi, nchi);
    sana_pipeline_free(p);
    return rc;
}

static int cmd_decode(int argc, char **argv)
{
    cli_opts o;
    int r = parse_opts(argc, argv, &o);
    if (r) return r;
    if (!o.latents_file) {
        fprintf(stderr, "sana: error: no latents: give --latents FILE\n");
        return 2;
    }
    if (!o.output) o.output = "sana.png";
    if (!o.model) {
        fprintf(stderr, "sana: error: no model folder: give -m DIR (see sana --help)\n");
        return 2;
    }
    if (cli_check_writable(o.output)) return 1;
    set_threads(o.threads);
    sana_st_file *f = NULL;
    if (sana_st_open(&f, o.latents_file) != SANA_OK) return cli_fail("%s", sana_errmsg());
    const sana_st_tensor *t;
    float *lat = tensor_f32(f, "latents", &t);
    int64_t s[4] = {0};
    if (!t) {
        sana_st_close(f);
        free(lat);
        return cli_fail("%s: no tensor \"latents\"", o.latents_file);
    }
    if (t->wt.ndim != 4) {
        int nd = t->wt.ndim;
        sana_st_close(f);
        free(lat);
        return cli_fail("%s: \"latents\" must have 4 dimensions [B, C, h, w], not %d", o.latents_file, nd);
    }
    for (int i = 0; i < 4; i++) s[i] = t->wt.shape[i];
    sana_st_close(f);
    if (s[0] < 1 || s[0] > SANA_MAX_IMAGES || s[2] > SANA_MAX_SIZE || s[3] > SANA_MAX_SIZE || s[1] > 4096) {
        free(lat);
        return cli_fail("%s: latents of shape [%lld, %lld, %lld, %lld] are out of range", o.latents_file,
                        (long long)s[0], (long long)s[1], (long long)s[2], (long long)s[3]);
    }
    sana_pipeline *p = NULL;
    if ((r = load_pipeline(&o, &p)) != 0) {
        free(lat);
        return r;
    }
    uint8_t *img = NULL;
    int H = 0, W = 0, rc = 1;
    double t0 = now();
    if (sana_decode(p, lat, (int)s[0], (int)s[1], (int)s[2], (int)s[3], o.tiled, &img, &H, &W) != 0) {
        cli_fail("%s", sana_last_error());
    } else {
        say("decode: %.2f s", now() - t0);
        rc = 0;
        for (int j = 0; j < s[0] && rc == 0; j++) {
            char *path = numbered(o.output, j + 1, s[0] > 1);
            if (!path || sana_png_write(path, img + (size_t)j * H * W * 3, W, H, NULL) != SANA_OK) {
                rc = cli_fail("%s", path ? sana_errmsg() : "out of memory");
            } else {
                say("write: %s (%dx%d)", path, W, H);
            }
            free(path);
        }
    }
    free(img);
    free(lat);
    sana_pipeline_free(p);
    return rc;
}

int cli_tokenize(int argc, char **argv)
{
    cli_opts o;
    int r = parse_opts(argc, argv, &o);
    if (r) return r;
    if (!o.prompt) {
        fprintf(stderr, "sana: error: no text: give -p TEXT\n");
        return 2;
    }
    if (!o.model) {
        fprintf(stderr, "sana: error: no model folder: give -m DIR (see sana --help)\n");
        return 2;
    }
    char *path = malloc(strlen(o.model) + 32);
    if (!path) return cli_fail("out of memory");
    sprintf(path, "%s/tokenizer/tokenizer.json", o.model);
    struct stat st;
    if (stat(o.model, &st) != 0 || !S_ISDIR(st.st_mode)) {
        free(path);
        return cli_fail("%s: no such folder", o.model);
    }
    sana_tokenizer *t = NULL;
    if (sana_tokenizer_load(&t, path) != SANA_OK) {
        free(path);
        return cli_fail("%s", sana_errmsg());
    }
    free(path);
    int32_t *ids = NULL;
    int n = 0, rc = 0;
    if (sana_tokenize(t, o.prompt, strlen(o.prompt), 1, &ids, &n) != SANA_OK) {
        rc = cli_fail("%s", sana_errmsg());
    } else {
        for (int i = 0; i < n; i++) printf(i ? " %d" : "%d", ids[i]);
        printf("\n");
    }
    free(ids);
    sana_tokenizer_free(t);
    return rc;
}

/* Ctrl-C or kill during a run: remove a half-written PNG's temporary file, then exit as the
 * signal would (the output name itself is only ever created by a rename of a complete file). */
static void on_signal(int sig)
{
    sana_png_abort_cleanup();
    signal(sig, SIG_DFL);
    raise(sig);
}

int main(int argc, char **argv)
{
    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    const char *cmd = argv[1];
    if (!strcmp(cmd, "--version")) {
        printf("sana (libsana) %s\n", sana_version());
        return 0;
    }
    if (!strcmp(cmd, "--help") || !strcmp(cmd, "-h") || !strcmp(cmd, "help")) {
        usage(stdout);
        return 0;
    }
    if (!strcmp(cmd, "generate")) return cmd_generate(argc - 1, argv + 1);
    if (!strcmp(cmd, "encode")) return cmd_encode(argc - 1, argv + 1);
    if (!strcmp(cmd, "decode")) return cmd_decode(argc - 1, argv + 1);
    if (!strcmp(cmd, "tokenize")) return cli_tokenize(argc - 1, argv + 1);
    if (!strcmp(cmd, "info")) return cli_info(argc - 1, argv + 1);
    if (cmd[0] == '-') fprintf(stderr, "sana: error: unknown option %s (see sana --help)\n", cmd);
    else fprintf(stderr, "sana: error: unknown command \"%s\" (generate, encode, decode, tokenize, info)\n", cmd);
    return 2;
}
