/* src/status.c -- the thread-local error message behind sana_status. */
#include "status.h"

#include <stdio.h>
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
