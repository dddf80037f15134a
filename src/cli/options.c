/* src/cli/options.c -- the one option table of `sana`. Each option is declared once, below; the
 * getopt_long array, its optstring, the parser, the per-command checks and --help are all made
 * from this table. */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sana.h"
#include "cli/cli.h"

typedef enum {
    OPT_FLAG,   /* no value: the int field becomes 1 */
    OPT_ACTION, /* no value: fn runs (--help, --version) */
    OPT_STR,    /* the value as it is */
    OPT_CHOICE, /* one of the values the metavar lists, "a|b|c" */
    OPT_INT,    /* a whole number in [lo, hi] */
    OPT_U64,    /* a non-negative whole number */
    OPT_DOUBLE, /* a finite number */
    OPT_CUSTOM  /* a value that fn parses */
} opt_kind;

typedef struct cli_option cli_option;
struct cli_option {
    const char *name;    /* long name, without "--" */
    const char *alias;   /* a second long name, or NULL */
    char short_name;     /* 0: none */
    opt_kind kind;
    const char *metavar; /* NULL for OPT_FLAG / OPT_ACTION */
    unsigned cmds;       /* the commands that take it (CLI_* bits) */
    size_t field;        /* offsetof(cli_opts, ...) of the value */
    size_t given;        /* offsetof an int set to 1 when the option is given, or NOFIELD */
    long lo, hi;         /* OPT_INT: the range */
    /* OPT_ACTION, OPT_CUSTOM: the handler; other kinds: an extra check after the value is stored.
     * Returns 0 or the exit status. */
    int (*fn)(const cli_option *opt, const char *arg, cli_opts *o);
    const char *help;    /* "\n" starts a continuation line */
};

#define NOFIELD ((size_t)-1)
#define F(x) offsetof(cli_opts, x)
#define ALL (CLI_GENERATE | CLI_ENCODE | CLI_DECODE | CLI_TOKENIZE | CLI_SERVE)
#define G CLI_GENERATE
#define E CLI_ENCODE
#define D CLI_DECODE
#define T CLI_TOKENIZE
#define S CLI_SERVE
#define C CLI_CONVERT
#define BIG 1000000 /* counts are range-checked by the library, with diffusers' messages */

static int show_help(const cli_option *opt, const char *arg, cli_opts *o);
static int show_version(const cli_option *opt, const char *arg, cli_opts *o);
static int must_be_positive(const cli_option *opt, const char *arg, cli_opts *o);
static int must_be_unit(const cli_option *opt, const char *arg, cli_opts *o);
static int parse_intermediate(const cli_option *opt, const char *arg, cli_opts *o);
static int add_lora(const cli_option *opt, const char *arg, cli_opts *o);

