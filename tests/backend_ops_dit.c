/* Backend-op cases of the dit family (see backend_ops.h). */
#include "backend_ops.h"

const bo_case bo_cases_dit[] = {
    {0, 0, 0}
};
