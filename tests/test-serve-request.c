/* tests/test-serve-request.c -- the request parser of `sana serve` (src/server/request.c) and its
 * base64: good bodies of both APIs give the fields, and each malformed body is refused with a message
 * naming the field (what the 400 says). Prints PASS/FAIL per case with the message seen. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sana.h"
#include "server/server.h"

static int fails, passes;

static void check(int ok, const char *what, const char *seen)
{
    printf("%s: %s%s%s\n", ok ? "PASS" : "FAIL", what, seen ? " -- " : "", seen ? seen : "");
    if (ok) passes++;
    else fails++;
}

/* body must be refused with a message containing want */
static void bad(srv_api api, const char *body, const char *want)
{
    srv_gen g;
    char err[512] = "";
    int rc = srv_request_parse(api, body, strlen(body), &g, err, sizeof err);
    char what[160];
    snprintf(what, sizeof what, "refuses %.100s", body);
    check(rc != 0 && strstr(err, want) != NULL, what, rc ? err : "(accepted)");
}

static void good_openai(void)
{
    const char *b = "{\"prompt\": \"a fox\", \"n\": 2, \"size\": \"96x160\", \"response_format\": \"b64_json\","
                    " \"model\": \"sana\", \"negative_prompt\": \"blurry\", \"seed\": 42, \"num_inference_steps\": 3,"
                    " \"guidance_scale\": 4.5, \"pag_scale\": 0}";
    srv_gen g;
    char err[512] = "";
    int rc = srv_request_parse(SRV_API_OPENAI, b, strlen(b), &g, err, sizeof err);
    check(rc == 0, "openai: a full request", err);
    if (rc) return;
    check(!strcmp(g.prompt, "a fox") && !strcmp(g.negative, "blurry") && g.n == 2 && g.width == 96 &&
              g.height == 160 && g.steps == 3 && g.cfg_set && g.cfg == 4.5 && g.pag_set && g.pag == 0 &&
              !g.seed_random && g.seed == 42,
          "openai: the fields", NULL);
    srv_gen_free(&g);
    /* any size in range: the server generates with resolution binning, which resizes back */
    b = "{\"prompt\": \"x\", \"size\": \"100x33\"}";
    rc = srv_request_parse(SRV_API_OPENAI, b, strlen(b), &g, err, sizeof err);
    check(rc == 0 && g.width == 100 && g.height == 33, "openai: size 100x33 (not multiples of 32)", rc ? err : NULL);
    if (!rc) srv_gen_free(&g);
    b = "{\"prompt\": \"x\"}";
    rc = srv_request_parse(SRV_API_OPENAI, b, strlen(b), &g, err, sizeof err);
    check(rc == 0 && g.n == 1 && g.width == 0 && g.steps == 0 && !g.cfg_set && g.seed_random && !g.negative,
          "openai: defaults", rc ? err : NULL);
    if (!rc) srv_gen_free(&g);
}

static void good_a1111(void)
{
    const char *b = " {\"prompt\": \"\\u00e9t\\u00e9\", \"negative_prompt\": \"\", \"steps\": 2, \"cfg_scale\": 7,"
                    " \"width\": 64, \"height\": 64, \"seed\": -1, \"batch_size\": 1}\n";
    srv_gen g;
    char err[512] = "";
    int rc = srv_request_parse(SRV_API_A1111, b, strlen(b), &g, err, sizeof err);
    check(rc == 0, "a1111: a full request", err);
    if (rc) return;
    check(!strcmp(g.prompt, "\xc3\xa9t\xc3\xa9") && g.steps == 2 && g.cfg == 7 && g.width == 64 && g.seed_random,
          "a1111: the fields", NULL);
    srv_gen_free(&g);
}