/* In the order of --help. */
static const cli_option options[] = {
    {"model", NULL, 'm', OPT_STR, "DIR", ALL | C, F(model), NOFIELD, 0, 0, NULL, "pipeline folder (required)"},
    {"prompt", NULL, 'p', OPT_STR, "TEXT", G | E | T, F(prompt), NOFIELD, 0, 0, NULL, "the prompt (UTF-8)"},
    {"prompt-file", NULL, 0, OPT_STR, "FILE", G, F(prompt_file), NOFIELD, 0, 0, NULL,
     "several prompts, one a line; the model is loaded once and the\n"
     "outputs are numbered OUT-1.png, OUT-2.png, ..."},
    {"negative-prompt", NULL, 'n', OPT_STR, "TEXT", G, F(negative), NOFIELD, 0, 0, NULL,
     "negative prompt (default: \"\")"},
    {"output", NULL, 'o', OPT_STR, "FILE", G | E | D | C, F(output), NOFIELD, 0, 0, NULL,
     "output (default: sana.png; encode: embeds.safetensors; convert: a folder)"},
    {"num-inference-steps", "steps", 0, OPT_INT, "N", G, F(steps), F(steps_set), -BIG, BIG, NULL,
     "denoising steps (default: 20; Sprint checkpoints: 2)"},
    {"guidance-scale", "cfg-scale", 0, OPT_DOUBLE, "G", G, F(cfg), F(cfg_set), 0, 0, NULL,
     "classifier-free guidance scale, on when > 1 (default: 4.5;\nSprint: the embedded guidance)"},
    {"height", NULL, 'H', OPT_INT, "N", G, F(height), NOFIELD, 1, 1 << 20, NULL,
     "image height, 1 .. 16384, generated at the bin and resized to it;\nwith --no-resolution-binning a multiple of 32 from 32 (default:\nthe transformer's sample_size x 32, e.g. 512 for Sana_600M_512px)"},
    {"width", NULL, 'W', OPT_INT, "N", G, F(width), NOFIELD, 1, 1 << 20, NULL, "image width, likewise"},
    {"seed", NULL, 's', OPT_U64, "N", G, F(seed), NOFIELD, 0, 0, NULL,
     "seed of torch.Generator(\"cpu\").manual_seed (default: 0)"},
    {"num-images-per-prompt", NULL, 0, OPT_INT, "N", G, F(nimg), NOFIELD, -BIG, BIG, NULL,
     "images per prompt (default: 1); several images are numbered"},
    {"max-sequence-length", NULL, 0, OPT_INT, "N", G | E, F(maxseq), NOFIELD, -BIG, BIG, NULL,
     "prompt tokens kept (default: 300)"},
    {"no-resolution-binning", NULL, 0, OPT_FLAG, NULL, G, F(nobin), NOFIELD, 0, 0, NULL,
     "generate at the asked size instead of the nearest aspect-ratio bin\n(whose image is resized and centre-cropped to the asked size)"},
    {"chi", NULL, 0, OPT_STR, "FILE|none", G | E, F(chi_file), NOFIELD, 0, 0, NULL,
     "complex human instruction: lines of FILE, or none\n(default: the instruction of diffusers' SanaPipeline)"},
    {"pag-scale", NULL, 0, OPT_DOUBLE, "S", G, F(pag), F(pag_set), 0, 0, NULL,
     "perturbed-attention guidance scale; > 0 runs SanaPAGPipeline\non the same components (default: 0 = off; "
     "3.0 on a\nSanaPAGPipeline checkpoint)"},
    {"pag-adaptive-scale", NULL, 0, OPT_DOUBLE, "S", G, F(pag_ada), NOFIELD, 0, 0, NULL,
     "adaptive PAG scale (default: 0)"},
    {"pag-applied-layers", NULL, 0, OPT_STR, "L", G, F(pag_layers), NOFIELD, 0, 0, NULL,
     "comma-separated layer patterns (default: transformer_blocks.0)"},
    {"control-image", NULL, 0, OPT_STR, "FILE", G, F(control_image), NOFIELD, 0, 0, NULL,
     "ControlNet: the control image (PNG, e.g. an HED edge map), resized\nto the generated size as diffusers' load_image + preprocess do"},
    {"controlnet-conditioning-scale", NULL, 0, OPT_DOUBLE, "S", G, F(cn_scale), F(cn_scale_set), 0, 0, NULL,
     "ControlNet: its block samples are multiplied by S (default: 1.0)"},
    {"controlnet", NULL, 0, OPT_STR, "DIR", G, F(controlnet), NOFIELD, 0, 0, NULL,
     "a SanaControlNetModel folder: runs SanaControlNetPipeline over the\ncheckpoint (default: its controlnet/ "
     "when it is a\nSanaControlNetPipeline)"},
    {"scheduler", NULL, 0, OPT_CHOICE, "dpm|euler|scm", G, F(scheduler), NOFIELD, 0, 0, NULL,
     "sampler (default: the checkpoint's scheduler config)"},
    {"flow-shift", NULL, 0, OPT_DOUBLE, "X", G, F(shift), NOFIELD, 0, 0, must_be_positive,
     "override the sampler's flow shift (default: the checkpoint's)"},
    {"max-timesteps", NULL, 0, OPT_DOUBLE, "X", G, F(maxt), F(maxt_set), 0, 0, NULL,
     "Sprint: largest SCM time (default: 1.5708)"},
    {"intermediate-timesteps", NULL, 0, OPT_CUSTOM, "X|none", G, F(inter), F(inter_set), 0, 0, parse_intermediate,
     "Sprint: middle SCM time of 2-step runs (default: 1.3; other step\ncounts need none, as diffusers requires)"},
    {"image", NULL, 'i', OPT_STR, "FILE", G, F(image_file), NOFIELD, 0, 0, NULL,
     "init image (PNG) for image to image: runs SanaSprintImg2ImgPipeline\n(a SANA-Sprint checkpoint); resized to the generated size"},
    {"strength", NULL, 0, OPT_DOUBLE, "S", G, F(strength), F(strength_set), 0, 0, must_be_unit,
     "with --image: how much of the image is redone, 0 .. 1; the steps\nrun are those of the last S of the schedule (default: 0.6)"},
    {"output-type", NULL, 0, OPT_CHOICE, "png|latent", G, F(otype), NOFIELD, 0, 0, NULL,
     "png (default), or latent: a safetensors file with a tensor\n\"latents\" [B, C, H/32, W/32], the input of VAE decode"},
    {"latents", NULL, 0, OPT_STR, "FILE", G | D, F(latents_file), NOFIELD, 0, 0, NULL,
     "initial latents (a safetensors tensor \"latents\")"},
    {"prompt-embeds", NULL, 0, OPT_STR, "FILE", G, F(embeds_file), NOFIELD, 0, 0, NULL,
     "prompt embeddings instead of a prompt (what `sana encode` writes)"},
    {"tiled-decode", NULL, 0, OPT_FLAG, NULL, G | D, F(tiled), NOFIELD, 0, 0, NULL,
     "decode the VAE in tiles (less memory for large images); with\n--image the encode too (diffusers' enable_vae_tiling)"},
    {"low-memory", NULL, 0, OPT_FLAG, NULL, G | E | D | S, F(lowmem), NOFIELD, 0, 0, NULL,
     "load the text encoder only while encoding, then release it"},
    {"threads", NULL, 0, OPT_INT, "N", G | E | D | S, F(threads), NOFIELD, 1, 4096, NULL,
     "threads for OpenMP and BLAS (default: all cores)"},
    {"backend", NULL, 0, OPT_STR, "NAME", G | E | D | S, F(backend), NOFIELD, 0, 0, NULL,
     "the backend that runs the models (default: cpu; see\nsana --list-backends)"},
    {"lora", NULL, 0, OPT_CUSTOM, "FILE[:SCALE]", G | S, NOFIELD, NOFIELD, 0, 0, add_lora,
     "a LoRA of the transformer (diffusers, PEFT or kohya names),\nmerged at load with SCALE (default 1); repeatable"},
    {"quantize", NULL, 0, OPT_STR, "TYPE", G | E | S | C, F(quantize), NOFIELD, 0, 0, NULL,
     "int8 or q4: quantize the transformer and the text encoder at\nload; per component: text_encoder=int8,transformer=q4"},
    {"variant", NULL, 0, OPT_CHOICE, "fp16|bf16", G | E | D | S | C, F(variant), NOFIELD, 0, 0, NULL,
     "load the *.VARIANT.safetensors weight files (default: float32 files)"},
    {"host", NULL, 0, OPT_STR, "ADDR", S, F(host), NOFIELD, 0, 0, NULL,
     "serve: the IPv4 address to listen on (default: 127.0.0.1)"},
    {"port", NULL, 0, OPT_INT, "N", S, F(port), F(port_set), 0, 65535, NULL,
     "serve: the TCP port (default: 7860; 0: any free port)"},
    {"max-queue", NULL, 0, OPT_INT, "N", S, F(max_queue), NOFIELD, 1, 1024, NULL,
     "serve: jobs waiting behind the running one before 503\n(default: 4)"},
    {"api-key", NULL, 0, OPT_STR, "KEY", S, F(api_key), NOFIELD, 0, 0, NULL,
     "serve: require \"Authorization: Bearer KEY\" (default: $SANA_API_KEY,\nelse none)"},
    {"timeout", NULL, 0, OPT_INT, "S", S, F(timeout), NOFIELD, 1, 3600, NULL,
     "serve: seconds a connection may stay idle or take to send\nits request (default: 30)"},
    {"quiet", NULL, 'q', OPT_FLAG, NULL, ALL | C, F(quiet), NOFIELD, 0, 0, NULL, "no progress lines on stderr"},
    {"help", NULL, 'h', OPT_ACTION, NULL, ALL | C, NOFIELD, NOFIELD, 0, 0, show_help, "this help"},
    {"version", NULL, 0, OPT_ACTION, NULL, ALL, NOFIELD, NOFIELD, 0, 0, show_version, "the libsana version"},
};
#define NOPTIONS ((int)(sizeof options / sizeof options[0]))

