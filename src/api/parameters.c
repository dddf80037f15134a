/* src/api/parameters.c -- the A1111 "parameters" text of an image and the sampler names it uses. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sana.h"

const char *sana_sampler_display_name(const char *sampler)
{
    static const char *const names[][2] = {{"dpm", "DPM++ 2M"}, {"euler", "Euler"}, {"scm", "SCM"}};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (!strcmp(sampler, names[i][0])) return names[i][1];
    return sampler;
}

char *sana_parameters_format(const char *prompt, const char *negative, int steps, const char *sampler,
                             double cfg, uint64_t seed, int width, int height, const char *model,
                             const char *extra)
{
    prompt = prompt ? prompt : "";
    model = model ? model : "";
    sampler = sampler ? sampler : "";
    size_t n = strlen(prompt) + strlen(negative ? negative : "") + strlen(model) + strlen(sampler) +
               strlen(extra ? extra : "") + 256;
    char *s = malloc(n);
    if (!s) return NULL;
    int k = snprintf(s, n, "%s\n", prompt);
    if (negative && *negative) k += snprintf(s + k, n - (size_t)k, "Negative prompt: %s\n", negative);
    k += snprintf(s + k, n - (size_t)k, "Steps: %d, Sampler: %s, CFG scale: %g, Seed: %llu, Size: %dx%d, Model: %s",
                  steps, sampler, cfg, (unsigned long long)seed, width, height, model);
    if (extra && *extra) snprintf(s + k, n - (size_t)k, ", %s", extra);
    return s;
}
