/* bench/tokenizer_bench.c -- time loading a tokenizer.json and tokenizing prompts (see bench/tokenizer.sh).
 * Usage: tokenizer_bench TOKENIZER_JSON PROMPT_FILE [REPEATS [IDS_OUT]]: IDS_OUT receives the ids
 * (with <bos>), one per line, for comparison with transformers. */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include "text/tokenizer.h"
#include "bench.h"

/* CPU time of this process: on a shared machine it shows what the load costs when the wall
 * clock also counts waiting for a core. */
static double cpu(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

int main(int argc, char **argv)
{
    if (argc < 3) { fprintf(stderr, "usage: %s tokenizer.json prompt.txt [repeats]\n", argv[0]); return 2; }
    int reps = argc > 3 ? atoi(argv[3]) : 20;
    FILE *f = fopen(argv[2], "rb");
    if (!f) { perror(argv[2]); return 1; }
    static char text[1 << 20];
    size_t n = fread(text, 1, sizeof text, f);
    fclose(f);

    /* one load per process: a second load in the same process reuses the heap the first one grew,
     * which a program that loads the tokenizer once does not get (bench/tokenizer.sh runs this 3 times) */
    double t0 = now(), c0 = cpu();
    sana_tokenizer *t;
    if (sana_tokenizer_load(&t, argv[1])) { fprintf(stderr, "%s\n", sana_errmsg()); return 1; }
    double t1 = now(), c1 = cpu();
    printf("load %s: %.3f s (cpu %.3f s, vocabulary %d)\n", argv[1], t1 - t0, c1 - c0, sana_tokenizer_vocab_size(t));

    int32_t *ids = NULL;
    int nids = 0;
    double best = 1e9;
    for (int r = 0; r < reps; r++) {
        free(ids);
        double a = now();
        if (sana_tokenize(t, text, n, 1, &ids, &nids)) { fprintf(stderr, "%s\n", sana_errmsg()); return 1; }
        double b = now();
        if (b - a < best) best = b - a;
    }
    printf("tokenize %zu bytes -> %d tokens: best of %d %.3f ms\n", n, nids, reps, 1e3 * best);
    static int32_t pid[300], pm[300];
    sana_tokenizer_set_warn(NULL, NULL);
    double a = now();
    int dropped = 0;
    if (sana_tokenize_padded(t, text, n, 300, pid, pm, &dropped)) { fprintf(stderr, "%s\n", sana_errmsg()); return 1; }
    printf("tokenize_padded max_length 300: %.3f ms (%d dropped)\n", 1e3 * (now() - a), dropped);
    if (argc > 4) {
        FILE *o = fopen(argv[4], "w");
        if (!o) { perror(argv[4]); return 1; }
        for (int i = 0; i < nids; i++) fprintf(o, "%d\n", ids[i]);
        fclose(o);
    }
    free(ids);
    sana_tokenizer_free(t);
    return 0;
}
