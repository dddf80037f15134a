/* src/pipeline/pipeline_encode.c -- the encode_prompt phase of SanaPipeline.__call__ (diffusers v0.35.2):
 * the prompt with the complex human instruction (CHI), or the given prompt_embeds, and with CFG the
 * negative prompt without it, each repeated num_images_per_prompt times into the rows of the batch
 * (CFG [neg, pos], PAG [pos, pos], CFG + PAG [neg, pos, pos]). Also sana_encode (`sana encode`).
 */
#include "pipeline/pipeline_impl.h"

#include <stdlib.h>
#include <string.h>

/* The NULL-terminated CHI list of the arguments (chi_buf holds a copy of a custom list). */
static const char *const *chi_list(sana_chi_mode mode, const char *const *chi, int nchi, const char **chi_buf)
{
    if (mode == SANA_CHI_NONE) return NULL;
    if (mode == SANA_CHI_CUSTOM) {
        for (int i = 0; i < nchi; i++) chi_buf[i] = chi[i];
        chi_buf[nchi] = NULL;
        return nchi > 0 ? chi_buf : NULL;
    }
    return sana_default_chi;
}

/* encode_prompt of n prompts (in one pass of the text encoder where it is row-exact,
 * sana_encode_prompts) into embeds[i] [L, D], maskf[i] [L] as float 1/0. full: also encode the
 * padded positions (for `sana encode`, which writes what diffusers returns). */
static sana_status encode_n(comps *c, int n, const char *const *prompts, const char *const *const *chis, int max_len,
                            float *const *embeds, float *const *maskf, int full)
{
    enum { MAX_N = 2 }; /* the prompt and the negative prompt */
    int32_t *masks[MAX_N];
    if (n < 1 || n > MAX_N) return sana_err(SANA_ERR_ARG, "encode: %d prompts at once (1 or 2)", n);
    sana_status st = sana_comps_load_text_encoder(c);
    if (st != SANA_OK) return st;
    int32_t *m = malloc(sizeof(int32_t) * (size_t)n * (size_t)max_len);
    if (!m) return sana_err(SANA_ERR_NOMEM, "out of memory");
    for (int i = 0; i < n; i++) masks[i] = m + (size_t)i * (size_t)max_len;
    sana_text_encoder_set_full(c->te, full);
    st = sana_encode_prompts(c->te, n, prompts, chis, max_len, embeds, masks);
    sana_text_encoder_set_full(c->te, 0);
    for (int i = 0; st == SANA_OK && i < n; i++)
        for (int k = 0; k < max_len; k++) maskf[i][k] = (float)masks[i][k];
    free(m);
    return st;
}

/* encode_n of one prompt. */
static sana_status encode_one(comps *c, const char *prompt, const char *const *chi, int max_len, float *embeds,
                              float *maskf, int full)
{
    const char *const prompts[1] = {prompt};
    const char *const *const chis[1] = {chi};
    return encode_n(c, 1, prompts, chis, max_len, &embeds, &maskf, full);
}

int sana_encode(sana_pipeline *p, const char *prompt, sana_chi_mode chi_mode, const char *const *chi, int nchi,
                int max_sequence_length, float **embeds, float **mask, int *L, int *D)
{
    *embeds = NULL;
    *mask = NULL;
    if (max_sequence_length < 1 || max_sequence_length > 100000)
        return sana_err(SANA_ERR_ARG, "max_sequence_length must be at least 1, not %d", max_sequence_length);
    if (chi_mode == SANA_CHI_CUSTOM && (nchi < 0 || nchi > 1000)) return sana_err(SANA_ERR_ARG, "bad CHI list");
    comps *c = p->c;
    sana_status st = sana_comps_load_text_encoder(c);
    if (st != SANA_OK) return st;
    int64_t d = sana_text_encoder_hidden_size(c->te);
    const char **buf = malloc(sizeof(char *) * (size_t)(nchi + 1 > 1 ? nchi + 1 : 1));
    float *e = malloc(sizeof(float) * (size_t)(max_sequence_length * d));
    float *m = malloc(sizeof(float) * (size_t)max_sequence_length);
    if (!buf || !e || !m) {
        free(buf);
        free(e);
        free(m);
        return sana_err(SANA_ERR_NOMEM, "out of memory");
    }
    st = encode_one(c, prompt, chi_list(chi_mode, chi, nchi, buf), max_sequence_length, e, m, 1);
    free(buf);
    sana_comps_release_text_encoder(c);
    if (st != SANA_OK) {
        free(e);
        free(m);
        return st;
    }
    *embeds = e;
    *mask = m;
    *L = max_sequence_length;
    *D = (int)d;
    return SANA_OK;
}

