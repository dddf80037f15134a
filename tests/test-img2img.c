/* tests/test-img2img.c -- SanaSprintImg2ImgPipeline end to end against diffusers 0.35.2 (issue 16).
 *
 * golden/dump_img2img.py ran diffusers' SanaSprintImg2ImgPipeline on golden/ckpt/sana-tiny-sprint-img2img
 * (sana-tiny-sprint's components under an img2img model_index.json) with golden/image/rgb8-64x48.png as the
 * init image, which every case resizes; each golden/pipeline/e2e_i2i_*.safetensors.gz holds the final
 * latents, the uint8 image (not for latent_only cases) and the call in its "config" metadata:
 *   i2i_sq    96x96, default strength (0.6): both steps run
 *   i2i_rect  64x128, strength 0.4: get_timesteps drops the first of 2 steps; 2 images per prompt
 *   i2i_one   128x96, 1 step from max_timesteps 1.0 (intermediate None), strength 0.75
 *   i2i_bin   200x328 binned to 768x1280 with VAE tiling (the encoder runs in tiles), strength 0.5
 * Latents within pipeline_latents (1e-5 of their scale, tests/tolerances.def), images within 1 level.
 * Also: the same from a SanaSprintPipeline folder through sana_pipeline_derive, given latents (used as
 * they are), the steps the progress callback counts, and the argument checks. Every compiled backend
 * (SANA_TEST_BACKENDS picks some), as tests/test-pipeline does.
 */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "golden.h"
#include "test_backends.h"
#include "core/json.h"
#include "sana.h"

static const char *const CASES[] = {"i2i_sq", "i2i_rect", "i2i_one", "i2i_bin", NULL};

static const char *backend;
static uint8_t *init_rgb; /* the init image of the goldens, read once */
static int init_w, init_h;

static sana_pipeline *load(const char *ckpt, sana_pipeline_kind want)
{
    char dir[1024];
    snprintf(dir, sizeof dir, "%s/ckpt/%s", golden_dir(), ckpt);
    sana_load_options lo = {.backend = backend};
    sana_pipeline *p = NULL;
    if (sana_pipeline_load(&p, dir, &lo) != 0) {
        golden_fail("load %s: %s", dir, sana_last_error());
        return NULL;
    }
    if (sana_pipeline_get_kind(p) != want) golden_fail("%s: loaded as %s", dir, sana_pipeline_class_name(p));
    return p;
}

/* uint8 images within 1 level per channel, as tests/test-pipeline checks them. */
static void check_image(golden *g, const char *what, const uint8_t *got, int64_t n)
{
    float *want = golden_f32(g, "image", NULL);
    int64_t off = 0, worst = 0;
    int maxd = 0;
    for (int64_t i = 0; i < n; i++) {
        int d = abs((int)got[i] - (int)lrintf(want[i]));
        if (d > maxd) maxd = d, worst = i;
        if (d) off++;
    }
    printf("%s: %s n=%lld max level difference %d, %lld values differ (tol 1)\n", maxd <= 1 ? "ok  " : "FAIL", what,
           (long long)n, maxd, (long long)off);
    if (maxd > 1) golden_fail("%s: %d levels at %lld", what, maxd, (long long)worst);
    free(want);
}

/* The call of a case from its config; strength only when recorded (else the library default, 0.6). */
static void case_params(sana_json *j, sana_pipeline *p, sana_generate_params *gp, char **prompt)
{
    int64_t steps = 2, h = 0, w = 0, seed = 0, nimg = 1;
    int bin = 1, tiling = 0;
    sana_generate_params_default(gp, p);
    sana_json_string(j, "prompt", NULL, prompt);
    sana_json_int(j, "num_inference_steps", 2, &steps);
    sana_json_int(j, "height", 0, &h);
    sana_json_int(j, "width", 0, &w);
    sana_json_int(j, "seed", 0, &seed);
    sana_json_int(j, "num_images_per_prompt", 1, &nimg);
    sana_json_double(j, "guidance_scale", 4.5, &gp->guidance_scale);
    sana_json_double(j, "strength", gp->strength, &gp->strength);
    sana_json_double(j, "max_timesteps", gp->max_timesteps, &gp->max_timesteps);
    sana_json_bool(j, "use_resolution_binning", 1, &bin);
    sana_json_bool(j, "vae_tiling", 0, &tiling);
    gp->prompt = *prompt;
    gp->num_inference_steps = (int)steps;
    gp->height = (int)h;
    gp->width = (int)w;
    gp->seed = (uint64_t)seed;
    gp->num_images_per_prompt = (int)nimg;
    gp->use_resolution_binning = bin;
    gp->tiled_decode = tiling;
    gp->intermediate_unset = json_object_object_get_ex(j->root, "intermediate_timesteps", NULL) &&
                             !sana_json_has(j, "intermediate_timesteps");
    gp->image = init_rgb;
    gp->image_width = init_w;
    gp->image_height = init_h;
}

