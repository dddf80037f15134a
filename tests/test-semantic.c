/* tests/test-semantic.c -- does the bundled toy checkpoint draw what the prompt says?
 *
 * golden/ckpt/sana-shapes (a SANA trained on flat shapes by train/train.py) generates each held-out
 * caption of train/heldout.txt -- (colour, shape, background) triples it never saw in training --
 * with the defaults of `sana generate` (512x512, 20 DPM-Solver steps, CFG 4.5, the complex human
 * instruction) and seed = the caption's index, through the public API only. A simple analysis of
 * the picture is compared with the caption; train/analysis.py is the same analysis in Python, and
 * train.py prints its accuracy on diffusers' SanaPipeline.
 *
 * Fails (exit 1) when fewer than THRESHOLD of the captions are right in all four of background,
 * colour, shape and position. Paths: $GOLDEN_DIR/ckpt/sana-shapes and $GOLDEN_DIR/../train/heldout.txt
 * ($SEMANTIC_CAPTIONS overrides the caption file).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sana.h"

#define THRESHOLD 0.85

/* train/dataset.py COLOURS and POSITIONS, in the same order (ties go to the first). */
static const struct { const char *name; double rgb[3]; } COLOURS[] = {
    {"red", {220, 40, 40}},   {"orange", {245, 140, 20}}, {"yellow", {245, 220, 40}},  {"green", {40, 170, 70}},
    {"blue", {40, 90, 230}},  {"purple", {150, 60, 200}}, {"white", {245, 245, 245}}, {"black", {25, 25, 25}},
};
static const struct { const char *name; double x, y; } POSITIONS[] = {
    {"left", 0.25, 0.50}, {"right", 0.75, 0.50}, {"top", 0.50, 0.25}, {"bottom", 0.50, 0.75}, {"center", 0.50, 0.50},
};
enum { NCOLOURS = sizeof COLOURS / sizeof COLOURS[0], NPOS = sizeof POSITIONS / sizeof POSITIONS[0] };

/* train/analysis.py: the constants and the steps, one for one. */
enum { BORDER = 8, LINE_MIN = 4 };
static const double FAR = 60.0, MIN_FRAC = 0.01, TOP_HEAVY = 0.7, FILL_SQUARE = 0.88;

typedef struct { const char *background, *colour, *shape, *position; double fill, top; } analysis;

static const char *nearest_colour(const double rgb[3])
{
    int best = 0;
    double bd = 1e300;
    for (int i = 0; i < NCOLOURS; i++) {
        double d = 0;
        for (int k = 0; k < 3; k++) d += (rgb[k] - COLOURS[i].rgb[k]) * (rgb[k] - COLOURS[i].rgb[k]);
        if (d < bd) bd = d, best = i;
    }
    return COLOURS[best].name;
}

/* img: [H, W, 3] RGB. background = the mean colour of the BORDER-pixel frame, named; shape pixels = those
 * inside the frame farther than FAR from it (decoders leave thin lines at the image edges); their
 * mean colour (named) and centroid (nearest position); in their bounding box (rows / columns with
 * >= LINE_MIN of them): a triangle (pointing up) when the upper half holds < TOP_HEAVY x the pixels
 * of the lower half (1/3 for a triangle, 1 otherwise), else a square when they fill > FILL_SQUARE
 * of the box (square ~1, circle ~0.785). */
