/* src/pipeline/pipeline_args.c -- argument checks of the pipelines: sizes, and PAG layer patterns (as
 * diffusers' PAGMixin matches them). The A1111 "parameters" text is in src/api/parameters.c. */
#define _POSIX_C_SOURCE 200809L
#include "pipeline/pipeline.h"

#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

sana_status sana_check_size(int height, int width, int binned)
{
    /* diffusers' check_inputs sees the size after binning: only the generated size must be a multiple */
    if (!binned && (height % SANA_SIZE_MULTIPLE || width % SANA_SIZE_MULTIPLE))
        return sana_err(SANA_ERR_ARG, "height and width must be multiples of %d without resolution binning, not "
                        "%dx%d (height x width)", SANA_SIZE_MULTIPLE, height, width);
    /* with binning the image is generated at a bin and resized to any asked size, as small as 1 px */
    const int lo = binned ? 1 : SANA_MIN_SIZE;
    if (height < lo || width < lo || height > SANA_MAX_SIZE || width > SANA_MAX_SIZE)
        return sana_err(SANA_ERR_ARG, "height and width must be between %d and %d%s, not %dx%d (height x width)", lo,
                        SANA_MAX_SIZE, binned ? " with resolution binning" : "", height, width);
    return SANA_OK;
}

/* diffusers' is_fake_integral_match: the last dot-separated parts of pattern and name are both
 * numbers and differ... as written there, they are equal numbers; such a pair is excluded. */
static int fake_integral(const char *pat, const char *name)
{
    const char *a = strrchr(pat, '.'), *b = strrchr(name, '.');
    a = a ? a + 1 : pat;
    b = b ? b + 1 : name;
    if (!*a || !*b) return 0;
    for (const char *s = a; *s; s++)
        if (*s < '0' || *s > '9') return 0;
    for (const char *s = b; *s; s++)
        if (*s < '0' || *s > '9') return 0;
    return strcmp(a, b) == 0;
}

sana_status sana_pag_layers(const char *patterns, int num_layers, int *layers, int *n)
{
    *n = 0;
    char *all = strdup(patterns ? patterns : "transformer_blocks.0");
    if (!all) return sana_err(SANA_ERR_NOMEM, "out of memory");
    unsigned char *hit = calloc((size_t)num_layers + 1, 1);
    sana_status st = SANA_OK;
    char *save = NULL;
    int npat = 0;
    for (char *pat = strtok_r(all, ",", &save); pat; pat = strtok_r(NULL, ",", &save)) {
        while (*pat == ' ') pat++;
        size_t len = strlen(pat);
        while (len && pat[len - 1] == ' ') pat[--len] = 0;
        if (!*pat) continue;
        npat++;
        regex_t re;
        if (regcomp(&re, pat, REG_EXTENDED | REG_NOSUB) != 0) {
            st = sana_err(SANA_ERR_ARG, "PAG layer \"%s\" is not a valid regular expression", pat);
            break;
        }
        int found = 0;
        for (int i = 0; i < num_layers; i++) {
            char name[64];
            snprintf(name, sizeof name, "transformer_blocks.%d.attn1", i);
            if (regexec(&re, name, 0, NULL, 0) == 0 && !fake_integral(pat, name)) {
                hit[i] = 1;
                found = 1;
            }
        }
        regfree(&re);
        if (!found) {
            st = sana_err(SANA_ERR_ARG, "Cannot find PAG layer to set attention processor for: %s "
                          "(the transformer has transformer_blocks.0 .. %d)", pat, num_layers - 1);
            break;
        }
    }
    if (st == SANA_OK && npat == 0) st = sana_err(SANA_ERR_ARG, "no PAG layer given");
    if (st == SANA_OK)
        for (int i = 0; i < num_layers; i++)
            if (hit[i]) layers[(*n)++] = i;
    free(hit);
    free(all);
    return st;
}
