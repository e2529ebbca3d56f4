/* CPU reductions over a set of axes (output keeps reduced dims as size 1). */
#include "cpu/kernels.h"

#include <float.h>
#include <math.h>

typedef struct plan {
  int nk, nr;                 /* kept / reduced dims (size > 1 only) */
  int64_t ks[LUNDI_MAX_DIMS], kst[LUNDI_MAX_DIMS], kost[LUNDI_MAX_DIMS];
  int64_t rs[LUNDI_MAX_DIMS], rst[LUNDI_MAX_DIMS];
  int64_t nout, nred;
} plan;

static void make_plan(const lundi_tensor *x, const lundi_tensor *o, plan *p) {
  p->nk = p->nr = 0;
  p->nout = p->nred = 1;
  for (int d = 0; d < x->ndim; d++) {
    if (x->shape[d] == 1) continue;
    if (o->shape[d] == 1) {
      p->rs[p->nr] = x->shape[d];
      p->rst[p->nr++] = x->stride[d];
      p->nred *= x->shape[d];
    } else {
      p->ks[p->nk] = x->shape[d];
      p->kst[p->nk] = x->stride[d];
      p->kost[p->nk++] = o->stride[d];
      p->nout *= x->shape[d];
    }
  }
}

static void kept_offsets(const plan *p, int64_t idx, int64_t *xo, int64_t *oo) {
  *xo = *oo = 0;
  for (int d = p->nk - 1; d >= 0; d--) {
    int64_t i = idx % p->ks[d];
    idx /= p->ks[d];
    *xo += i * p->kst[d];
    *oo += i * p->kost[d];
  }
}

static int64_t red_offset(const plan *p, int64_t idx) {
  int64_t off = 0;
  for (int d = p->nr - 1; d >= 0; d--) {
    off += (idx % p->rs[d]) * p->rst[d];
    idx /= p->rs[d];
  }
  return off;
}

/* Reduces the nr dims of one output element; the last reduced dim is looped directly. */
static double reduce_one(const plan *p, const float *x, int op) {
  int64_t inner = p->nr ? p->rs[p->nr - 1] : 1, ist = p->nr ? p->rst[p->nr - 1] : 0;
  int64_t outer = inner ? p->nred / inner : 0; /* an empty reduced axis: the identity */
  double acc = op == LUNDI_RED_MAX ? -INFINITY : 0.0;
  for (int64_t r = 0; r < outer; r++) {
    const float *row = x + red_offset(p, r * inner);
    if (op == LUNDI_RED_MAX) {
      for (int64_t i = 0; i < inner; i++)
        if (row[i * ist] > acc || isnan(row[i * ist])) acc = row[i * ist];
    } else {
      float s = 0;
      if (ist == 1)
        for (int64_t i = 0; i < inner; i++) s += row[i];
      else
        for (int64_t i = 0; i < inner; i++) s += row[i * ist];
      acc += s;
    }
  }
  return acc;
}

int lundi_cpu_reduce(const lundi_kcall *c) {
  lundi_tensor *x = c->in[0], *o = c->out[0];
  int op = (int)c->i[0];
  plan p;
  make_plan(x, o, &p);
  const float *xp = lundi__f32(x);
  float *op_ = lundi__f32(o);
  double scale = op == LUNDI_RED_MEAN ? 1.0 / (double)p.nred : 1.0;
  int last_kept = x->ndim > 0 && o->shape[x->ndim - 1] != 1 && x->shape[x->ndim - 1] > 1 && p.nr > 0;
  if (last_kept && op != LUNDI_RED_MAX) {
    /* sum rows: out[k] += x[r, k] with k contiguous-ish; parallel over the last kept dim */
    int64_t L = p.ks[p.nk - 1], lst = p.kst[p.nk - 1], lost = p.kost[p.nk - 1];
    int64_t outer_out = p.nout / L;
    int64_t nchunk = (L + 255) / 256;
#pragma omp parallel for collapse(2) schedule(static) if (p.nout * p.nred > 32768)
    for (int64_t ko = 0; ko < outer_out; ko++)
      for (int64_t ch = 0; ch < nchunk; ch++) {
        int64_t xo, oo;
        kept_offsets(&p, ko * L, &xo, &oo);
        int64_t l0 = ch * 256, l1 = l0 + 256 < L ? l0 + 256 : L;
        float acc[256] = {0};
        for (int64_t r = 0; r < p.nred; r++) {
          const float *row = xp + xo + red_offset(&p, r);
          for (int64_t l = l0; l < l1; l++) acc[l - l0] += row[l * lst];
        }
        for (int64_t l = l0; l < l1; l++) op_[oo + l * lost] = (float)(acc[l - l0] * scale);
      }
    return 0;
  }
#pragma omp parallel for schedule(static) if (p.nout * p.nred > 32768)
  for (int64_t k = 0; k < p.nout; k++) {
    int64_t xo, oo;
    kept_offsets(&p, k, &xo, &oo);
    op_[oo] = (float)(reduce_one(&p, xp + xo, op) * scale);
  }
  return 0;
}

int lundi_cpu_max_bwd(const lundi_kcall *c) {
  lundi_tensor *x = c->in[0], *m = c->in[1], *g = c->in[2], *o = c->out[0];
  plan p;
  make_plan(x, m, &p);
  const float *xp = lundi__f32(x), *mp = lundi__f32(m), *gp = lundi__f32(g);
  float *op_ = lundi__f32(o);
  /* o is contiguous with x's shape; compute its offsets with x's plan on o's strides */
  plan po;
  make_plan(o, m, &po);
#pragma omp parallel for schedule(static) if (p.nout * p.nred > 32768)
  for (int64_t k = 0; k < p.nout; k++) {
    int64_t xo, mo, oo, dummy;
    kept_offsets(&p, k, &xo, &mo);
    kept_offsets(&po, k, &oo, &dummy);
    float mv = mp[mo];
    for (int64_t r = 0; r < p.nred; r++) {
      float v = xp[xo + red_offset(&p, r)];
      if (v == mv || (isnan(v) && isnan(mv))) {
        op_[oo + red_offset(&po, r)] += gp[mo];
        break;
      }
    }
  }
  return 0;
}
