/* src/cli/serve.c -- `sana serve`: the options of the one table, then the HTTP server of src/server/
 * (doc/serving.md). Built without libmicrohttpd, the command says so and fails. */
#include <stdio.h>
#include <stdlib.h>

#include "sana.h"
#include "cli/cli.h"
#include "cli/serve.h"

int cmd_serve(int argc, char **argv)
{
    cli_opts o;
    int r = cli_parse(argc, argv, CLI_SERVE, &o);
    if (r) return r;
    if (!o.model) return cli_usage_fail("no model folder: give -m DIR (see sana serve --help)");
#ifdef SANA_HAVE_SERVER
    const char *key = o.api_key ? o.api_key : getenv("SANA_API_KEY");
    srv_config c = {
        .model = o.model,
        .host = o.host ? o.host : "127.0.0.1",
        .port = o.port_set ? o.port : 7860,
        .backend = o.backend,
        .quantize = o.quantize,
        .lora = o.lora,
        .nlora = o.nlora,
        .variant = o.variant,
        .low_memory = o.lowmem,
        .threads = o.threads,
        .max_queue = o.max_queue > 0 ? o.max_queue : 4,
        .api_key = key && *key ? key : NULL,
        .timeout = o.timeout > 0 ? o.timeout : 30,
        .quiet = o.quiet,
    };
    return srv_run(&c);
#else
    return cli_fail("sana serve: this sana was built without its HTTP server (configure found no libmicrohttpd; "
                    "Debian: apt-get install libmicrohttpd-dev, then configure again)");
#endif
}
