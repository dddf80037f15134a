/* src/cli/convert.c -- `sana convert -m DIR -o OUT_DIR --quantize TYPE`: a copy of a pipeline folder
 * with the transformer and the text encoder quantized (int8, q4, or per component), which `sana
 * generate -m OUT_DIR` maps directly: no float copy, no quantizing at every load. */
#include "sana.h"
#include "cli/cli.h"

int cmd_convert(int argc, char **argv)
{
    cli_opts o;
    int r = cli_parse(argc, argv, CLI_CONVERT, &o);
    if (r) return r;
    if (!o.model) return cli_usage_fail("no model folder: give -m DIR (see sana convert --help)");
    if (!o.output) return cli_usage_fail("no output folder: give -o OUT_DIR");
    if (!o.quantize) return cli_usage_fail("nothing to convert: give --quantize int8|q4 (or text_encoder=int8,...)");
    double t0 = cli_now();
    sana_load_options lo = {.variant = o.variant, .quantize = o.quantize};
    if (sana_pipeline_convert(o.model, o.output, &lo) != 0) return cli_fail("%s", sana_last_error());
    cli_say("convert: %s -> %s (quantize %s): %.2f s", o.model, o.output, o.quantize, cli_now() - t0);
    return 0;
}
