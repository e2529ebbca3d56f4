/* Private to the CPU convolution kernels: geometry, column transforms (im2col.c) and the
 * direct AVX-512 kernels (conv_direct.c, conv_direct_bwd.c). */
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

/* Per-thread grow-only scratch (conv.c), one buffer per slot. */
enum { WS_COL, WS_MAT, WS_DW, WS_XPAD, WS_GT, WS_PART, WS_CAT, LUNDI_CONV_WS_COUNT };
float *lundi__conv_scratch(int slot, size_t n);

/* The direct kernels are compiled for AVX-512F; lundi__conv_avx512() says whether the CPU
 * has it. The *_ok tests say whether a conv fits a kernel; the kernels return 0 or -1
 * (out of memory). */
#define LUNDI_T512 __attribute__((target("avx512f")))
int lundi__conv_avx512(void);
/* Forward of stride-1 convs with OW == W, and backward-data of those with p <= d * (k - 1). */
int lundi__conv_direct_fwd_ok(const lundi_conv_geom *g);
int lundi__conv_direct_fwd(const lundi_conv_geom *g, const float *x, const float *w, const float *bias, float *y);
int lundi__conv_direct_bwd_data_ok(const lundi_conv_geom *g);
int lundi__conv_direct_bwd_data(const lundi_conv_geom *g, const float *gy, const float *w, const float *bias,
                                float *gx);
/* Backward-weight (and bias) of the convs the forward takes, with Og < 16. */
int lundi__conv_direct_bwd_weight_thin(const lundi_conv_geom *g, const float *x, const float *gy, float *gw,
                                       float *gb);
/* Backward-weight (and bias) of any conv with Og % 16 == 0. */
int lundi__conv_direct_bwd_weight_ok(const lundi_conv_geom *g);
int lundi__conv_direct_bwd_weight(const lundi_conv_geom *g, const float *x, const float *gy, float *gw, float *gb);

#endif
