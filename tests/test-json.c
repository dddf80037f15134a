/* tests/test-json.c -- typed config reads: defaults, Python's Infinity/NaN, type errors naming the key. */
#include "core/json.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int checks, failures;

static void expect(int cond, const char *what)
{
    checks++;
    if (!cond) failures++;
    printf("%s: %s%s%s\n", cond ? "ok  " : "FAIL", what, cond ? "" : " -- ", cond ? "" : sana_errmsg());
}

/* A fragment of a real SANA scheduler_config.json, as Python's json module writes it. */
static const char *sched =
    "{\n  \"_class_name\": \"DPMSolverMultistepScheduler\",\n  \"_diffusers_version\": \"0.32.0.dev0\",\n"
    "  \"algorithm_type\": \"dpmsolver++\",\n  \"beta_end\": 0.02,\n  \"beta_schedule\": \"linear\",\n"
    "  \"dynamic_thresholding_ratio\": 0.995,\n  \"euler_at_final\": false,\n  \"flow_shift\": 3.0,\n"
    "  \"lambda_min_clipped\": -Infinity,\n  \"lower_order_final\": true,\n  \"num_train_timesteps\": 1000,\n"
    "  \"solver_order\": 2,\n  \"trained_betas\": null,\n  \"variance_type\": null,\n  \"use_flow_sigmas\": true,\n"
    "  \"x_nan\": NaN, \"x_inf\": Infinity\n}\n";