/* The text encoder must give caption_channels values per token. */
static sana_status check_text_encoder(sana_gen *s)
{
    sana_status st = sana_comps_load_text_encoder(s->c);
    if (st != SANA_OK) return st;
    if (sana_text_encoder_hidden_size(s->c->te) != s->D)
        return sana_err(SANA_ERR_FORMAT, "%s: the text encoder's hidden size %lld is not the transformer's "
                        "caption_channels %lld", s->c->dir, (long long)sana_text_encoder_hidden_size(s->c->te),
                        (long long)s->D);
    return SANA_OK;
}

/* Rows 1..nimg-1 of [nimg, L, D] embeds and [nimg, L] mask from row 0. */
static void repeat_rows(const sana_gen *s, float *embeds, float *mask)
{
    const int64_t L = s->L, D = s->D;
    for (int64_t i = 1; i < s->nimg; i++) {
        memcpy(embeds + i * L * D, embeds, sizeof(float) * (size_t)(L * D));
        memcpy(mask + i * L, mask, sizeof(float) * (size_t)L);
    }
}

/* The CHI list of the generation's arguments (buf: room for a custom list). */
static sana_status gen_chi(const sana_generate_params *g, const char **buf, const char *const **chi)
{
    if (g->chi_mode == SANA_CHI_CUSTOM && (g->nchi < 0 || g->nchi > 1000))
        return sana_err(SANA_ERR_ARG, "bad CHI list (%d lines)", g->nchi);
    *chi = chi_list(g->chi_mode, g->chi, g->nchi, buf);
    return SANA_OK;
}

/* The positive prompt (with its CHI), or the given prompt_embeds, into pos [L, D] and posm [L]. */
static sana_status encode_positive(sana_gen *s, float *pos, float *posm)
{
    const sana_generate_params *g = s->g;
    if (g->prompt_embeds) {
        memcpy(pos, g->prompt_embeds, sizeof(float) * (size_t)(s->L * s->D));
        memcpy(posm, g->prompt_attention_mask, sizeof(float) * (size_t)s->L);
        return SANA_OK;
    }
    const char *buf[1024];
    const char *const *chi;
    sana_status st = gen_chi(g, buf, &chi);
    return st != SANA_OK ? st : encode_one(s->c, g->prompt, chi, (int)s->L, pos, posm, 0);
}

/* The negative prompt's embeddings from the cache of the components while the same text repeats:
 * 1 when they were there (copied into neg, negm). */
static int negative_cached(sana_gen *s, const char *text, float *neg, float *negm)
{
    comps *c = s->c;
    const int64_t L = s->L, D = s->D;
    if (!(c->neg_text && !strcmp(c->neg_text, text) && c->neg_L == L && c->neg_D == D)) return 0;
    memcpy(neg, c->neg_embeds, sizeof(float) * (size_t)(L * D));
    memcpy(negm, c->neg_mask, sizeof(float) * (size_t)L);
    c->neg_reused++;
    return 1;
}

