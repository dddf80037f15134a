/* src/core/version.c -- sana_version(). */
#include "config.h"
#include "sana.h"

const char *sana_version(void) { return PACKAGE_VERSION; }
