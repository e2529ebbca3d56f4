/* Elementwise ops with broadcasting, and their gradients. */
#include "ops/ops_internal.h"

#include <math.h>
#include <string.h>

static lundi_tensor *unary_raw(int op, lundi_tensor *x, float f0, float f1) {
  if (lundi__check_f32("unary op", "x", x)) return NULL;
  lundi_tensor *out = lundi_empty(x->ndim, x->shape, LUNDI_F32, x->storage->device);
  if (!out) return NULL;
  lundi_kcall c = {.id = LUNDI_K_UNARY, .n_in = 1, .n_out = 1, .in = {x}, .out = {out}, .i = {op}, .f = {f0, f1}};
  if (lundi__run(&c)) {
    lundi_release(out);
    return NULL;
  }
  return out;
}

/* Reduces a gradient of the broadcast shape to t's shape. */
static int reduce_to(lundi_tensor *g, const lundi_tensor *t, lundi_tensor **out) {
  *out = lundi_sum_to(g, t->ndim, t->shape);
  return *out ? 0 : -1;
}

/* ---- binary ---- */

static int add_bw(lundi_node *n, lundi_tensor *g, lundi_tensor **gin) {
  if (n->in[0]->requires_grad && reduce_to(g, n->in[0], &gin[0])) return -1;
  if (n->in[1]->requires_grad && reduce_to(g, n->in[1], &gin[1])) return -1;
  return 0;
}

static int sub_bw(lundi_node *n, lundi_tensor *g, lundi_tensor **gin) {
  if (n->in[0]->requires_grad && reduce_to(g, n->in[0], &gin[0])) return -1;
  if (n->in[1]->requires_grad) {
    lundi_tensor *ng = lundi_neg(g);
    if (!ng) return -1;
    int rc = reduce_to(ng, n->in[1], &gin[1]);
    lundi_release(ng);
    return rc;
  }
  return 0;
}

static int mul_bw(lundi_node *n, lundi_tensor *g, lundi_tensor **gin) {
  for (int k = 0; k < 2; k++) {
    if (!n->in[k]->requires_grad) continue;
    lundi_tensor *p = lundi_mul(g, n->in[1 - k]);
    if (!p) return -1;
    int rc = reduce_to(p, n->in[k], &gin[k]);
    lundi_release(p);
    if (rc) return -1;
  }
  return 0;
}

static int div_bw(lundi_node *n, lundi_tensor *g, lundi_tensor **gin) {
  lundi_tensor *a = n->in[0], *b = n->in[1];
  if (a->requires_grad) {
    lundi_tensor *p = lundi_div(g, b);
    if (!p) return -1;
    int rc = reduce_to(p, a, &gin[0]);
    lundi_release(p);
    if (rc) return -1;
  }
  if (b->requires_grad) { /* -g * a / b^2 */
    lundi_tensor *q = lundi_div(a, b), *r = q ? lundi_div(q, b) : NULL, *p = r ? lundi_mul(g, r) : NULL;
    lundi_tensor *np = p ? lundi_neg(p) : NULL;
    int rc = np ? reduce_to(np, b, &gin[1]) : -1;
    lundi_release(q);
    lundi_release(r);
    lundi_release(p);
    lundi_release(np);
    if (rc) return -1;
  }
  return 0;
}

static lundi_tensor *binary(const char *name, int op, lundi_backward_fn bw, lundi_tensor *a, lundi_tensor *b) {
  lundi_tensor *out = lundi__binary_kernel(name, op, a, b);
  if (out) {
    lundi_tensor *in[2] = {a, b};
    lundi__record(out, name, bw, 2, in);
  }
  return out;
}

lundi_tensor *lundi_add(lundi_tensor *a, lundi_tensor *b) { return binary("add", LUNDI_BIN_ADD, add_bw, a, b); }
lundi_tensor *lundi_sub(lundi_tensor *a, lundi_tensor *b) { return binary("sub", LUNDI_BIN_SUB, sub_bw, a, b); }
lundi_tensor *lundi_mul(lundi_tensor *a, lundi_tensor *b) { return binary("mul", LUNDI_BIN_MUL, mul_bw, a, b); }
lundi_tensor *lundi_div(lundi_tensor *a, lundi_tensor *b) { return binary("div", LUNDI_BIN_DIV, div_bw, a, b); }

/* ---- unary ---- */

/* Ops whose derivative is cheapest from the output keep it (as an alias, not the output). */
static int uses_output(int op) {
  return op == LUNDI_UN_EXP || op == LUNDI_UN_SQRT || op == LUNDI_UN_RSQRT || op == LUNDI_UN_TANH ||
         op == LUNDI_UN_SIGMOID;
}

static int unary_bw(lundi_node *n, lundi_tensor *g, lundi_tensor **gin) {
  lundi_tensor *x = n->in[0];
  lundi_tensor *out = lundi_empty(x->ndim, x->shape, LUNDI_F32, x->storage->device);
  if (!out) return -1;
  lundi_kcall c = {.id = LUNDI_K_UNARY_BWD, .n_in = n->saved[0] ? 3 : 2, .n_out = 1,
                   .in = {x, g, n->saved[0]}, .out = {out}, .i = {n->i[0]}, .f = {n->f[0], n->f[1]}};
  if (lundi__run(&c)) {
    lundi_release(out);
    return -1;
  }
  gin[0] = out;
  return 0;
}

lundi_tensor *lundi__unary(const char *name, int op, lundi_tensor *x, float f0, float f1) {
  lundi_tensor *out = unary_raw(op, x, f0, f1);
  if (!out) return NULL;
  lundi_node *nd = lundi__record(out, name, unary_bw, 1, &x);
  if (nd) {
    nd->i[0] = op;
    nd->f[0] = f0;
    nd->f[1] = f1;
    if (uses_output(op)) nd->saved[0] = lundi__alias(out);
  }
  return out;
}

