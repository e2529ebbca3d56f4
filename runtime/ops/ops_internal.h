/* What op front-ends share: the tape, the kernel runner with its CPU fallback, and the
 * differentiable unary op. */
#ifndef LUNDI_OPS_INTERNAL_H
#define LUNDI_OPS_INTERNAL_H

#include "autograd/node.h"
#include "lundi/ops.h"

/* Runs a kernel for an op: lundi__dispatch, or, when the operands' backend lacks the kernel
 * and CPU fallback is on, the kernel on the CPU on copies of the operands (fallback.c). */
int lundi__run(lundi_kcall *c);

/* Differentiable unary op by lundi_unop id (used by activations in other files). */
lundi_tensor *lundi__unary(const char *name, int op, lundi_tensor *x, float f0, float f1);

#endif
