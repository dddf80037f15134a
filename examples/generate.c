/* examples/generate.c -- the smallest program on libsana's public API: load a pipeline folder,
 * generate one image with diffusers' defaults, write it as a PNG.
 *
 *   cc -o generate generate.c $(pkg-config --cflags --libs libsana)
 *   ./generate Sana_600M_512px_diffusers "a lighthouse on a cliff at sunset" lighthouse.png [SEED]
 *
 * Every call returns 0 or a sana_status, and sana_last_error() says what went wrong. */
#include <sana.h>

#include <stdio.h>
#include <stdlib.h>

static int fail(const char *what)
{
    fprintf(stderr, "generate: %s: %s\n", what, sana_last_error());
    return 1;
}

int main(int argc, char **argv)
{
    if (argc < 4 || argc > 5) {
        fprintf(stderr, "usage: %s PIPELINE_DIR PROMPT OUT.png [SEED]\n", argv[0]);
        return 2;
    }
    sana_pipeline *pipe = NULL;
    if (sana_pipeline_load(&pipe, argv[1], NULL) != SANA_OK) return fail("load");

    sana_generate_params g;
    sana_generate_params_default(&g, pipe); /* the defaults of the pipeline's __call__ */
    g.prompt = argv[2];
    g.seed = argc == 5 ? strtoull(argv[4], NULL, 10) : 0;

    sana_result r;
    int rc = 0;
    if (sana_generate(pipe, &g, &r) != SANA_OK) {
        rc = fail("generate");
    } else {
        char *params = sana_parameters_format(g.prompt, g.negative_prompt, g.num_inference_steps,
                                              sana_sampler_display_name(sana_pipeline_sampler(pipe)),
                                              g.guidance_scale, g.seed, r.width, r.height, argv[1], NULL);
        if (sana_image_write_png(argv[3], r.images, r.width, r.height, params) != SANA_OK) rc = fail("write");
        else printf("%s: %dx%d\n", argv[3], r.width, r.height);
        free(params);
        sana_result_free(&r);
    }
    sana_pipeline_free(pipe);
    return rc;
}
