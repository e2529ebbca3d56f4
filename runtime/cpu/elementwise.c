/* CPU elementwise kernels: copy, fill, cast, binary, unary (and their derivatives), where.
 * Inputs arrive as views already broadcast to the output shape. */
#include "cpu/kernels.h"

#include <math.h>
#include <string.h>

#include "cpu/vexp.h"

/* ---- copy / fill / cast ---- */

typedef struct {
  char *dst;
  const char *src;
  size_t esz;
  int64_t pn, ps; /* zip_row: the dst-contiguous innermost dim (extent, src stride) */
} copy_ctx;

static void copy_row(void *vctx, int64_t n, const int64_t *off, const int64_t *ist) {
  copy_ctx *c = vctx;
  if (ist[0] == 1 && ist[1] == 1) {
    memcpy(c->dst + off[0] * c->esz, c->src + off[1] * c->esz, (size_t)n * c->esz);
  } else if (c->esz == 4) {
    uint32_t *d = (uint32_t *)c->dst + off[0];
    const uint32_t *s = (const uint32_t *)c->src + off[1];
    for (int64_t i = 0; i < n; i++) d[i * ist[0]] = s[i * ist[1]];
  } else {
    for (int64_t i = 0; i < n; i++)
      memcpy(c->dst + (off[0] + i * ist[0]) * c->esz, c->src + (off[1] + i * ist[1]) * c->esz, c->esz);
  }
}

/* A row of an interleave: dst[i * ist0 + k] = src[i * ist1 + k * ps] for k < pn (4-byte). */
static void zip_row(void *vctx, int64_t n, const int64_t *off, const int64_t *ist) {
  copy_ctx *c = vctx;
  uint32_t *d = (uint32_t *)c->dst + off[0];
  const uint32_t *s = (const uint32_t *)c->src + off[1];
  for (int64_t i = 0; i < n; i++)
    for (int64_t k = 0; k < c->pn; k++) d[i * ist[0] + k] = s[i * ist[1] + k * c->ps];
}

int lundi_cpu_copy(const lundi_kcall *c) {
  lundi_tensor *d = c->out[0], *s = c->in[0];
  size_t esz = lundi_dtype_size(d->dtype);
  copy_ctx ctx = {(char *)d->storage->data + d->offset * esz, (const char *)s->storage->data + s->offset * esz, esz,
                  0, 0};
  const int64_t *st[2] = {d->stride, s->stride};
  const int nd = d->ndim;
  /* An interleave (dst's innermost dim short and contiguous, src's not, e.g. the phases of
   * upsample_conv2d): whole groups of it per element of the next dim, so rows write dst
   * contiguously and are pn times longer (per-row overhead dominated otherwise). */
  if (esz == 4 && nd >= 2 && d->shape[nd - 1] >= 2 && d->shape[nd - 1] <= 4 && d->stride[nd - 1] == 1 &&
      s->stride[nd - 1] != 1 && d->stride[nd - 2] == d->shape[nd - 1]) {
    ctx.pn = d->shape[nd - 1], ctx.ps = s->stride[nd - 1];
    lundi_cpu_foreach_row(nd - 1, d->shape, 2, st, zip_row, &ctx, 1);
    return 0;
  }
  lundi_cpu_foreach_row(nd, d->shape, 2, st, copy_row, &ctx, 1);
  return 0;
}

static void fill_row(void *vctx, int64_t n, const int64_t *off, const int64_t *ist) {
  const lundi_kcall *c = vctx;
  lundi_tensor *d = c->out[0];
  if (d->dtype == LUNDI_I32) {
    int32_t *p = lundi__i32(d) + off[0], v = (int32_t)c->f[0];
    for (int64_t i = 0; i < n; i++) p[i * ist[0]] = v;
  } else {
    float *p = lundi__f32(d) + off[0], v = (float)c->f[0];
    for (int64_t i = 0; i < n; i++) p[i * ist[0]] = v;
  }
}

int lundi_cpu_fill(const lundi_kcall *c) {
  lundi_tensor *d = c->out[0];
  if (d->dtype != LUNDI_F32 && d->dtype != LUNDI_I32)
    return lundi__err(LUNDI_EUNSUPPORTED, "fill: %s tensors", lundi_dtype_name(d->dtype));
  const int64_t *st[1] = {d->stride};
  lundi_cpu_foreach_row(d->ndim, d->shape, 1, st, fill_row, (void *)c, 1);
  return 0;
}

