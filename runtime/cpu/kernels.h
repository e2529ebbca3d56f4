/* CPU kernel entry points. Declared weak while the set grows: a kernel that is not linked
 * in leaves a NULL table entry, which the dispatcher reports as unimplemented. */
#ifndef LUNDI_CPU_KERNELS_H
#define LUNDI_CPU_KERNELS_H

#include "cpu/threads.h"
#include "tensor/tensor_internal.h"

#define LUNDI_CPU_KERNEL(name) int name(const lundi_kcall *c) __attribute__((weak))

LUNDI_CPU_KERNEL(lundi_cpu_copy);
LUNDI_CPU_KERNEL(lundi_cpu_fill);
LUNDI_CPU_KERNEL(lundi_cpu_cast);
LUNDI_CPU_KERNEL(lundi_cpu_binary);
LUNDI_CPU_KERNEL(lundi_cpu_unary);
LUNDI_CPU_KERNEL(lundi_cpu_unary_bwd);
LUNDI_CPU_KERNEL(lundi_cpu_where);
LUNDI_CPU_KERNEL(lundi_cpu_reduce);
LUNDI_CPU_KERNEL(lundi_cpu_max_bwd);
LUNDI_CPU_KERNEL(lundi_cpu_gemm);
LUNDI_CPU_KERNEL(lundi_cpu_conv2d_fwd);
LUNDI_CPU_KERNEL(lundi_cpu_conv2d_bwd_data);
LUNDI_CPU_KERNEL(lundi_cpu_conv2d_bwd_weight);
LUNDI_CPU_KERNEL(lundi_cpu_group_norm_fwd);
LUNDI_CPU_KERNEL(lundi_cpu_group_norm_bwd);
LUNDI_CPU_KERNEL(lundi_cpu_group_norm_silu_fwd);
LUNDI_CPU_KERNEL(lundi_cpu_group_norm_silu_bwd);
LUNDI_CPU_KERNEL(lundi_cpu_layer_norm_fwd);
LUNDI_CPU_KERNEL(lundi_cpu_layer_norm_bwd);
LUNDI_CPU_KERNEL(lundi_cpu_rms_norm_fwd);
LUNDI_CPU_KERNEL(lundi_cpu_rms_norm_bwd);
LUNDI_CPU_KERNEL(lundi_cpu_softmax_fwd);
LUNDI_CPU_KERNEL(lundi_cpu_softmax_bwd);
LUNDI_CPU_KERNEL(lundi_cpu_log_softmax_fwd);
LUNDI_CPU_KERNEL(lundi_cpu_log_softmax_bwd);
LUNDI_CPU_KERNEL(lundi_cpu_attn_fwd);
LUNDI_CPU_KERNEL(lundi_cpu_attn_bwd);
LUNDI_CPU_KERNEL(lundi_cpu_embedding_fwd);
LUNDI_CPU_KERNEL(lundi_cpu_embedding_bwd);
LUNDI_CPU_KERNEL(lundi_cpu_upsample_fwd);
LUNDI_CPU_KERNEL(lundi_cpu_upsample_bwd);
LUNDI_CPU_KERNEL(lundi_cpu_avgpool_fwd);
LUNDI_CPU_KERNEL(lundi_cpu_avgpool_bwd);
LUNDI_CPU_KERNEL(lundi_cpu_cross_entropy_fwd);
LUNDI_CPU_KERNEL(lundi_cpu_cross_entropy_bwd);
LUNDI_CPU_KERNEL(lundi_cpu_rope);
LUNDI_CPU_KERNEL(lundi_cpu_rng_uniform);
LUNDI_CPU_KERNEL(lundi_cpu_rng_normal);
LUNDI_CPU_KERNEL(lundi_cpu_adamw);
LUNDI_CPU_KERNEL(lundi_cpu_ema);

/* Helpers shared by CPU kernels. */
/* Calls fn once per row of an N-d iteration space after merging dims that are contiguous
 * for every operand. off[k] is operand k's element offset of the row start, ist[k] its
 * stride along the row. nops <= 4. Rows run in parallel when parallel and large enough. */
typedef void (*lundi_cpu_row_fn)(void *ctx, int64_t n, const int64_t *off, const int64_t *ist);
void lundi_cpu_foreach_row(int ndim, const int64_t *shape, int nops, const int64_t *const *strides,
                           lundi_cpu_row_fn fn, void *ctx, int parallel);

#endif
