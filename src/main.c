/* src/main.c -- the `sana` command. */
#include "config.h"
#include "sana.h"

#include <stdio.h>
#include <string.h>

static void usage(FILE *fp)
{
    fprintf(fp,
            "usage: sana [--version] [--help]\n"
            "\n"
            "  --version   print the libsana version and exit\n"
            "  --help      print this help and exit\n");
}

int main(int argc, char **argv)
{
    if (argc == 2 && strcmp(argv[1], "--version") == 0) {
        printf("sana (libsana) %s\n", sana_version());
        return 0;
    }
    if (argc == 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
        usage(stdout);
        return 0;
    }
    usage(stderr);
    return 2;
}
