/* Differentiable ops. Each returns a new tensor (NULL on error, with a message that
 * names the op and the shapes involved). Inputs may be any strided view; all tensors
 * of one call must live on the same device. When grad mode is on and an input
 * requires grad, the op is recorded on the tape. */
#ifndef LUNDI_OPS_H
#define LUNDI_OPS_H

#include "lundi/tensor.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- elementwise, numpy broadcasting ---- */
lundi_tensor *lundi_add(lundi_tensor *a, lundi_tensor *b);
lundi_tensor *lundi_sub(lundi_tensor *a, lundi_tensor *b);
lundi_tensor *lundi_mul(lundi_tensor *a, lundi_tensor *b);
lundi_tensor *lundi_div(lundi_tensor *a, lundi_tensor *b);
lundi_tensor *lundi_add_scalar(lundi_tensor *a, float s);
lundi_tensor *lundi_mul_scalar(lundi_tensor *a, float s);
lundi_tensor *lundi_rsub_scalar(lundi_tensor *a, float s); /* s - a */
lundi_tensor *lundi_pow_scalar(lundi_tensor *a, float p);
lundi_tensor *lundi_sub_scalar(lundi_tensor *a, float s);  /* a - s */
lundi_tensor *lundi_div_scalar(lundi_tensor *a, float s);  /* a / s, as a * (1/s) */
lundi_tensor *lundi_rdiv_scalar(lundi_tensor *a, float s); /* s / a, as s * a^-1 */
lundi_tensor *lundi_neg(lundi_tensor *a);
lundi_tensor *lundi_exp(lundi_tensor *a);
lundi_tensor *lundi_log(lundi_tensor *a);
lundi_tensor *lundi_sqrt(lundi_tensor *a);
lundi_tensor *lundi_rsqrt(lundi_tensor *a);
lundi_tensor *lundi_abs(lundi_tensor *a);
lundi_tensor *lundi_tanh(lundi_tensor *a);
lundi_tensor *lundi_sigmoid(lundi_tensor *a);
lundi_tensor *lundi_clamp(lundi_tensor *a, float lo, float hi); /* gradient 0 outside */
/* cond != 0 ? a : b, all three broadcast together. */
lundi_tensor *lundi_where(lundi_tensor *cond, lundi_tensor *a, lundi_tensor *b);

/* ---- reductions over axes (negative axes allowed; n_axes == 0 means all) ---- */
lundi_tensor *lundi_sum(lundi_tensor *a, int n_axes, const int *axes, int keepdim);
lundi_tensor *lundi_mean(lundi_tensor *a, int n_axes, const int *axes, int keepdim);
/* Gradient flows to the first maximal element. */
lundi_tensor *lundi_max(lundi_tensor *a, int n_axes, const int *axes, int keepdim);
/* Sums a broadcast result back down to shape (the adjoint of expand). */
lundi_tensor *lundi_sum_to(lundi_tensor *a, int ndim, const int64_t *shape);

/* ---- linear algebra (OpenBLAS sgemm on the CPU) ---- */
/* a [..., M, K] @ b [..., K, N]; batch dims broadcast. 1-D operands are promoted. */
lundi_tensor *lundi_matmul(lundi_tensor *a, lundi_tensor *b);
/* x [..., in] @ w[out, in]^T + bias[out]; bias may be NULL. */
lundi_tensor *lundi_linear(lundi_tensor *x, lundi_tensor *w, lundi_tensor *bias);

/* ---- convolution (NCHW / NCL; weight [Cout, Cin/groups, kh, kw]) ---- */
typedef struct lundi_conv_params {
  int stride[2];         /* (h, w); conv1d uses [0] only. 0 means 1. */
  int padding[2];
  int dilation[2];       /* 0 means 1 */
  int output_padding[2]; /* transposed convs only */
  int groups;            /* 0 means 1 */
} lundi_conv_params;
lundi_tensor *lundi_conv2d(lundi_tensor *x, lundi_tensor *w, lundi_tensor *bias,
                           const lundi_conv_params *p);
lundi_tensor *lundi_conv1d(lundi_tensor *x, lundi_tensor *w, lundi_tensor *bias,
                           const lundi_conv_params *p);
/* weight [Cin, Cout/groups, kh, kw] as in PyTorch's ConvTranspose. */
lundi_tensor *lundi_conv_transpose2d(lundi_tensor *x, lundi_tensor *w, lundi_tensor *bias,
                                     const lundi_conv_params *p);
lundi_tensor *lundi_conv_transpose1d(lundi_tensor *x, lundi_tensor *w, lundi_tensor *bias,
                                     const lundi_conv_params *p);
/* conv2d(upsample_nearest2d(x, scale), w, bias) with stride 1 and the given padding, without
 * the upsampled image: each of the scale^2 output phases is a conv of x with a smaller
 * kernel (a 3x3 at scale 2: four 2x2 convs, 16/36 of the multiply-adds). Same result up to
 * rounding; differentiable in x, w and bias. */