/* ------------------------------------------------------------------ values */

static void *field(cli_opts *o, size_t off) { return (char *)o + off; }

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

/* s must be one of the "|"-separated words of choices ("dpm|euler|scm"). */
static int parse_choice(const char *opt, const char *choices, const char *s)
{
    size_t n = strlen(s);
    for (const char *c = choices; *c;) {
        size_t len = strcspn(c, "|");
        if (len == n && !strncmp(c, s, n)) return 0;
        c += len + (c[len] == '|');
    }
    char list[128];
    size_t k = 0;
    for (const char *c = choices; *c && k + 3 < sizeof list; c++) {
        if (*c == '|') list[k++] = ',', list[k++] = ' ';
        else list[k++] = *c;
    }
    list[k] = 0;
    return cli_fail("%s: \"%s\" is not one of %s", opt, s, list);
}

static int must_be_positive(const cli_option *opt, const char *arg, cli_opts *o)
{
    if (*(double *)field(o, opt->field) <= 0) return cli_fail("--%s must be positive, not %s", opt->name, arg);
    return 0;
}

static int must_be_unit(const cli_option *opt, const char *arg, cli_opts *o)
{
    double v = *(double *)field(o, opt->field);
    if (!(v >= 0 && v <= 1)) return cli_fail("--%s must be between 0 and 1, not %s", opt->name, arg);
    return 0;
}