static analysis analyse(const uint8_t *img, int H, int W)
{
    analysis a = {"", "none", "none", "none", 0, 0};
    double bg[3] = {0}, sum[3] = {0}, sx = 0, sy = 0;
    long nb = 0, n = 0;
    for (int y = 0; y < H; y++)
        for (int x = 0; x < W; x++)
            if (y < BORDER || y >= H - BORDER || x < BORDER || x >= W - BORDER) {
                for (int k = 0; k < 3; k++) bg[k] += img[((size_t)y * W + x) * 3 + k];
                nb++;
            }
    for (int k = 0; k < 3; k++) bg[k] /= (double)nb;
    a.background = nearest_colour(bg);
    int *rows = calloc((size_t)H, sizeof(int)), *cols = calloc((size_t)W, sizeof(int));
    for (int y = BORDER; y < H - BORDER; y++)
        for (int x = BORDER; x < W - BORDER; x++) {
            const uint8_t *p = img + ((size_t)y * W + x) * 3;
            double d = 0;
            for (int k = 0; k < 3; k++) d += (p[k] - bg[k]) * (p[k] - bg[k]);
            if (d <= FAR * FAR) continue;
            for (int k = 0; k < 3; k++) sum[k] += p[k];
            sx += x, sy += y, n++, rows[y]++, cols[x]++;
        }
    if (n >= MIN_FRAC * H * W) {
        for (int k = 0; k < 3; k++) sum[k] /= (double)n;
        a.colour = nearest_colour(sum);
        double cx = (sx / n + 0.5) / W, cy = (sy / n + 0.5) / H, bd = 1e300;
        for (int i = 0; i < NPOS; i++) {
            double d = (cx - POSITIONS[i].x) * (cx - POSITIONS[i].x) + (cy - POSITIONS[i].y) * (cy - POSITIONS[i].y);
            if (d < bd) bd = d, a.position = POSITIONS[i].name;
        }
        int r0 = -1, r1 = -1, c0 = -1, c1 = -1;
        for (int y = 0; y < H; y++)
            if (rows[y] >= LINE_MIN) r1 = y, r0 = r0 < 0 ? y : r0;
        for (int x = 0; x < W; x++)
            if (cols[x] >= LINE_MIN) c1 = x, c0 = c0 < 0 ? x : c0;
        if (r0 >= 0 && c0 >= 0) {
            long upper = 0;
            for (int y = 0; y < (r0 + r1) / 2.0; y++) upper += rows[y];
            a.fill = (double)n / ((double)(r1 - r0 + 1) * (c1 - c0 + 1));
            a.top = (double)upper / (double)(n - upper > 1 ? n - upper : 1);
            a.shape = a.top < TOP_HEAVY ? "triangle" : a.fill > FILL_SQUARE ? "square" : "circle";
        }
    }
    free(rows);
    free(cols);
    return a;
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

int main(void)
{
    const char *gd = getenv("GOLDEN_DIR");
    if (!gd || !*gd) gd = "golden";
    char ckpt[4096], capfile[4096], line[1024];
    snprintf(ckpt, sizeof ckpt, "%s/ckpt/sana-shapes", gd);
    if (getenv("SEMANTIC_CAPTIONS") && *getenv("SEMANTIC_CAPTIONS"))
        snprintf(capfile, sizeof capfile, "%s", getenv("SEMANTIC_CAPTIONS"));
    else
        snprintf(capfile, sizeof capfile, "%s/../train/heldout.txt", gd);
    FILE *f = fopen(capfile, "r");
    if (!f) {
        printf("ERROR: cannot open the caption file %s\n", capfile);
        return 99;
    }
    sana_pipeline *p = NULL;
    if (sana_pipeline_load(&p, ckpt, NULL) != 0) {
        printf("ERROR: load %s: %s\n", ckpt, sana_last_error());
        fclose(f);
        return 99;
    }
    int total = 0, right = 0, nbg = 0, ncol = 0, nshape = 0, npos = 0, errors = 0;
    double tsum = 0, tmax = 0;
    while (fgets(line, sizeof line, f)) {
        if (line[0] == '#' || line[0] == '\n') continue;
        line[strcspn(line, "\r\n")] = 0;
        char *field[5] = {line};
        int nf = 1;
        for (char *t = line; nf < 5 && (t = strchr(t, '\t')); nf++) *t++ = 0, field[nf] = t;
        if (nf != 5) {
            printf("ERROR: %s: a line without 5 tab-separated fields\n", capfile);
            errors++;
            break;
        }
        /* colour, shape, position, background, caption */
        sana_generate_params g;
        sana_generate_params_default(&g, p);
        g.prompt = field[4];
        g.seed = (uint64_t)total;
        sana_result r;
        double t0 = now();
        if (sana_generate(p, &g, &r) != 0) {
            printf("ERROR: generate \"%s\": %s\n", field[4], sana_last_error());
            errors++;
            break;
        }
        double dt = now() - t0;
        tsum += dt, tmax = dt > tmax ? dt : tmax;
        analysis a = analyse(r.images, r.height, r.width);
        int bg = !strcmp(a.background, field[3]), col = !strcmp(a.colour, field[0]);
        int shape = !strcmp(a.shape, field[1]), pos = !strcmp(a.position, field[2]);
        int ok = bg && col && shape && pos;
        printf("%s %2d \"%s\": background %s, %s %s (fill %.2f, top %.2f) at %s  [%.2f s]\n", ok ? "ok  " : "FAIL",
               total, field[4], a.background, a.colour, a.shape, a.fill, a.top, a.position, dt);
        nbg += bg, ncol += col, nshape += shape, npos += pos, right += ok, total++;
        sana_result_free(&r);
    }
    fclose(f);
    sana_pipeline_free(p);
    if (errors || total < 30) {
        printf("ERROR: %d captions generated (need at least 30)\n", total);
        return 99;
    }
    double acc = (double)right / total;
    printf("attributes right: background %d, colour %d, shape %d, position %d of %d\n", nbg, ncol, nshape, npos, total);
    printf("generation: %.2f s mean, %.2f s max\n", tsum / total, tmax);
    printf("%s: held-out accuracy %d/%d = %.1f%% (threshold %.0f%%)\n", acc >= THRESHOLD ? "PASS" : "FAIL", right,
           total, 100.0 * acc, 100.0 * THRESHOLD);
    return acc >= THRESHOLD ? 0 : 1;
}
