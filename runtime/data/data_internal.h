/* Private to runtime/data. */
#ifndef LUNDI_DATA_INTERNAL_H
#define LUNDI_DATA_INTERNAL_H

#include "lundi/data.h"
#include "lundi/ops.h"

#endif
