/* src/core/status.h -- library status codes and the error message that goes with them.
 *
 * Library functions return a sana_status and, on failure, set a message that
 * names the file and the problem (sana_err). Only the command-line tool
 * prints it and exits. The message is thread-local.
 */
#ifndef SANA_STATUS_H
#define SANA_STATUS_H

#include <stdarg.h>

/* sana_status (SANA_OK, SANA_ERR_IO, ...) is public: include/sana.h. */
#include "sana.h"

/* Set the message (printf format) and return st, so that `return sana_err(...)` reads well. */
sana_status sana_err(sana_status st, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Prefix the current message with "context: " (e.g. the folder being loaded). */
sana_status sana_err_prefix(sana_status st, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* The last message set on this thread ("" when none). */
const char *sana_errmsg(void);
/* Clear the message. */
void sana_err_clear(void);

#include <stddef.h>
/*
 * Read a whole file of at most max bytes into a malloc'd, NUL-terminated buffer.
 * Errors name the file: missing, unreadable, or larger than max.
 */
sana_status sana_read_file(const char *path, size_t max, char **buf, size_t *len);

#endif
