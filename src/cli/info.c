/* src/cli/info.c -- `sana info DIR` (each component: config, parameter count, dtypes, file size)
 * and `sana info IMAGE.png` (the generation parameters stored in the image). */
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

#include "sana.h"
#include "cli/cli.h"

static int info_dir(const char *dir)
{
    char *text = NULL;
    if (sana_checkpoint_describe(dir, &text) != 0) return cli_fail("%s", sana_last_error());
    fputs(text, stdout);
    free(text);
    return 0;
}

static int info_image(const char *path)
{
    if (!sana_image_is_png(path)) return cli_fail("%s: neither a pipeline folder nor a PNG image", path);
    char *params = NULL;
    if (sana_image_read_parameters(path, &params) != 0) return cli_fail("%s", sana_last_error());
    if (!params) printf("%s: no generation parameters stored\n", path);
    else printf("%s\n", params);
    free(params);
    return 0;
}

int cmd_info(int argc, char **argv)
{
    if (argc != 2 || argv[1][0] == '-') return cli_usage_fail("usage: sana info DIR | IMAGE.png");
    const char *what = argv[1];
    struct stat st;
    if (stat(what, &st) != 0) return cli_fail("%s: no such file or folder", what);
    return S_ISDIR(st.st_mode) ? info_dir(what) : info_image(what);
}