static void run_case(sana_pipeline *p, const char *name, const char *via)
{
    char file[256], what[192];
    snprintf(file, sizeof file, "pipeline/e2e_%s.safetensors", name);
    golden *g = golden_open(file);
    const char *cfg = golden_meta(g, "config");
    sana_json j;
    if (!cfg || sana_json_parse(&j, cfg, strlen(cfg), file) != SANA_OK) {
        golden_fail("%s: no config metadata", file);
        golden_close(g);
        return;
    }
    int latent_only = 0;
    sana_json_bool(&j, "latent_only", 0, &latent_only);
    char *prompt = NULL;
    sana_generate_params gp;
    case_params(&j, p, &gp, &prompt);
    for (int pass = 0; pass < (latent_only ? 1 : 2); pass++) {
        snprintf(what, sizeof what, "[%s] %s%s %s", backend, name, via, pass ? "image" : "latents");
        gp.output_latent = pass == 0;
        sana_result r;
        if (sana_generate(p, &gp, &r) != 0) {
            golden_fail("%s: %s", what, sana_last_error());
            break;
        }
        if (pass == 0) {
            golden_check(g, what, r.latents, (int64_t)r.batch * r.lat_channels * r.lat_height * r.lat_width, "latents",
                         "pipeline_latents");
        } else {
            const sana_st_tensor *t = golden_get(g, "image");
            if (t->wt.shape[0] != r.batch || t->wt.shape[1] != r.height || t->wt.shape[2] != r.width)
                golden_fail("%s: %dx%dx%d, want %lldx%lldx%lld", what, r.batch, r.height, r.width,
                            (long long)t->wt.shape[0], (long long)t->wt.shape[1], (long long)t->wt.shape[2]);
            else
                check_image(g, what, r.images, (int64_t)r.batch * r.height * r.width * 3);
        }
        sana_result_free(&r);
    }
    free(prompt);
    sana_json_free(&j);
    golden_close(g);
}

/* Steps the progress callback reports: nsteps of the last report. */
static void on_progress(void *user, const sana_progress *pr)
{
    if (pr->phase == SANA_PHASE_STEP) ((int *)user)[0] = pr->step, ((int *)user)[1] = pr->nsteps;
}

static sana_generate_params small_call(sana_pipeline *p)
{
    sana_generate_params g;
    sana_generate_params_default(&g, p);
    g.prompt = "a red fox in the snow";
    g.height = 64;
    g.width = 128;
    g.use_resolution_binning = 0;
    g.seed = 5;
    g.output_latent = 1;
    g.image = init_rgb;
    g.image_width = init_w;
    g.image_height = init_h;
    return g;
}

/* Given latents are used as they are: img2img(latents = L, strength 1) runs the schedule of
 * SanaSprintPipeline(latents = L / sigma_data), which multiplies them by sigma_data (0.5) first; the
 * same bits. strength 0.4 of 2 steps reports 1 step. */
static void check_given_and_steps(sana_pipeline *i2i, sana_pipeline *sprint)
{
    sana_generate_params a = small_call(i2i), b = small_call(sprint);
    float lat[2 * 4 * 4], half[2 * 4 * 4];
    int64_t n = 4 * 2 * 4;
    for (int64_t k = 0; k < n; k++) lat[k] = (float)sin(0.7 * (double)k) * 0.5f, half[k] = lat[k] / 0.5f;
    a.latents = lat, a.latents_numel = n, a.strength = 1.0;
    b.latents = half, b.latents_numel = n, b.image = NULL;
    sana_result ra, rb;
    int ok = sana_generate(i2i, &a, &ra) == 0 && sana_generate(sprint, &b, &rb) == 0;
    ok = ok && !memcmp(ra.latents, rb.latents, sizeof(float) * (size_t)n);
    printf("%s: [%s] given latents are used as they are (no image encoded, no sigma_data)\n", ok ? "ok  " : "FAIL",
           backend);
    if (!ok) golden_fail("img2img given latents: %s", sana_last_error());
    sana_result_free(&ra);
    sana_result_free(&rb);
    int seen[2] = {0, 0};
    a = small_call(i2i);
    a.strength = 0.4;
    a.progress = on_progress;
    a.progress_user = seen;
    ok = sana_generate(i2i, &a, &ra) == 0 && seen[0] == 1 && seen[1] == 1;
    printf("%s: [%s] strength 0.4 of 2 steps runs %d of %d reported steps (want 1 of 1)\n", ok ? "ok  " : "FAIL",
           backend, seen[0], seen[1]);
    if (!ok) golden_fail("img2img steps after strength");
    sana_result_free(&ra);
}

