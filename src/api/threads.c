/* src/api/threads.c -- sana_threads_set: the thread count of the default backend (OpenMP and OpenBLAS
 * for ref and cpu), for the whole process. A pipeline sets its backend's at load (load options). */
#include "backend/backend.h"
#include "sana.h"

void sana_threads_set(int n)
{
    const sana_backend *be = sana_backend_default();
    if (n > 0 && be->set_threads) be->set_threads(be->ctx, n);
}