lundi_tensor *lundi_upsample_conv2d(lundi_tensor *x, int scale, lundi_tensor *w, lundi_tensor *bias,
                                    int padding);

/* ---- normalisation (gamma/beta may be NULL) ---- */
/* x [N, C, ...]; gamma, beta [C]. */
lundi_tensor *lundi_group_norm(lundi_tensor *x, int groups, lundi_tensor *gamma,
                               lundi_tensor *beta, float eps);
/* Same contract as group_norm followed by silu, in one pass; differentiable in x, gamma, beta. */
lundi_tensor *lundi_group_norm_silu(lundi_tensor *x, int groups, lundi_tensor *gamma,
                                    lundi_tensor *beta, float eps);
/* silu(group_norm(x + e)) with e [N, C] added per sample and channel (a U-Net res block's
 * time embedding), without writing x + e; differentiable in x, e, gamma, beta. */
lundi_tensor *lundi_add_group_norm_silu(lundi_tensor *x, lundi_tensor *e, int groups,
                                        lundi_tensor *gamma, lundi_tensor *beta, float eps);
/* Normalises over the last dim; gamma, beta [D]. */
lundi_tensor *lundi_layer_norm(lundi_tensor *x, lundi_tensor *gamma, lundi_tensor *beta,
                               float eps);
lundi_tensor *lundi_rms_norm(lundi_tensor *x, lundi_tensor *gamma, float eps);

/* ---- activations ---- */
lundi_tensor *lundi_silu(lundi_tensor *x);
lundi_tensor *lundi_gelu(lundi_tensor *x, int tanh_approx); /* 0: exact erf form */
lundi_tensor *lundi_mish(lundi_tensor *x);
/* A row that is all -inf gives 0 (softmax) or -inf (log_softmax), with finite gradients. */
lundi_tensor *lundi_softmax(lundi_tensor *x, int dim);
lundi_tensor *lundi_log_softmax(lundi_tensor *x, int dim);

/* ---- attention ----
 * q [..., L, D], k [..., S, D], v [..., S, Dv] -> [..., L, Dv].
 * mask (may be NULL) is ADDED to the scores and broadcasts to [..., L, S]
 * (use -INFINITY to block). causal blocks s > l + (S - L). scale <= 0 means 1/sqrt(D).
 * A fully masked row outputs 0 and passes zero gradient (no NaN). q, k, v batch dims broadcast. */
lundi_tensor *lundi_sdpa(lundi_tensor *q, lundi_tensor *k, lundi_tensor *v, lundi_tensor *mask,
                         int causal, float scale);

/* ---- indexing, resampling, joining ---- */
/* weight [V, D], idx i32 of any shape -> [..., D]. Out-of-range ids are an error. */
lundi_tensor *lundi_embedding(lundi_tensor *weight, lundi_tensor *idx);
lundi_tensor *lundi_upsample_nearest2d(lundi_tensor *x, int scale); /* [N,C,H,W] */
lundi_tensor *lundi_avg_pool2d(lundi_tensor *x, int kernel, int stride); /* no padding */
lundi_tensor *lundi_avg_pool1d(lundi_tensor *x, int kernel, int stride);
lundi_tensor *lundi_concat(int n, lundi_tensor *const *ts, int dim);
/* Splits along dim into n pieces of the given sizes; writes n new refs into out. */
int lundi_split(lundi_tensor *x, int dim, int n, const int64_t *sizes, lundi_tensor **out);

/* ---- losses (scalar results, mean reduction) ---- */
lundi_tensor *lundi_mse_loss(lundi_tensor *pred, lundi_tensor *target);
/* logits [..., C]; target i32 [...]. Entries equal to ignore_index, or where mask
 * (f32 [...], may be NULL) is 0, do not count; the mean is over counted entries,
 * weighted by mask. label_smoothing in [0,1). */
lundi_tensor *lundi_cross_entropy(lundi_tensor *logits, lundi_tensor *target, lundi_tensor *mask,
                                  int ignore_index, float label_smoothing);

/* ---- positional ---- */
/* Rotary embedding on x [..., L, D] (D even), rotate-half convention:
 * pairs (i, i + D/2) rotate by angle pos * base^(-2i/D), pos = pos_offset + l. */
lundi_tensor *lundi_rope(lundi_tensor *x, float base, int64_t pos_offset);

/* ---- regularisation ---- */
/* Inverted dropout; identity when !training or p == 0. Draws from rng. */
lundi_tensor *lundi_dropout(lundi_tensor *x, float p, int training, lundi_rng *rng);

/* ---- where ops run ----
 * An op a device backend lacks is an error naming it, unless CPU fallback is on (this call,
 * or LUNDI_CPU_FALLBACK=1): then it runs on the CPU on copies of its operands, and the
 * results are copied back. Off by default: a silent fallback would hide slow paths. */
void lundi_set_cpu_fallback(int on);
int lundi_cpu_fallback(void);

#ifdef __cplusplus
}
#endif
#endif
