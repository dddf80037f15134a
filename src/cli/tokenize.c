/* src/cli/tokenize.c -- `sana tokenize -m DIR -p TEXT`: the token ids of a text with the checkpoint's
 * tokenizer (no model is loaded), on one line. */
#include <stdio.h>
#include <stdlib.h>

#include "sana.h"
#include "cli/cli.h"

int cmd_tokenize(int argc, char **argv)
{
    cli_opts o;
    int r = cli_parse(argc, argv, CLI_TOKENIZE, &o);
    if (r) return r;
    if (!o.prompt) return cli_usage_fail("no text: give -p TEXT");
    if (!o.model) return cli_usage_fail("no model folder: give -m DIR (see sana --help)");
    int32_t *ids = NULL;
    int n = 0;
    if (sana_text_tokenize(o.model, o.prompt, &ids, &n) != 0) return cli_fail("%s", sana_last_error());
    for (int i = 0; i < n; i++) printf(i ? " %d" : "%d", (int)ids[i]);
    printf("\n");
    free(ids);
    return 0;
}
