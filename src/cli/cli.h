/* src/cli/cli.h -- shared pieces of the `sana` command: the command and option tables, the parsed
 * options, messages, and helpers of the subcommands (one file each: generate.c, encode.c, decode.c,
 * tokenize.c, info.c). The command uses the public API (sana.h) only. */
#ifndef SANA_CLI_H
#define SANA_CLI_H

#include <stdint.h>
#include <stdio.h>

#include "sana.h"

/* ------------------------------------------------------------------ commands (main.c) */

/* Subcommands as bits, for the option table's "which commands take it". */
enum { CLI_GENERATE = 1, CLI_ENCODE = 2, CLI_DECODE = 4, CLI_TOKENIZE = 8, CLI_INFO = 16, CLI_SERVE = 32, CLI_CONVERT = 64 };

typedef struct {
    const char *name;     /* "generate" */
    unsigned bit;         /* CLI_GENERATE */
    int (*run)(int argc, char **argv); /* argv[0] is the command name; returns the exit status */
    const char *synopsis; /* "-m DIR -p PROMPT [-n NEGATIVE] -o OUT.png" */
    const char *what;     /* "text to image" */
} cli_command;

extern const cli_command cli_commands[];
extern const int cli_ncommands;

int cmd_generate(int argc, char **argv);
int cmd_encode(int argc, char **argv);
int cmd_decode(int argc, char **argv);
int cmd_convert(int argc, char **argv);
int cmd_tokenize(int argc, char **argv);
int cmd_info(int argc, char **argv);
int cmd_serve(int argc, char **argv);

/* ------------------------------------------------------------------ options (options.c) */

/* What the options set; cli_parse fills the defaults first. */
typedef struct {
    unsigned cmd;         /* the command parsing (CLI_*) */
    const char *model, *prompt, *negative, *output, *chi_file, *pag_layers, *scheduler, *otype, *latents_file,
        *embeds_file, *variant, *prompt_file, *backend, *quantize, *image_file, *control_image, *controlnet;
    int steps, height, width, nimg, maxseq, nobin, threads, lowmem, tiled, quiet;
    int steps_set, cfg_set, pag_set, inter_set, inter_none, maxt_set, strength_set, cn_scale_set;
    const char *lora[SANA_MAX_LORA]; /* --lora FILE[:SCALE], repeatable */
    int nlora;
    double cfg, pag, pag_ada, shift, maxt, inter, strength, cn_scale;
    uint64_t seed;
    /* serve */
    const char *host, *api_key;
    int port, port_set, max_queue, timeout;
} cli_opts;

/* Parse the options of command cmd (argv[0] is its name) into o, from the one option table.
 * Returns 0, or the exit status after printing the message: 2 for usage errors (unknown option,
 * missing value, an option the command does not take, a stray argument), 1 for bad values.
 * --help and --version print and exit 0. */
int cli_parse(int argc, char **argv, unsigned cmd, cli_opts *o);
/* The whole help (sana --help), or that of one command (cmd: a CLI_* bit). */
void cli_usage(FILE *fp, unsigned cmd);

/* ------------------------------------------------------------------ messages, helpers (common.c) */

/* Print "sana: error: MSG" (one line) to stderr; returns 1, the exit status of a failed run. */
int cli_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* The same for usage errors ("... (see sana --help)" is the caller's); returns 2. */
int cli_usage_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* A progress line "sana: MSG" on stderr, unless --quiet. */
void cli_say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void cli_set_quiet(int quiet);
/* Monotonic wall time in seconds. */
double cli_now(void);

/* Check that a file can be created at path (its folder exists and is writable); 0 or a message (1). */
int cli_check_writable(const char *path);
/* Before anything is read: the model folder was given (else 2 with a message), the output (when there
 * is one) can be written (else 1). 0 or the exit status. */
int cli_prepare(const cli_opts *o);
/* Load the pipeline of -m with --variant, --low-memory, --backend and --threads, with a progress line
 * (backend, memory of the prepared weights); 0 or the exit status. */
int cli_load_pipeline(const cli_opts *o, sana_pipeline **p);

/* Lines of a text file (newlines removed; empty lines dropped when skip_empty), each valid UTF-8. */
int cli_read_lines(const char *path, char ***lines, int *n, int skip_empty);
void cli_free_lines(char **v, int n);
/* --chi FILE|none as a CHI mode and lines. */
int cli_read_chi(const char *chi_file, sana_chi_mode *mode, char ***chi, int *nchi);
/* OUT.png -> OUT-<k>.png (k from 1) when many, else a copy of OUT; malloc'd, NULL when out of memory. */
char *cli_numbered(const char *out, int k, int many);
/* The latents of a --latents file: a 4-dimensional tensor "latents" [B, C, h, w]. */
int cli_read_latents(const char *path, float **lat, int64_t shape[4]);

#endif