/* --intermediate-timesteps X|none */
static int parse_intermediate(const cli_option *opt, const char *arg, cli_opts *o)
{
    o->inter_none = !strcmp(arg, "none");
    if (o->inter_none) return 0;
    char name[64];
    snprintf(name, sizeof name, "--%s", opt->name);
    return parse_double(name, arg, field(o, opt->field));
}

static int add_lora(const cli_option *opt, const char *arg, cli_opts *o)
{
    (void)opt;
    if (o->nlora >= SANA_MAX_LORA) return cli_usage_fail("--lora: at most %d LoRA files", SANA_MAX_LORA);
    o->lora[o->nlora++] = arg;
    return 0;
}

static int show_help(const cli_option *opt, const char *arg, cli_opts *o)
{
    (void)opt, (void)arg;
    cli_usage(stdout, o->cmd);
    exit(0);
}

static int show_version(const cli_option *opt, const char *arg, cli_opts *o)
{
    (void)opt, (void)arg, (void)o;
    printf("sana (libsana) %s\n", sana_version());
    exit(0);
}

/* Store the value of one option given on the command line. */
static int set_option(const cli_option *opt, const char *arg, cli_opts *o)
{
    char name[64];
    snprintf(name, sizeof name, "--%s", opt->name);
    if (opt->given != NOFIELD) *(int *)field(o, opt->given) = 1;
    int r = 0;
    switch (opt->kind) {
    case OPT_FLAG: *(int *)field(o, opt->field) = 1; return 0;
    case OPT_ACTION:
    case OPT_CUSTOM: return opt->fn(opt, arg, o);
    case OPT_STR: *(const char **)field(o, opt->field) = arg; break;
    case OPT_CHOICE:
        if ((r = parse_choice(name, opt->metavar, arg)) == 0) *(const char **)field(o, opt->field) = arg;
        break;
    case OPT_INT: r = parse_int(name, arg, opt->lo, opt->hi, field(o, opt->field)); break;
    case OPT_U64: r = parse_u64(name, arg, field(o, opt->field)); break;
    case OPT_DOUBLE: r = parse_double(name, arg, field(o, opt->field)); break;
    }
    if (!r && opt->fn) r = opt->fn(opt, arg, o);
    return r;
}