/* Keep the negative prompt's embeddings for the next call (out of memory: no cache, not an error). */
static void negative_keep(sana_gen *s, const char *text, const float *neg, const float *negm)
{
    comps *c = s->c;
    const int64_t L = s->L, D = s->D;
    const size_t ne = sizeof(float) * (size_t)(L * D), nm = sizeof(float) * (size_t)L;
    free(c->neg_text);
    free(c->neg_embeds);
    free(c->neg_mask);
    c->neg_text = strdup(text);
    c->neg_embeds = malloc(ne);
    c->neg_mask = malloc(nm);
    if (!c->neg_text || !c->neg_embeds || !c->neg_mask) {
        free(c->neg_text);
        free(c->neg_embeds);
        free(c->neg_mask);
        c->neg_text = NULL;
        c->neg_embeds = c->neg_mask = NULL;
        return;
    }
    memcpy(c->neg_embeds, neg, ne);
    memcpy(c->neg_mask, negm, nm);
    c->neg_L = L;
    c->neg_D = D;
}

/* The negative prompt (no CHI, L tokens: no select needed, it is the identity) into neg [L, D] and
 * negm [L], from the cache of the components while the same text repeats. */
static sana_status encode_negative(sana_gen *s, const char *text, float *neg, float *negm)
{
    if (negative_cached(s, text, neg, negm)) return SANA_OK;
    sana_status st = encode_one(s->c, text, NULL, (int)s->L, neg, negm, 0);
    if (st == SANA_OK) negative_keep(s, text, neg, negm);
    return st;
}

/* The positive prompt with its CHI and the negative prompt without, in one pass of the text encoder
 * (its weights read once; the same bits as two passes, sana_encode_prompts). */
static sana_status encode_pair(sana_gen *s, const char *neg_text, float *pos, float *posm, float *neg, float *negm)
{
    const sana_generate_params *g = s->g;
    const char *buf[1024];
    const char *const *chi;
    sana_status st = gen_chi(g, buf, &chi);
    if (st != SANA_OK) return st;
    const char *const prompts[2] = {g->prompt, neg_text};
    const char *const *const chis[2] = {chi, NULL};
    float *const embeds[2] = {pos, neg}, *const masks[2] = {posm, negm};
    st = encode_n(s->c, 2, prompts, chis, (int)s->L, embeds, masks, 0);
    if (st == SANA_OK) negative_keep(s, neg_text, neg, negm);
    return st;
}

/* encode_prompt: rows [copy][image] of enc/mask; the positive prompt fills its copies. */
sana_status sana_gen_encode_prompt(sana_gen *s)
{
    const sana_generate_params *g = s->g;
    const int64_t nimg = s->nimg, L = s->L, D = s->D;
    sana_status st;
    if ((!g->prompt_embeds || s->do_cfg) && (st = check_text_encoder(s)) != SANA_OK) return st;
    double t0 = sana_gen_now();
    float *pos = s->enc + (s->do_cfg ? nimg : 0) * L * D, *posm = s->mask + (s->do_cfg ? nimg : 0) * L;
    const char *neg_text = g->negative_prompt ? g->negative_prompt : "";
    /* with CFG, a prompt to encode and a negative prompt not kept from the last call: one pass */
    const int neg_kept = s->do_cfg && !g->prompt_embeds && negative_cached(s, neg_text, s->enc, s->mask);
    if (s->do_cfg && !g->prompt_embeds && !neg_kept) {
        if ((st = encode_pair(s, neg_text, pos, posm, s->enc, s->mask)) != SANA_OK) return st;
    } else {
        if ((st = encode_positive(s, pos, posm)) != SANA_OK) return st;
        if (s->do_cfg && !neg_kept && (st = encode_negative(s, neg_text, s->enc, s->mask)) != SANA_OK) return st;
    }
    repeat_rows(s, pos, posm);
    if (s->do_pag) { /* the perturbed copy after the positive one */
        memcpy(pos + nimg * L * D, pos, sizeof(float) * (size_t)(nimg * L * D));
        memcpy(posm + nimg * L, posm, sizeof(float) * (size_t)(nimg * L));
    }
    if (s->do_cfg) repeat_rows(s, s->enc, s->mask);
    sana_comps_release_text_encoder(s->c);
    sana_gen_report(s, SANA_PHASE_ENCODE, 0, 0, t0);
    return SANA_OK;
}
