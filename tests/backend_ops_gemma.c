/* Backend-op cases of the gemma family (see backend_ops.h). */
#include "backend_ops.h"

const bo_case bo_cases_gemma[] = {
    {0, 0, 0}
};
