/* src/api/threads.c -- sana_threads_set: the thread count of OpenMP and OpenBLAS, owned by the library. */
#include "config.h"

#include <omp.h>
#ifdef HAVE_OPENBLAS_SET_NUM_THREADS
#include <cblas.h>
#endif

#include "sana.h"

void sana_threads_set(int n)
{
    if (n <= 0) return;
    omp_set_num_threads(n);
#ifdef HAVE_OPENBLAS_SET_NUM_THREADS
    openblas_set_num_threads(n);
#endif
}