static float load_as_f32(const void *p, lundi_dtype dt, int64_t i) {
  switch (dt) {
  case LUNDI_F32: return ((const float *)p)[i];
  case LUNDI_F16: return lundi_f16_to_f32(((const uint16_t *)p)[i]);
  case LUNDI_BF16: return lundi_bf16_to_f32(((const uint16_t *)p)[i]);
  case LUNDI_I32: return (float)((const int32_t *)p)[i];
  case LUNDI_U8: return (float)((const uint8_t *)p)[i];
  }
  return 0;
}

static void store_from_f32(void *p, lundi_dtype dt, int64_t i, float v) {
  switch (dt) {
  case LUNDI_F32: ((float *)p)[i] = v; break;
  case LUNDI_F16: ((uint16_t *)p)[i] = lundi_f32_to_f16(v); break;
  case LUNDI_BF16: ((uint16_t *)p)[i] = lundi_f32_to_bf16(v); break;
  case LUNDI_I32: ((int32_t *)p)[i] = (int32_t)lrintf(v); break;
  case LUNDI_U8: ((uint8_t *)p)[i] = (uint8_t)(v < 0 ? 0 : v > 255 ? 255 : lrintf(v)); break;
  }
}

int lundi_cpu_cast(const lundi_kcall *c) {
  lundi_tensor *d = c->out[0], *s = c->in[0];
  const void *sp = lundi_data(s);
  void *dp = lundi_data(d);
  int64_t n = lundi_numel(d);
#pragma omp parallel for schedule(static) if (n > 65536)
  for (int64_t i = 0; i < n; i++) store_from_f32(dp, d->dtype, i, load_as_f32(sp, s->dtype, i));
  return 0;
}

/* ---- binary ---- */

typedef struct {
  float *o;
  const float *a, *b;
  int op;
} bin_ctx;

#define BIN_LOOP(expr)                                                                         \
  do {                                                                                         \
    if (sa == 1 && sb == 1 && so == 1) {                                                       \
      for (int64_t i = 0; i < n; i++) { float x = a[i], y = b[i]; o[i] = (expr); }             \
    } else if (sa == 1 && sb == 0 && so == 1) {                                                \
      float y = b[0];                                                                          \
      for (int64_t i = 0; i < n; i++) { float x = a[i]; o[i] = (expr); }                       \
    } else if (sa == 0 && sb == 1 && so == 1) {                                                \
      float x = a[0];                                                                          \
      for (int64_t i = 0; i < n; i++) { float y = b[i]; o[i] = (expr); }                       \
    } else {                                                                                   \
      for (int64_t i = 0; i < n; i++) { float x = a[i * sa], y = b[i * sb]; o[i * so] = (expr); } \
    }                                                                                          \
  } while (0)

static void bin_row(void *vctx, int64_t n, const int64_t *off, const int64_t *ist) {
  bin_ctx *c = vctx;
  float *o = c->o + off[0];
  const float *a = c->a + off[1], *b = c->b + off[2];
  int64_t so = ist[0], sa = ist[1], sb = ist[2];
  switch (c->op) {
  case LUNDI_BIN_ADD: BIN_LOOP(x + y); break;
  case LUNDI_BIN_SUB: BIN_LOOP(x - y); break;
  case LUNDI_BIN_MUL: BIN_LOOP(x * y); break;
  case LUNDI_BIN_DIV: BIN_LOOP(x / y); break;
  case LUNDI_BIN_MAX: BIN_LOOP(x > y ? x : y); break;
  case LUNDI_BIN_MIN: BIN_LOOP(x < y ? x : y); break;
  case LUNDI_BIN_EQ: BIN_LOOP(x == y ? 1.0f : 0.0f); break;
  case LUNDI_BIN_GT: BIN_LOOP(x > y ? 1.0f : 0.0f); break;
  case LUNDI_BIN_GE: BIN_LOOP(x >= y ? 1.0f : 0.0f); break;
  }
}

int lundi_cpu_binary(const lundi_kcall *c) {
  lundi_tensor *o = c->out[0], *a = c->in[0], *b = c->in[1];
  bin_ctx ctx = {lundi__f32(o), lundi__f32(a), lundi__f32(b), (int)c->i[0]};
  const int64_t *st[3] = {o->stride, a->stride, b->stride};
  lundi_cpu_foreach_row(o->ndim, o->shape, 3, st, bin_row, &ctx, 1);
  return 0;
}