lundi_tensor *lundi_add_scalar(lundi_tensor *a, float s) { return lundi__unary("add_scalar", LUNDI_UN_ADD_S, a, s, 0); }
lundi_tensor *lundi_mul_scalar(lundi_tensor *a, float s) { return lundi__unary("mul_scalar", LUNDI_UN_MUL_S, a, s, 0); }
lundi_tensor *lundi_rsub_scalar(lundi_tensor *a, float s) { return lundi__unary("rsub_scalar", LUNDI_UN_RSUB_S, a, s, 0); }
lundi_tensor *lundi_pow_scalar(lundi_tensor *a, float p) { return lundi__unary("pow_scalar", LUNDI_UN_POW_S, a, p, 0); }
lundi_tensor *lundi_neg(lundi_tensor *a) { return lundi__unary("neg", LUNDI_UN_NEG, a, 0, 0); }
lundi_tensor *lundi_exp(lundi_tensor *a) { return lundi__unary("exp", LUNDI_UN_EXP, a, 0, 0); }
lundi_tensor *lundi_log(lundi_tensor *a) { return lundi__unary("log", LUNDI_UN_LOG, a, 0, 0); }
lundi_tensor *lundi_sqrt(lundi_tensor *a) { return lundi__unary("sqrt", LUNDI_UN_SQRT, a, 0, 0); }
lundi_tensor *lundi_rsqrt(lundi_tensor *a) { return lundi__unary("rsqrt", LUNDI_UN_RSQRT, a, 0, 0); }
lundi_tensor *lundi_abs(lundi_tensor *a) { return lundi__unary("abs", LUNDI_UN_ABS, a, 0, 0); }
lundi_tensor *lundi_tanh(lundi_tensor *a) { return lundi__unary("tanh", LUNDI_UN_TANH, a, 0, 0); }
lundi_tensor *lundi_sigmoid(lundi_tensor *a) { return lundi__unary("sigmoid", LUNDI_UN_SIGMOID, a, 0, 0); }
lundi_tensor *lundi_silu(lundi_tensor *x) { return lundi__unary("silu", LUNDI_UN_SILU, x, 0, 0); }
lundi_tensor *lundi_mish(lundi_tensor *x) { return lundi__unary("mish", LUNDI_UN_MISH, x, 0, 0); }
lundi_tensor *lundi_gelu(lundi_tensor *x, int tanh_approx) {
  return lundi__unary("gelu", tanh_approx ? LUNDI_UN_GELU_TANH : LUNDI_UN_GELU, x, 0, 0);
}
lundi_tensor *lundi_clamp(lundi_tensor *a, float lo, float hi) {
  if (lo > hi) return lundi__errp(LUNDI_EINVAL, "clamp: lower bound %g is above upper bound %g", lo, hi);
  return lundi__unary("clamp", LUNDI_UN_CLAMP, a, lo, hi);
}

/* ---- where ---- */

static int where_bw(lundi_node *n, lundi_tensor *g, lundi_tensor **gin) {
  lundi_tensor *cond = n->in[0];
  lundi_tensor *zero = lundi_empty(0, NULL, LUNDI_F32, g->storage->device);
  if (!zero || lundi_fill_(zero, 0.0f)) {
    lundi_release(zero);
    return -1;
  }
  int rc = 0;
  for (int k = 1; k <= 2 && !rc; k++) {
    if (!n->in[k]->requires_grad) continue;
    lundi_tensor *m = k == 1 ? lundi_where(cond, g, zero) : lundi_where(cond, zero, g);
    rc = m ? reduce_to(m, n->in[k], &gin[k]) : -1;
    lundi_release(m);
  }
  lundi_release(zero);
  return rc;
}

lundi_tensor *lundi_where(lundi_tensor *cond, lundi_tensor *a, lundi_tensor *b) {
  if (lundi__check_f32("where", "cond", cond) || lundi__check_f32("where", "a", a) ||
      lundi__check_f32("where", "b", b))
    return NULL;
  lundi_tensor *all[3] = {cond, a, b};
  if (lundi__same_device("where", 3, all)) return NULL;
  int n1, nd;
  int64_t s1[LUNDI_MAX_DIMS], shape[LUNDI_MAX_DIMS];
  if (lundi__broadcast_shape("where", cond->ndim, cond->shape, a->ndim, a->shape, &n1, s1) ||
      lundi__broadcast_shape("where", n1, s1, b->ndim, b->shape, &nd, shape))
    return NULL;
  lundi_tensor *out = lundi_empty(nd, shape, LUNDI_F32, a->storage->device);
  if (!out) return NULL;
  lundi_tensor *v[3] = {0};
  int rc = 0;
  for (int k = 0; k < 3 && !rc; k++) {
    int64_t st[LUNDI_MAX_DIMS];
    lundi__broadcast_strides(all[k], nd, shape, st);
    v[k] = lundi__view(all[k], nd, shape, st, all[k]->offset);
    if (!v[k]) rc = -1;
  }
  if (!rc) {
    lundi_kcall c = {.id = LUNDI_K_WHERE, .n_in = 3, .n_out = 1, .in = {v[0], v[1], v[2]}, .out = {out}};
    rc = lundi__run(&c);
  }
  for (int k = 0; k < 3; k++) lundi_release(v[k]);
  if (rc) {
    lundi_release(out);
    return NULL;
  }
  lundi__record(out, "where", where_bw, 3, all);
  return out;
}