static void malformed(void)
{
    srv_api O = SRV_API_OPENAI, A = SRV_API_A1111;
    bad(O, "", "body: empty");
    bad(O, "{", "not valid JSON");
    bad(O, "{\"prompt\": \"x\",}", "not valid JSON");
    bad(O, "{'prompt': 'x'}", "not valid JSON");
    bad(O, "{\"prompt\": \"x\"} {}", "body: not valid JSON");
    bad(O, "[\"prompt\"]", "must be a JSON object");
    bad(O, "\"x\"", "must be a JSON object");
    bad(O, "{}", "prompt: missing");
    bad(O, "{\"prompt\": 3}", "prompt: must be a string");
    bad(O, "{\"prompt\": null}", "prompt: must not be null");
    bad(O, "{\"prompt\": \"a\\u0000b\"}", "prompt: must not contain NUL");
    bad(O, "{\"prompt\": \"x\", \"colour\": 1}", "colour: unknown field");
    bad(O, "{\"prompt\": \"x\", \"steps\": 2}", "steps: unknown field"); /* A1111's name, not OpenAI's */
    bad(O, "{\"prompt\": \"x\", \"n\": 0}", "n: must be between 1 and");
    bad(O, "{\"prompt\": \"x\", \"n\": 2.5}", "n: must be a whole number");
    bad(O, "{\"prompt\": \"x\", \"n\": \"2\"}", "n: must be a whole number");
    bad(O, "{\"prompt\": \"x\", \"n\": true}", "n: must be a whole number");
    bad(O, "{\"prompt\": \"x\", \"size\": \"512\"}", "size: \"512\" is not");
    bad(O, "{\"prompt\": \"x\", \"size\": \"512x\"}", "size:");
    bad(O, "{\"prompt\": \"x\", \"size\": \"-64x64\"}", "size:");
    bad(O, "{\"prompt\": \"x\", \"size\": \"16x64\"}", "size: width: 16 is not between");
    bad(O, "{\"prompt\": \"x\", \"size\": \"99999999999999999999x64\"}", "size:");
    bad(O, "{\"prompt\": \"x\", \"size\": \"65536x65536\"}", "size: width");
    bad(O, "{\"prompt\": \"x\", \"response_format\": \"url\"}", "\"url\" is not supported");
    bad(O, "{\"prompt\": \"x\", \"response_format\": \"png\"}", "response_format");
    bad(O, "{\"prompt\": \"x\", \"num_inference_steps\": -1}", "num_inference_steps: must be between 1");
    bad(O, "{\"prompt\": \"x\", \"num_inference_steps\": 1000000}", "num_inference_steps: must be between");
    bad(O, "{\"prompt\": \"x\", \"num_inference_steps\": 99999999999999999999999}", "num_inference_steps");
    bad(O, "{\"prompt\": \"x\", \"guidance_scale\": 1e400}", "guidance_scale");
    bad(O, "{\"prompt\": \"x\", \"guidance_scale\": NaN}", "");
    bad(O, "{\"prompt\": \"x\", \"guidance_scale\": -1}", "guidance_scale: must be between");
    bad(O, "{\"prompt\": \"x\", \"seed\": -2}", "seed: must be between -1");
    bad(O, "{\"prompt\": \"x\", \"seed\": 18446744073709551615}", "seed: must be between");
    bad(O, "{\"prompt\": \"x\", \"seed\": 1.5}", "seed: must be a whole number");
    bad(O, "{\"prompt\": \"\xff\xfe\"}", "");
    bad(O, "{\"prompt\": [[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]}", "");
    bad(A, "{\"prompt\": \"x\", \"width\": 64}", "height: missing");
    bad(A, "{\"prompt\": \"x\", \"width\": 0, \"height\": 64}", "width: 0 is not between");
    bad(A, "{\"prompt\": \"x\", \"width\": 100000, \"height\": 64}", "width:");
    bad(A, "{\"prompt\": \"x\", \"batch_size\": 100}", "batch_size: must be between 1");
    bad(A, "{\"prompt\": \"x\", \"size\": \"64x64\"}", "size: unknown field");
    bad(A, "{\"prompt\": \"x\", \"sampler_name\": \"Euler\"}", "sampler_name: unknown field");
    /* a prompt over the limit */
    size_t n = SRV_MAX_PROMPT + 100;
    char *big = malloc(n + 32);
    strcpy(big, "{\"prompt\": \"");
    memset(big + 12, 'a', n);
    strcpy(big + 12 + n, "\"}");
    bad(O, big, "prompt: 16484 bytes, more than the limit");
    free(big);
}

static void base64(void)
{
    static const struct { const char *in, *out; } v[] = {
        {"", ""}, {"f", "Zg=="}, {"fo", "Zm8="}, {"foo", "Zm9v"}, {"foob", "Zm9vYg=="}, {"fooba", "Zm9vYmE="},
        {"foobar", "Zm9vYmFy"}, {"\xff\xfe\x00", "//4A"}};
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
        size_t len, n = strlen(v[i].in) + (i == 7);
        char *s = srv_base64((const uint8_t *)v[i].in, n, &len);
        char what[64];
        snprintf(what, sizeof what, "base64 of %zu bytes is %s", n, v[i].out);
        check(s && !strcmp(s, v[i].out) && len == strlen(v[i].out), what, s);
        free(s);
    }
}

int main(void)
{
    good_openai();
    good_a1111();
    malformed();
    base64();
    printf("%d passed, %d failed\n", passes, fails);
    return fails ? 1 : 0;
}
