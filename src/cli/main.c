/* src/cli/main.c -- the `sana` command: the table of subcommands, dispatch and signals.
 *
 * Each subcommand has its own file (generate.c, encode.c, decode.c, tokenize.c, info.c); options
 * come from the one table of options.c. The command uses the public API (sana.h) only, as any
 * program would: only it prints and exits, every library error comes back as a status with a
 * message (sana_last_error), printed as one line "sana: error: ..." with exit status 1 (2 for
 * usage errors).
 */
#include <signal.h>
#include <stdio.h>
#include <string.h>
#ifdef __GLIBC__
#include <malloc.h> /* mallopt */
#endif

#include "sana.h"
#include "cli/cli.h"

const cli_command cli_commands[] = {
    {"generate", CLI_GENERATE, cmd_generate, "-m DIR -p PROMPT [-n NEGATIVE] -o OUT.png", "text to image (-i IMAGE: image to image)"},
    {"encode", CLI_ENCODE, cmd_encode, "-m DIR -p PROMPT -o EMB.safetensors", "prompt_embeds + prompt_attention_mask"},
    {"decode", CLI_DECODE, cmd_decode, "-m DIR --latents FILE -o OUT.png", "VAE decode of latents"},
    {"tokenize", CLI_TOKENIZE, cmd_tokenize, "-m DIR -p TEXT", "print the token ids"},
    {"info", CLI_INFO, cmd_info, "DIR | IMAGE.png", "components of a checkpoint, or how an image was made"},
    {"convert", CLI_CONVERT, cmd_convert, "-m DIR -o OUT_DIR --quantize int8|q4", "write a quantized copy of a pipeline folder"},
    {"serve", CLI_SERVE, cmd_serve, "-m DIR [--host 127.0.0.1] [--port 7860]", "HTTP server: OpenAI and A1111 APIs"},
};
const int cli_ncommands = (int)(sizeof cli_commands / sizeof cli_commands[0]);

/* Ctrl-C or kill during a run: remove a half-written PNG's temporary file, then exit as the
 * signal would (the output name itself is only ever created by a rename of a complete file). */
static void on_signal(int sig)
{
    sana_image_abort_cleanup();
    signal(sig, SIG_DFL);
    raise(sig);
}

/* "generate, encode, decode, tokenize, info" */
static void command_list(char *s, size_t n)
{
    size_t k = 0;
    s[0] = 0;
    for (int i = 0; i < cli_ncommands && k < n; i++)
        k += (size_t)snprintf(s + k, n - k, "%s%s", i ? ", " : "", cli_commands[i].name);
}

/* sana --list-backends: each compiled backend with its description, the default marked. */
static int list_backends(void)
{
    const char *name, *what, *def = sana_backend_default_name();
    for (int i = 0; sana_backend_list(i, &name, &what); i++)
        printf("%-6s %s%s\n", name, what, strcmp(name, def) ? "" : " [default]");
    return 0;
}

int main(int argc, char **argv)
{
#ifdef __GLIBC__
    /* A fixed threshold: buffers of 16 MB and more (activations, oneDNN's blocked copies) are their
     * own mappings, given back to the system when freed. glibc's default threshold rises to the
     * size of each large block freed (up to 32 MB), after which such buffers come from the heap,
     * which fragments and keeps them: 100 MB more at the peak of a 512 px int8 generation. */
    mallopt(M_MMAP_THRESHOLD, 16 << 20);
#endif
    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);
    if (argc < 2) {
        cli_usage(stderr, 0);
        return 2;
    }
    const char *cmd = argv[1];
    if (!strcmp(cmd, "--version")) {
        printf("sana (libsana) %s\n", sana_version());
        return 0;
    }
    if (!strcmp(cmd, "--list-backends")) return list_backends();
    if (!strcmp(cmd, "--help") || !strcmp(cmd, "-h") || !strcmp(cmd, "help")) {
        cli_usage(stdout, 0);
        return 0;
    }
    for (int i = 0; i < cli_ncommands; i++)
        if (!strcmp(cmd, cli_commands[i].name)) return cli_commands[i].run(argc - 1, argv + 1);
    if (cmd[0] == '-') return cli_usage_fail("unknown option %s (see sana --help)", cmd);
    char list[128];
    command_list(list, sizeof list);
    return cli_usage_fail("unknown command \"%s\" (%s)", cmd, list);
}
