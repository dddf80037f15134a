/* src/cli/encode.c -- `sana encode -m DIR -p PROMPT -o EMB.safetensors`: encode_prompt of one prompt,
 * written as diffusers returns it: prompt_embeds float32 [1, L, D], prompt_attention_mask int64 [1, L]. */
#include <stdint.h>
#include <stdlib.h>

#include "sana.h"
#include "cli/cli.h"

static int write_embeds(const cli_opts *o, const float *e, const float *m, int L, int D)
{
    int64_t *mi = malloc(sizeof(int64_t) * (size_t)(L > 0 ? L : 1));
    if (!mi) return cli_fail("out of memory");
    for (int i = 0; i < L; i++) mi[i] = (int64_t)m[i];
    sana_tensor t[2] = {{"prompt_embeds", SANA_TENSOR_F32, 3, {1, L, D}, e},
                        {"prompt_attention_mask", SANA_TENSOR_I64, 2, {1, L}, mi}};
    char producer[64];
    snprintf(producer, sizeof producer, "sana %s", sana_version());
    const char *meta[] = {"prompt", o->prompt, "producer", producer};
    int rc = 0;
    if (sana_tensor_write(o->output, t, 2, meta, 2) != 0) rc = cli_fail("%s", sana_last_error());
    else cli_say("write: %s [1, %d, %d]", o->output, L, D);
    free(mi);
    return rc;
}

static int encode(const cli_opts *o, sana_pipeline *p, sana_chi_mode mode, char **chi, int nchi)
{
    float *e = NULL, *m = NULL;
    int L = 0, D = 0, rc;
    double t0 = cli_now();
    if (sana_encode(p, o->prompt, mode, (const char *const *)chi, nchi, o->maxseq, &e, &m, &L, &D) != 0) {
        rc = cli_fail("%s", sana_last_error());
    } else {
        cli_say("encode: %.2f s", cli_now() - t0);
        rc = write_embeds(o, e, m, L, D);
    }
    free(e);
    free(m);
    return rc;
}

int cmd_encode(int argc, char **argv)
{
    cli_opts o;
    int r = cli_parse(argc, argv, CLI_ENCODE, &o);
    if (r) return r;
    if (!o.prompt) return cli_usage_fail("no prompt: give -p PROMPT");
    if (!o.output) o.output = "embeds.safetensors";
    if ((r = cli_prepare(&o)) != 0) return r;
    char **chi = NULL;
    int nchi = 0;
    sana_chi_mode mode;
    if (cli_read_chi(o.chi_file, &mode, &chi, &nchi)) return 1;
    sana_pipeline *p = NULL;
    if ((r = cli_load_pipeline(&o, &p)) == 0) r = encode(&o, p, mode, chi, nchi);
    cli_free_lines(chi, nchi);
    sana_pipeline_free(p);
    return r;
}