/* ---- unary ---- */

static inline float sigmoidf(float x) { return 1.0f / (1.0f + expf(-x)); }

static inline float softplusf(float x) { return x > 20.0f ? x : log1pf(expf(x)); }
#define SQRT_2_OVER_PI 0.7978845608028654f
#define INV_SQRT_2 0.7071067811865476f
#define INV_SQRT_2PI 0.3989422804014327f

static inline float unary_f(int op, float x, float f0, float f1) {
  switch (op) {
  case LUNDI_UN_NEG: return -x;
  case LUNDI_UN_EXP: return expf(x);
  case LUNDI_UN_LOG: return logf(x);
  case LUNDI_UN_SQRT: return sqrtf(x);
  case LUNDI_UN_RSQRT: return 1.0f / sqrtf(x);
  case LUNDI_UN_ABS: return fabsf(x);
  case LUNDI_UN_TANH: return tanhf(x);
  case LUNDI_UN_SIGMOID: return sigmoidf(x);
  case LUNDI_UN_SILU: return x * sigmoidf(x);
  case LUNDI_UN_GELU: return 0.5f * x * (1.0f + erff(x * INV_SQRT_2));
  case LUNDI_UN_GELU_TANH:
    return 0.5f * x * (1.0f + tanhf(SQRT_2_OVER_PI * (x + 0.044715f * x * x * x)));
  case LUNDI_UN_MISH: return x * tanhf(softplusf(x));
  case LUNDI_UN_RELU: return x > 0 ? x : 0;
  case LUNDI_UN_ADD_S: return x + f0;
  case LUNDI_UN_MUL_S: return x * f0;
  case LUNDI_UN_RSUB_S: return f0 - x;
  case LUNDI_UN_POW_S: return powf(x, f0);
  case LUNDI_UN_CLAMP: return x < f0 ? f0 : x > f1 ? f1 : x;
  case LUNDI_UN_SIGN: return (float)((x > 0) - (x < 0));
  }
  return NAN;
}

/* d op / dx at x (y = op(x) available for ops whose derivative reuses it). */
static inline float unary_df(int op, float x, float y, float f0, float f1) {
  switch (op) {
  case LUNDI_UN_NEG: return -1.0f;
  case LUNDI_UN_EXP: return y;
  case LUNDI_UN_LOG: return 1.0f / x;
  case LUNDI_UN_SQRT: return 0.5f / y;
  case LUNDI_UN_RSQRT: return -0.5f * y * y * y;
  case LUNDI_UN_ABS: return (float)((x > 0) - (x < 0));
  case LUNDI_UN_TANH: return 1.0f - y * y;
  case LUNDI_UN_SIGMOID: return y * (1.0f - y);
  case LUNDI_UN_SILU: {
    float s = sigmoidf(x);
    return s * (1.0f + x * (1.0f - s));
  }
  case LUNDI_UN_GELU:
    return 0.5f * (1.0f + erff(x * INV_SQRT_2)) + x * INV_SQRT_2PI * expf(-0.5f * x * x);
  case LUNDI_UN_GELU_TANH: {
    float u = SQRT_2_OVER_PI * (x + 0.044715f * x * x * x), t = tanhf(u);
    return 0.5f * (1.0f + t) + 0.5f * x * (1.0f - t * t) * SQRT_2_OVER_PI * (1.0f + 3.0f * 0.044715f * x * x);
  }
  case LUNDI_UN_MISH: {
    float t = tanhf(softplusf(x));
    return t + x * (1.0f - t * t) * sigmoidf(x);
  }
  case LUNDI_UN_RELU: return x > 0 ? 1.0f : 0.0f;
  case LUNDI_UN_ADD_S: return 1.0f;
  case LUNDI_UN_MUL_S: return f0;
  case LUNDI_UN_RSUB_S: return -1.0f;
  case LUNDI_UN_POW_S: return f0 == 0 ? 0.0f : f0 * powf(x, f0 - 1.0f);
  case LUNDI_UN_CLAMP: return (x >= f0 && x <= f1) ? 1.0f : 0.0f;
  case LUNDI_UN_SIGN: return 0.0f;
  }
  return NAN;
}

typedef struct {
  const lundi_kcall *c;
  float *o;
  const float *x, *g, *y;
} un_ctx;