/* ------------------------------------------------------------------ getopt_long from the table */

static int takes_value(const cli_option *opt) { return opt->kind != OPT_FLAG && opt->kind != OPT_ACTION; }

/* getopt_long's array and optstring; an option's val is 256 + its index in the table. */
static void build_getopt(struct option *longs, char *shorts)
{
    int k = 0, s = 0;
    shorts[s++] = ':';
    for (int i = 0; i < NOPTIONS; i++) {
        const cli_option *opt = &options[i];
        int has = takes_value(opt) ? required_argument : no_argument;
        longs[k++] = (struct option){opt->name, has, NULL, 256 + i};
        if (opt->alias) longs[k++] = (struct option){opt->alias, has, NULL, 256 + i};
        if (opt->short_name) {
            shorts[s++] = opt->short_name;
            if (has) shorts[s++] = ':';
        }
    }
    longs[k] = (struct option){NULL, 0, NULL, 0};
    shorts[s] = 0;
}

/* The table entry of what getopt_long returned: 256 + index, or a short option's letter. */
static const cli_option *find_option(int c)
{
    if (c >= 256 && c < 256 + NOPTIONS) return &options[c - 256];
    for (int i = 0; i < NOPTIONS; i++)
        if (options[i].short_name && options[i].short_name == c) return &options[i];
    return NULL;
}

static const char *command_name(unsigned cmd)
{
    for (int i = 0; i < cli_ncommands; i++)
        if (cli_commands[i].bit == cmd) return cli_commands[i].name;
    return "?";
}

static void set_defaults(cli_opts *o, unsigned cmd)
{
    memset(o, 0, sizeof *o);
    o->cmd = cmd;
    o->nimg = 1;
    o->maxseq = 300;
    o->otype = "png";
}

/* After the options: no stray argument, prompts valid UTF-8. */
static int check_rest(int argc, char **argv, const cli_opts *o)
{
    if (optind < argc) return cli_usage_fail("unexpected argument \"%s\" (see sana --help)", argv[optind]);
    if (o->prompt && !sana_utf8_valid(o->prompt)) return cli_fail("--prompt is not valid UTF-8");
    if (o->negative && !sana_utf8_valid(o->negative)) return cli_fail("--negative-prompt is not valid UTF-8");
    return 0;
}

