/* The masked scheduler's reverse process on its own, without LLaDA's sampler: between
 * t_i = 1 - i/n and t_{i+1} each still-masked token is unmasked with probability
 * (p(t_i) - p(t_{i+1})) / p(t_i) (the chance that a token masked at t_i is not masked at
 * t_{i+1}), its value drawn from softmax(logits) without the mask id; the last step unmasks
 * every token left. Unmasked tokens never change. Decided on the host. */
#include "masked.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Host copies of a step's x (i32 [N, L]) and logits (f32 [N, L, V]), checked. */
typedef struct step_io {
  int64_t N, L, V;
  int32_t *x;
  float *logits;
} step_io;

static void io_free(step_io *s) {
  free(s->x);
  free(s->logits);
}

static int io_read(const lundi__masked *m, const char *fn, lundi_tensor *logits, lundi_tensor *x, step_io *s) {
  char a[160], b[160];
  memset(s, 0, sizeof *s);
  if (lundi_ndim(x) != 2 || lundi_tensor_dtype(x) != LUNDI_I32)
    return lundi_set_error(LUNDI_EINVAL, "%s: the sample must be i32 tokens [N, L], got %s", fn,
                           lundi_describe(x, a, sizeof a));
  if (lundi_ndim(logits) != 3 || lundi_tensor_dtype(logits) != LUNDI_F32 || lundi_dim(logits, 0) != lundi_dim(x, 0) ||
      lundi_dim(logits, 1) != lundi_dim(x, 1))
    return lundi_set_error(LUNDI_ESHAPE, "%s: the model output %s must be f32 logits [N, L, V] for the sample %s", fn,
                           lundi_describe(logits, a, sizeof a), lundi_describe(x, b, sizeof b));
  s->N = lundi_dim(x, 0);
  s->L = lundi_dim(x, 1);
  s->V = lundi_dim(logits, 2);
  if (s->V < 1 || (s->V == 1 && m->mask_id == 0))
    return lundi_set_error(LUNDI_EINVAL, "%s: logits of %lld classes leave no token besides the mask id %d", fn,
                           (long long)s->V, m->mask_id);
  int64_t n = s->N * s->L * s->V;
  s->logits = malloc(sizeof(float) * (size_t)(n ? n : 1));
  if (!s->logits) return lundi_set_error(LUNDI_ENOMEM, "%s: out of memory for logits", fn);
  int rc = lundi_read_f32(logits, s->logits, n);
  if (!rc && !(s->x = lundi__tok_read(x, fn))) rc = lundi_last_error_code();
  if (rc) io_free(s);
  return rc;
}

static lundi_tensor *io_result(step_io *s, lundi_tensor *x) {
  lundi_tensor *h = lundi_from_i32(2, (int64_t[]){s->N, s->L}, s->x), *out = h;
  if (h && lundi_tensor_device(h) != lundi_tensor_device(x)) {
    out = lundi_to_device(h, lundi_tensor_device(x));
    lundi_release(h);
  }
  return out;
}

/* The class drawn by inverse CDF with u in [0, 1) from softmax(row) without class skip. */
static int32_t draw(const float *row, int64_t V, int64_t skip, double u) {
  double mx = -INFINITY, sum = 0;
  for (int64_t v = 0; v < V; v++)
    if (v != skip && row[v] > mx) mx = row[v];
  for (int64_t v = 0; v < V; v++)
    if (v != skip) sum += exp((double)row[v] - mx);
  double target = u * sum, acc = 0;
  int64_t last = -1;
  for (int64_t v = 0; v < V; v++) {
    if (v == skip) continue;
    last = v;
    acc += exp((double)row[v] - mx);
    if (acc > target) return (int32_t)v;
  }
  return (int32_t)last; /* rounding left u * sum at the very top */
}

static int check_i(const lundi__masked *m, int i) {
  if (!m->n) return lundi_set_error(LUNDI_ESTATE, "step %d: call set_timesteps first", i);
  if (i < 0 || i >= m->n) return lundi_set_error(LUNDI_EINVAL, "step index %d is outside [0, %d)", i, m->n);
  return 0;
}

lundi_tensor *lundi__masked_step(void *self, lundi_tensor *logits, int i, lundi_tensor *x, lundi_rng *rng) {
  const lundi__masked *m = self;
  if (check_i(m, i)) return NULL;
  if (!rng) {
    lundi_set_error(LUNDI_EINVAL, "step %d: unmasking draws tokens and needs an rng, got NULL", i);
    return NULL;
  }
  step_io s;
  if (io_read(m, "step", logits, x, &s)) return NULL;
  double p0 = lundi__masked_p(m, 1 - (double)i / m->n), p1 = lundi__masked_p(m, 1 - (double)(i + 1) / m->n);
  double reveal = i == m->n - 1 || p0 <= 0 ? 1 : (p0 - p1) / p0;
  int64_t shape[2] = {s.N, s.L};
  lundi_tensor *u1 = lundi_rand(rng, 2, shape), *u2 = u1 ? lundi_rand(rng, 2, shape) : NULL, *out = NULL;
  float *a = malloc(sizeof(float) * lundi__nz(s.N * s.L) * 2);
  if (!a) lundi_set_error(LUNDI_ENOMEM, "step: out of memory");
  if (a && u2 && !lundi_read_f32(u1, a, s.N * s.L) && !lundi_read_f32(u2, a + s.N * s.L, s.N * s.L)) {
    for (int64_t k = 0; k < s.N * s.L; k++)
      if (s.x[k] == m->mask_id && a[k] < reveal) s.x[k] = draw(s.logits + k * s.V, s.V, m->mask_id, a[s.N * s.L + k]);
    out = io_result(&s, x);
  }
  free(a);
  lundi_release(u1);
  lundi_release(u2);
  io_free(&s);
  return out;
}

/* The clean estimate: each masked token's most likely value (never the mask id). */
lundi_tensor *lundi__masked_predict_x0(void *self, lundi_tensor *logits, int i, lundi_tensor *x) {
  const lundi__masked *m = self;
  (void)i;
  step_io s;
  if (io_read(m, "predict_x0", logits, x, &s)) return NULL;
  for (int64_t k = 0; k < s.N * s.L; k++) {
    if (s.x[k] != m->mask_id) continue;
    const float *row = s.logits + k * s.V;
    int64_t best = -1;
    for (int64_t v = 0; v < s.V; v++)
      if (v != m->mask_id && (best < 0 || row[v] > row[best])) best = v;
    s.x[k] = (int32_t)best;
  }
  lundi_tensor *out = io_result(&s, x);
  io_free(&s);
  return out;
}
