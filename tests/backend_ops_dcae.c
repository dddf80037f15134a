/* Backend-op cases of the dcae family (see backend_ops.h). */
#include "backend_ops.h"

const bo_case bo_cases_dcae[] = {
    {0, 0, 0}
};
