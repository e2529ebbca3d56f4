/* Non-x86 builds: the direct AVX-512 conv kernels do not exist, so every conv takes the
 * portable im2col + sgemm path (runtime/cpu/conv_gemm.c). */
#include "cpu/conv.h"
#include "tensor/tensor_internal.h"

int lundi__conv_avx512(void) { return 0; }
void lundi__conv_avx512_allow(int on) { (void)on; }
int lundi__conv_direct_fwd_ok(const lundi_conv_geom *g) { (void)g; return 0; }
int lundi__conv_direct_bwd_data_ok(const lundi_conv_geom *g) { (void)g; return 0; }
int lundi__conv_direct_wgrad_ok(const lundi_conv_geom *g) { (void)g; return 0; }

static int none(void) { return lundi__err(LUNDI_EUNSUPPORTED, "conv2d: direct kernels need x86-64 with AVX-512"); }

int lundi__conv_direct_fwd(const lundi_conv_geom *g, const float *x, const float *w, const float *bias, float *y) {
  (void)g, (void)x, (void)w, (void)bias, (void)y;
  return none();
}
int lundi__conv_direct_bwd_data(const lundi_conv_geom *g, const float *gy, const float *w, const float *bias,
                                float *gx) {
  (void)g, (void)gy, (void)w, (void)bias, (void)gx;
  return none();
}
int lundi__conv_direct_wgrad(const lundi_conv_geom *g, const float *x, const float *gy, float *gw, float *gb) {
  (void)g, (void)x, (void)gy, (void)gw, (void)gb;
  return none();
}
int lundi__conv_direct_wgrad_thin(const lundi_conv_geom *g, const float *x, const float *gy, float *gw, float *gb) {
  (void)g, (void)x, (void)gy, (void)gw, (void)gb;
  return none();
}
