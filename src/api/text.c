/* src/api/text.c -- sana_text_tokenize: the token ids of a text with a pipeline folder's tokenizer,
 * without loading any model. A thin wrapper over text/tokenizer.h. */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "sana.h"
#include "core/status.h"
#include "text/tokenizer.h"

int sana_text_tokenize(const char *dir, const char *text, int32_t **ids, int *n)
{
    *ids = NULL;
    *n = 0;
    struct stat st;
    if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode)) return sana_err(SANA_ERR_MISSING, "%s: no such folder", dir);
    size_t len = strlen(dir) + sizeof "/tokenizer/tokenizer.json";
    char *path = malloc(len);
    if (!path) return sana_err(SANA_ERR_NOMEM, "out of memory");
    snprintf(path, len, "%s/tokenizer/tokenizer.json", dir);
    sana_tokenizer *t = NULL;
    sana_status rc = sana_tokenizer_load(&t, path);
    free(path);
    if (rc != SANA_OK) return rc;
    rc = sana_tokenize(t, text, strlen(text), 1, ids, n);
    sana_tokenizer_free(t);
    return rc;
}