int main(void)
{
    sana_json j;
    expect(sana_json_parse(&j, sched, strlen(sched), "scheduler_config.json") == SANA_OK,
           "parse a scheduler_config.json with -Infinity and NaN");
    double d;
    int64_t i;
    int b;
    char *s;
    expect(sana_json_double(&j, "lambda_min_clipped", 0, &d) == SANA_OK && isinf(d) && d < 0,
           "lambda_min_clipped is -inf");
    expect(sana_json_double(&j, "x_inf", 0, &d) == SANA_OK && isinf(d) && d > 0, "Infinity");
    expect(sana_json_double(&j, "x_nan", 0, &d) == SANA_OK && isnan(d), "NaN");
    expect(sana_json_double(&j, "flow_shift", 1.0, &d) == SANA_OK && d == 3.0, "flow_shift read");
    expect(sana_json_double(&j, "shift_terminal", 0.25, &d) == SANA_OK && d == 0.25, "absent key keeps the default");
    expect(sana_json_int(&j, "solver_order", 2, &i) == SANA_OK && i == 2, "int read");
    expect(sana_json_int(&j, "num_train_timesteps", 0, &i) == SANA_OK && i == 1000, "int read 1000");
    expect(sana_json_bool(&j, "lower_order_final", 0, &b) == SANA_OK && b == 1, "bool read");
    expect(sana_json_string(&j, "variance_type", "dflt", &s) == SANA_OK && s && strcmp(s, "dflt") == 0,
           "null keeps the default");
    free(s);
    expect(!sana_json_has(&j, "trained_betas") && sana_json_has(&j, "flow_shift"), "has: null is absent");

    sana_err_clear();
    sana_status st = sana_json_int(&j, "algorithm_type", 0, &i);
    expect(st == SANA_ERR_FORMAT && strstr(sana_errmsg(), "scheduler_config.json") &&
               strstr(sana_errmsg(), "\"algorithm_type\"") && strstr(sana_errmsg(), "expected an integer"),
           "string where an int is expected: error names file and key");
    st = sana_json_bool(&j, "solver_order", 0, &b);
    expect(st == SANA_ERR_FORMAT && strstr(sana_errmsg(), "\"solver_order\""), "int where a bool is expected");
    st = sana_json_string(&j, "flow_shift", NULL, &s);
    expect(st == SANA_ERR_FORMAT && strstr(sana_errmsg(), "\"flow_shift\"") && strstr(sana_errmsg(), "expected a string"),
           "number where a string is expected");
    st = sana_json_double(&j, "euler_at_final", 0, &d);
    expect(st == SANA_ERR_FORMAT && strstr(sana_errmsg(), "\"euler_at_final\""), "bool where a number is expected");
    sana_json_free(&j);

    const char *arr = "{\"block_out_channels\": [128, 256, 512], \"qkv\": [[5]], \"names\": [\"a\", 3]}";
    sana_json_parse(&j, arr, strlen(arr), "vae/config.json");
    int64_t v[4];
    int n;
    expect(sana_json_int_array(&j, "block_out_channels", v, 4, &n) == SANA_OK && n == 3 && v[2] == 512, "int array");
    expect(sana_json_int_array(&j, "block_out_channels", v, 2, &n) == SANA_ERR_FORMAT, "array longer than supported");
    expect(sana_json_int_array(&j, "qkv", v, 4, &n) == SANA_ERR_FORMAT && strstr(sana_errmsg(), "item 0"),
           "array of the wrong item type");
    char *names[4];
    expect(sana_json_string_array(&j, "names", names, 4, &n) == SANA_ERR_FORMAT && strstr(sana_errmsg(), "item 1"),
           "string array with a number");
    expect(sana_json_int_array(&j, "absent", v, 4, &n) == SANA_OK && n == -1, "absent array: n = -1");
    sana_json_free(&j);

    const char *bad[] = {"{\"a\": ", "[1, 2]", "{\"a\": 1} trailing", "{\"a\": tru}"};
    for (int k = 0; k < 4; k++) {
        sana_err_clear();
        st = sana_json_parse(&j, bad[k], strlen(bad[k]), "config.json");
        char what[96];
        snprintf(what, sizeof what, "invalid JSON rejected: %s", bad[k]);
        expect(st == SANA_ERR_FORMAT && strstr(sana_errmsg(), "config.json: invalid JSON"), what);
    }
    expect(sana_json_load(&j, "/nonexistent/model_index.json") == SANA_ERR_MISSING &&
               strstr(sana_errmsg(), "/nonexistent/model_index.json"), "missing file named");

    /* model_index.json of a SanaPipeline folder */
    char path[] = "/tmp/sana-test-json-XXXXXX";
    int fd = mkstemp(path);
    const char *mi_text =
        "{\"_class_name\": \"SanaPipeline\", \"_diffusers_version\": \"0.35.2\", \"scheduler\": [\"diffusers\", "
        "\"DPMSolverMultistepScheduler\"], \"text_encoder\": [\"transformers\", \"Gemma2Model\"], \"tokenizer\": "
        "[\"transformers\", \"GemmaTokenizerFast\"], \"transformer\": [\"diffusers\", \"SanaTransformer2DModel\"], "
        "\"vae\": [\"diffusers\", \"AutoencoderDC\"], \"feature_extractor\": [null, null]}";
    FILE *fp = fdopen(fd, "w");
    fputs(mi_text, fp);
    fclose(fp);
    sana_model_index mi;
    st = sana_model_index_load(&mi, path);
    expect(st == SANA_OK && strcmp(mi.class_name, "SanaPipeline") == 0 && mi.ncomponents == 6, "model_index.json");
    if (st == SANA_OK) {
        expect(strcmp(sana_model_index_class(&mi, "vae"), "AutoencoderDC") == 0, "component class");
        expect(sana_model_index_class(&mi, "feature_extractor") == NULL, "[null, null] component");
        expect(sana_model_index_class(&mi, "unet") == NULL, "absent component");
        sana_model_index_free(&mi);
    }
    fp = fopen(path, "w");
    fputs("{\"_class_name\": 7}", fp);
    fclose(fp);
    st = sana_model_index_load(&mi, path);
    expect(st == SANA_ERR_FORMAT && strstr(sana_errmsg(), "\"_class_name\""), "model_index with a bad _class_name");
    fp = fopen(path, "w");
    fputs("{\"_class_name\": \"SanaPipeline\", \"vae\": [\"diffusers\"]}", fp);
    fclose(fp);
    st = sana_model_index_load(&mi, path);
    expect(st == SANA_ERR_FORMAT && strstr(sana_errmsg(), "\"vae\""), "model_index with a malformed component");
    remove(path);

    printf("%d passed, %d failed\n", checks - failures, failures);
    return failures ? 1 : 0;
}