int cli_parse(int argc, char **argv, unsigned cmd, cli_opts *o)
{
    static struct option longs[2 * NOPTIONS + 1];
    static char shorts[3 * NOPTIONS + 2];
    build_getopt(longs, shorts);
    set_defaults(o, cmd);
    optind = 1;
    opterr = 0;
    int c;
    while ((c = getopt_long(argc, argv, shorts, longs, NULL)) != -1) {
        const char *typed = optind > 0 && optind <= argc ? argv[optind - 1] : "";
        if (c == ':') return cli_usage_fail("option %s needs a value (see sana --help)", typed);
        const cli_option *opt = find_option(c);
        if (!opt) return cli_usage_fail("unknown option %s (see sana --help)", typed);
        if (!(opt->cmds & cmd))
            return cli_usage_fail("option --%s does not apply to sana %s (see sana %s --help)", opt->name,
                                  command_name(cmd), command_name(cmd));
        int r = set_option(opt, optarg, o);
        if (r) return r;
    }
    cli_set_quiet(o->quiet);
    return check_rest(argc, argv, o);
}

/* ------------------------------------------------------------------ --help from the table */

#define HELP_COLUMN 32

/* "  -m, --model DIR" (or "      --steps N, --num-inference-steps N") then the help, its
 * continuation lines indented to HELP_COLUMN. */
static void put_option(FILE *fp, const cli_option *opt)
{
    const char *meta_sep = opt->metavar ? " " : "", *meta = opt->metavar ? opt->metavar : "";
    char head[128];
    int n = opt->short_name ? snprintf(head, sizeof head, "  -%c, --%s%s%s", opt->short_name, opt->name, meta_sep, meta)
                            : snprintf(head, sizeof head, "      --%s%s%s", opt->name, meta_sep, meta);
    if (opt->alias) snprintf(head + n, sizeof head - (size_t)n, ", --%s%s%s", opt->alias, meta_sep, meta);
    if (strlen(head) < HELP_COLUMN) fprintf(fp, "%-*s", HELP_COLUMN, head);
    else fprintf(fp, "%s\n%*s", head, HELP_COLUMN, "");
    for (const char *s = opt->help; *s; s++) {
        fputc(*s, fp);
        if (*s == '\n') fprintf(fp, "%*s", HELP_COLUMN, "");
    }
    fputc('\n', fp);
}

static void put_options(FILE *fp, unsigned cmd)
{
    for (int i = 0; i < NOPTIONS; i++)
        if (options[i].cmds & cmd) put_option(fp, &options[i]);
}

static void put_commands(FILE *fp)
{
    fprintf(fp, "Commands:\n");
    for (int i = 0; i < cli_ncommands; i++)
        fprintf(fp, "  %-8s %-43s %s\n", cli_commands[i].name, cli_commands[i].synopsis, cli_commands[i].what);
    fprintf(fp, "  --list-backends, --version, --help\n");
}

void cli_usage(FILE *fp, unsigned cmd)
{
    for (int i = 0; cmd != CLI_GENERATE && i < cli_ncommands; i++)
        if (cli_commands[i].bit == cmd) {
            fprintf(fp, "usage: sana %s %s\n  %s\n\nOptions:\n", cli_commands[i].name, cli_commands[i].synopsis,
                    cli_commands[i].what);
            put_options(fp, cmd);
            return;
        }
    fprintf(fp, "usage: sana COMMAND [options]\n\n");
    put_commands(fp);
    fprintf(fp, "\n"
                "DIR is a diffusers pipeline folder as downloaded (model_index.json, transformer/, vae/, scheduler/,\n"
                "text_encoder/, tokenizer/), e.g. Efficient-Large-Model/Sana_600M_512px_diffusers.\n"
                "Pipelines (model_index.json _class_name): SanaPipeline, SanaPAGPipeline (or --pag-scale),\n"
                "SanaSprintPipeline, SanaSprintImg2ImgPipeline (or a Sprint folder with --image), e.g.\n"
                "  sana generate -m Sana_Sprint_1.6B_1024px_diffusers -i photo.png --strength 0.5 \\\n"
                "      -p \"a cute pink bear\" -H 832 -W 480 -o bear.png\n"
                "\n"
                "Options (generate; encode, decode and tokenize take the ones that apply, see sana COMMAND --help):\n");
    put_options(fp, CLI_GENERATE);
}
