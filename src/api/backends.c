/* src/api/backends.c -- the compiled backends as the public API names them (sana_backend_list,
 * sana_backend_default_name): what `sana --list-backends` prints and sana_load_options.backend takes. */
#include "backend/backend.h"
#include "sana.h"

int sana_backend_list(int i, const char **name, const char **description)
{
    const sana_backend *be = sana_backend_get(i);
    if (!be) return 0;
    if (name) *name = be->name;
    if (description) *description = be->description;
    return 1;
}

const char *sana_backend_default_name(void) { return sana_backend_default()->name; }
