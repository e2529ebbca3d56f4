/* A tensor's text for printing (runtime/tensor/format.c); the Lua module's tostring. */
#ifndef LUNDI_TENSOR_FORMAT_H
#define LUNDI_TENSOR_FORMAT_H

#include <stddef.h>

#include "lundi/tensor.h"

#define LUNDI__FORMAT_MAX 20 /* tensors up to this many elements show their values */

/* "tensor([[1, 2], [3, 4]], f32 cpu)" for a tensor of at most LUNDI__FORMAT_MAX elements
 * (integral dtypes as integers, others as %.6g), else (or when its values cannot be read)
 * "tensor(f32[2,3] cpu)"; either with ", requires_grad" before the ')' when it is set.
 * Truncated to fit n bytes; returns buf. */
char *lundi__format_tensor(const lundi_tensor *t, char *buf, size_t n);

#endif
