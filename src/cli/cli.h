/* src/cli/cli.h -- shared pieces of the `sana` command (src/cli/main.c, src/cli_*.c). */
#ifndef SANA_CLI_H
#define SANA_CLI_H

#include <stdio.h>

/* Print "sana: error: MSG" (one line) to stderr; returns 1, the exit status of a failed run. */
int cli_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Check that a file can be created at path (its folder exists and is writable); 0 or a message. */
int cli_check_writable(const char *path);

/* sana info DIR | IMAGE.png */
int cli_info(int argc, char **argv);
/* sana tokenize -m DIR -p TEXT */
int cli_tokenize(int argc, char **argv);

#endif
