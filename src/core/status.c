/* src/core/status.c -- the thread-local error message behind sana_status. */
#include "core/status.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SANA_ERRMSG_MAX 1024
static _Thread_local char errmsg[SANA_ERRMSG_MAX];

sana_status sana_err(sana_status st, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(errmsg, sizeof errmsg, fmt, ap);
    va_end(ap);
    return st;
}

sana_status sana_err_prefix(sana_status st, const char *fmt, ...)
{
    char old[SANA_ERRMSG_MAX];
    va_list ap;
    memcpy(old, errmsg, sizeof old);
    va_start(ap, fmt);
    int n = vsnprintf(errmsg, sizeof errmsg, fmt, ap);
    va_end(ap);
    if (n >= 0 && (size_t)n < sizeof errmsg)
        snprintf(errmsg + n, sizeof errmsg - (size_t)n, ": %.*s", (int)(sizeof errmsg - (size_t)n), old);
    return st;
}

sana_status sana_read_file(const char *path, size_t max, char **buf, size_t *len)
{
    *buf = NULL;
    *len = 0;
    FILE *fp = fopen(path, "rb");
    if (!fp)
        return sana_err(errno == ENOENT ? SANA_ERR_MISSING : SANA_ERR_IO, "%s: cannot open: %s", path,
                        strerror(errno));
    long n = -1;
    char *b = NULL;
    if (fseek(fp, 0, SEEK_END) == 0 && (n = ftell(fp)) >= 0 && (size_t)n <= max && fseek(fp, 0, SEEK_SET) == 0) {
        b = malloc((size_t)n + 1);
        if (b && fread(b, 1, (size_t)n, fp) != (size_t)n) { free(b); b = NULL; }
    }
    fclose(fp);
    if (!b)
        return sana_err(SANA_ERR_IO, "%s: cannot read%s", path, n >= 0 && (size_t)n > max ? ": file too large" : "");
    b[n] = '\0';
    *buf = b;
    *len = (size_t)n;
    return SANA_OK;
}

const char *sana_errmsg(void) { return errmsg; }

void sana_err_clear(void) { errmsg[0] = '\0'; }

const char *sana_status_name(sana_status st)
{
    switch (st) {
    case SANA_OK: return "ok";
    case SANA_ERR_IO: return "I/O error";
    case SANA_ERR_FORMAT: return "format error";
    case SANA_ERR_UNSUPPORTED: return "unsupported";
    case SANA_ERR_ARG: return "invalid argument";
    case SANA_ERR_NOMEM: return "out of memory";
    case SANA_ERR_MISSING: return "missing";
    }
    return "unknown status";
}

const char *sana_last_error(void) { return sana_errmsg(); }