/* Bad arguments: one message naming the field, no result. */
static void check_rejects(sana_pipeline *i2i, sana_pipeline *sprint)
{
    struct {
        const char *what, *needle;
        double strength;
        int image, w, steps, on_sprint;
    } tab[] = {
        {"strength -0.1", "strength must be in [0.0, 1.0]", -0.1, 1, 0, 2, 0},
        {"strength 1.5", "strength must be in [0.0, 1.0]", 1.5, 1, 0, 2, 0},
        {"strength NaN", "strength", NAN, 1, 0, 2, 0},
        {"strength 0 (no step left)", "number of pipeline steps is 0", 0.0, 1, 0, 2, 0},
        {"no image", "needs an init image", 0.6, 0, 0, 2, 0},
        {"image 0 pixels wide", "image: 0x48", 0.6, 1, -1, 2, 0},
        {"image on SanaSprintPipeline", "takes no init image", 0.6, 1, 0, 2, 1},
        {"3 steps with intermediate", "num_inference_steps != 2", 0.6, 1, 0, 3, 0},
    };
    for (size_t i = 0; i < sizeof tab / sizeof tab[0]; i++) {
        sana_pipeline *p = tab[i].on_sprint ? sprint : i2i;
        sana_generate_params g = small_call(p);
        g.strength = tab[i].strength;
        g.num_inference_steps = tab[i].steps;
        if (!tab[i].image) g.image = NULL;
        if (tab[i].w < 0) g.image_width = 0;
        sana_result r;
        int rc = sana_generate(p, &g, &r);
        int ok = rc == SANA_ERR_ARG && strstr(sana_last_error(), tab[i].needle) && !r.latents && !r.images;
        printf("%s: [%s] rejects %s: %s\n", ok ? "ok  " : "FAIL", backend, tab[i].what, sana_last_error());
        if (!ok) golden_fail("%s not rejected as expected (rc %d)", tab[i].what, rc);
    }
}

/* Derivations: Sprint <-> Sprint img2img share the components; SanaPipeline's do not fit. */
static void check_derive(sana_pipeline *sprint)
{
    sana_pipeline *back = NULL, *t2i = NULL, *bad = NULL;
    char dir[1024];
    snprintf(dir, sizeof dir, "%s/ckpt/sana-tiny", golden_dir());
    sana_load_options lo = {.backend = backend};
    int ok = sana_pipeline_derive(&back, sprint, SANA_PIPELINE_SPRINT) == 0 &&
             sana_pipeline_get_kind(back) == SANA_PIPELINE_SPRINT;
    ok = ok && sana_pipeline_load(&t2i, dir, &lo) == 0 &&
         sana_pipeline_derive(&bad, t2i, SANA_PIPELINE_SPRINT_IMG2IMG) == SANA_ERR_UNSUPPORTED && !bad &&
         strstr(sana_last_error(), "SanaSprintImg2ImgPipeline cannot be made from a SanaPipeline");
    printf("%s: [%s] derive img2img -> Sprint works, SanaPipeline -> img2img refused: %s\n", ok ? "ok  " : "FAIL",
           backend, sana_last_error());
    if (!ok) golden_fail("img2img derivations");
    sana_pipeline_free(back);
    sana_pipeline_free(t2i);
}

static void run_backend(int argc, char **argv)
{
    printf("-- backend %s\n", backend);
    sana_pipeline *i2i = load("sana-tiny-sprint-img2img", SANA_PIPELINE_SPRINT_IMG2IMG);
    sana_pipeline *sprint = load("sana-tiny-sprint", SANA_PIPELINE_SPRINT);
    sana_pipeline *derived = NULL;
    if (sprint && sana_pipeline_derive(&derived, sprint, SANA_PIPELINE_SPRINT_IMG2IMG) != 0)
        golden_fail("derive img2img from Sprint: %s", sana_last_error());
    if (i2i) {
        for (int i = 0; CASES[i]; i++) {
            int want = argc <= 1;
            for (int k = 1; k < argc; k++) want |= !strcmp(argv[k], CASES[i]);
            if (want) run_case(i2i, CASES[i], "");
        }
        if (derived) run_case(derived, "i2i_rect", " (derived from SanaSprintPipeline)");
        if (sprint && derived) {
            check_given_and_steps(derived, sprint);
            check_rejects(i2i, sprint);
            check_derive(derived);
        }
    }
    sana_pipeline_free(derived);
    sana_pipeline_free(sprint);
    sana_pipeline_free(i2i);
}

int main(int argc, char **argv)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/image/rgb8-64x48.png", golden_dir());
    if (sana_image_read_png(path, &init_rgb, &init_w, &init_h) != 0 || init_w != 64 || init_h != 48) {
        golden_fail("%s: %s", path, sana_last_error());
        return golden_exit();
    }
    const char *name;
    for (int b = 0; sana_backend_list(b, &name, NULL); b++) {
        if (!test_backend_wanted(name)) continue;
        backend = name;
        run_backend(argc, argv);
    }
    free(init_rgb);
    return golden_exit();
}
