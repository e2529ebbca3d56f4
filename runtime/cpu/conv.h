/* Private to the CPU convolution kernels (conv.c): geometry, scratch, the portable
 * im2col + sgemm kernels (conv_gemm.c, im2col.c) and the AVX-512 direct kernels
 * (conv_direct.c, conv_direct_wgrad.c). All kernels return 0, or -1 when out of memory. */
#ifndef LUNDI_CPU_CONV_H
#define LUNDI_CPU_CONV_H

#include <stddef.h>
#include <stdint.h>

/* A conv2d in NCHW: input x [N, C, H, W], output y [N, O, OH, OW], weight
 * [O, Cg, kh, kw] with Cg = C / G, Og = O / G and K = Cg * kh * kw rows per group. */
typedef struct lundi_conv_geom {
  int64_t N, C, H, W, O, OH, OW;
  int64_t kh, kw, sh, sw, ph, pw, dh, dw, G;
  int64_t Cg, Og, K;
} lundi_conv_geom;

/* Per-thread grow-only scratch, one buffer per slot (each slot has one user at a time). */
enum { WS_COL, WS_MAT, WS_DW, WS_XPAD, WS_GT, WS_PART, WS_CAT, LUNDI_CONV_WS_COUNT };
float *lundi__conv_scratch(int slot, size_t n);

/* ---- portable: im2col / col2im + OpenBLAS sgemm ---- */

/* A block of output pixels: images [n0, n0 + nb), and of each image the output rows
 * [oh0, oh1) (nb > 1 only with whole images). Its columns are numbered
 * img * (oh1 - oh0) * OW + (oh - oh0) * OW + ow. */
typedef struct lundi_conv_block {
  int64_t n0, nb, oh0, oh1;
} lundi_conv_block;

static inline int64_t lundi__conv_block_cols(const lundi_conv_geom *g, const lundi_conv_block *b) {
  return b->nb * (b->oh1 - b->oh0) * g->OW;
}

/* col[r * ld + column] = x at the tap of row r = c * kh * kw + ki * kw + kj (all C
 * channels, so group k's rows start at k * K), 0 in the padding. par: split the rows
 * across OpenMP threads (call from outside a parallel region). */
void lundi__im2col(const lundi_conv_geom *g, const lundi_conv_block *b, const float *x, float *col,
                   int64_t ld, int par);
/* The adjoint: x at each tap += col. x must be initialised; par splits by channel. */
void lundi__col2im(const lundi_conv_geom *g, const lundi_conv_block *b, const float *col, int64_t ld,
                   float *x, int par);

int lundi__conv_gemm_fwd(const lundi_conv_geom *g, const float *x, const float *w, const float *bias, float *y);
int lundi__conv_gemm_bwd_data(const lundi_conv_geom *g, const float *gy, const float *w, const float *bias,
                              float *gx);
int lundi__conv_gemm_bwd_weight(const lundi_conv_geom *g, const float *x, const float *gy, float *gw, float *gb);

/* ---- direct AVX-512 kernels ----
 * Compiled for AVX-512F with a target attribute; lundi__conv_avx512() says whether the
 * CPU has it (and the tests have not turned them off). The *_ok functions say whether a
 * conv fits a kernel. */
#define LUNDI_T512 __attribute__((target("avx512f")))
int lundi__conv_avx512(void);
/* Tests turn the direct kernels off to exercise the portable ones on AVX-512 machines. */
void lundi__conv_avx512_allow(int on);

/* Forward: stride 1 with OW == W, or stride s with ceil(W / s) <= OW. */
int lundi__conv_direct_fwd_ok(const lundi_conv_geom *g);
int lundi__conv_direct_fwd(const lundi_conv_geom *g, const float *x, const float *w, const float *bias, float *y);
/* Backward-data of the stride-1 forward convs with padding <= dilation * (k - 1). */
int lundi__conv_direct_bwd_data_ok(const lundi_conv_geom *g);
int lundi__conv_direct_bwd_data(const lundi_conv_geom *g, const float *gy, const float *w, const float *bias,
                                float *gx);
/* Weight and bias gradients: any conv with Og % 16 == 0 (vectorised over channels) ... */
int lundi__conv_direct_wgrad_ok(const lundi_conv_geom *g);
int lundi__conv_direct_wgrad(const lundi_conv_geom *g, const float *x, const float *gy, float *gw, float *gb);
/* ... and the forward-direct convs with Og < 16 (vectorised over pixels). */
int lundi__conv_direct_wgrad_thin(const lundi_conv_geom *g, const float *x, const float *gy, float *gw, float *gb);

#endif