static void un_row(void *vctx, int64_t n, const int64_t *off, const int64_t *ist) {
  un_ctx *u = vctx;
  int op = (int)u->c->i[0];
  float f0 = (float)u->c->f[0], f1 = (float)u->c->f[1];
  float *o = u->o + off[0];
  const float *x = u->x + off[1];
  if (ist[0] == 1 && ist[1] == 1) {
    switch (op) { /* hot ops get loops the compiler can vectorise */
    case LUNDI_UN_ADD_S: for (int64_t i = 0; i < n; i++) o[i] = x[i] + f0; return;
    case LUNDI_UN_MUL_S: for (int64_t i = 0; i < n; i++) o[i] = x[i] * f0; return;
    case LUNDI_UN_SILU:
#pragma omp simd
      for (int64_t i = 0; i < n; i++) o[i] = x[i] * lundi__sigmoid(x[i]);
      return;
    default: for (int64_t i = 0; i < n; i++) o[i] = unary_f(op, x[i], f0, f1); return;
    }
  }
  for (int64_t i = 0; i < n; i++) o[i * ist[0]] = unary_f(op, x[i * ist[1]], f0, f1);
}

int lundi_cpu_unary(const lundi_kcall *c) {
  lundi_tensor *o = c->out[0], *x = c->in[0];
  un_ctx u = {c, lundi__f32(o), lundi__f32(x), NULL, NULL};
  const int64_t *st[2] = {o->stride, x->stride};
  lundi_cpu_foreach_row(o->ndim, o->shape, 2, st, un_row, &u, 1);
  return 0;
}

static void unbw_row(void *vctx, int64_t n, const int64_t *off, const int64_t *ist) {
  un_ctx *u = vctx;
  int op = (int)u->c->i[0];
  float f0 = (float)u->c->f[0], f1 = (float)u->c->f[1];
  float *o = u->o + off[0];
  const float *x = u->x + off[1], *g = u->g + off[2];
  const float *y = u->y ? u->y + off[3] : NULL;
  if (op == LUNDI_UN_SILU && ist[0] == 1 && ist[1] == 1 && ist[2] == 1) {
#pragma omp simd
    for (int64_t i = 0; i < n; i++) {
      float s = lundi__sigmoid(x[i]);
      o[i] = g[i] * s * (1.0f + x[i] * (1.0f - s));
    }
    return;
  }
  for (int64_t i = 0; i < n; i++) {
    float xv = x[i * ist[1]];
    float yv = y ? y[i * ist[3]] : unary_f(op, xv, f0, f1);
    o[i * ist[0]] = g[i * ist[2]] * unary_df(op, xv, yv, f0, f1);
  }
}

int lundi_cpu_unary_bwd(const lundi_kcall *c) {
  lundi_tensor *o = c->out[0], *x = c->in[0], *g = c->in[1], *y = c->n_in > 2 ? c->in[2] : NULL;
  un_ctx u = {c, lundi__f32(o), lundi__f32(x), lundi__f32(g), y ? lundi__f32(y) : NULL};
  const int64_t *st[4] = {o->stride, x->stride, g->stride, y ? y->stride : x->stride};
  lundi_cpu_foreach_row(o->ndim, o->shape, 4, st, unbw_row, &u, 1);
  return 0;
}

/* ---- where ---- */

typedef struct {
  float *o;
  const float *c, *a, *b;
} where_ctx;

static void where_row(void *vctx, int64_t n, const int64_t *off, const int64_t *ist) {
  where_ctx *w = vctx;
  float *o = w->o + off[0];
  const float *c = w->c + off[1], *a = w->a + off[2], *b = w->b + off[3];
  for (int64_t i = 0; i < n; i++) o[i * ist[0]] = c[i * ist[1]] != 0 ? a[i * ist[2]] : b[i * ist[3]];
}

int lundi_cpu_where(const lundi_kcall *c) {
  lundi_tensor *o = c->out[0];
  where_ctx w = {lundi__f32(o), lundi__f32(c->in[0]), lundi__f32(c->in[1]), lundi__f32(c->in[2])};
  const int64_t *st[4] = {o->stride, c->in[0]->stride, c->in[1]->stride, c->in[2]->stride};
  lundi_cpu_foreach_row(o->ndim, o->shape, 4, st, where_row, &w, 1);
  return 0;
}
