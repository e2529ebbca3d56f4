/* LLaDA's per-step decisions (see llada_step.h). */
#include "llada_step.h"

#include <math.h>
#include <stddef.h>

void lundi__llada_predict(const lundi__llada_step *s, const float *logits, const float *gumbel_u,
                          const float *conf_u, const int32_t *x, int32_t *x0, double *conf) {
  for (int64_t k = 0; k < s->B * s->L; k++) {
    if (x[k] != s->mask) {
      x0[k] = x[k];
      conf[k] = -INFINITY;
      continue;
    }
    const float *row = logits + k * s->V;
    const float *u = s->temperature > 0 ? gumbel_u + k * s->V : NULL;
    int64_t best = -1;
    double best_score = -INFINITY, mx = -INFINITY;
    for (int64_t v = 0; v < s->V; v++) {
      if (v == s->mask) continue;
      /* -log(-log u) is Gumbel noise; u = 0 gives -inf, a class that cannot win */
      double score = u ? (double)row[v] - s->temperature * log(-log((double)u[v])) : (double)row[v];
      if (best < 0 || score > best_score) best = v, best_score = score;
      if (row[v] > mx) mx = row[v];
    }
    x0[k] = (int32_t)best;
    if (s->random) {
      conf[k] = conf_u[k];
    } else {
      double sum = 0;
      for (int64_t v = 0; v < s->V; v++)
        if (v != s->mask) sum += exp((double)row[v] - mx);
      conf[k] = exp((double)row[best] - mx) / sum;
    }
  }
}

int64_t lundi__llada_commit(const lundi__llada_step *s, int32_t *x, const int32_t *x0, const double *conf,
                            int64_t lo, int64_t hi, const int64_t *k, int64_t *scratch) {
  int64_t total = 0;
  for (int64_t b = 0; b < s->B; b++) {
    int32_t *xr = x + b * s->L;
    const double *cr = conf + b * s->L;
    int64_t n = 0;
    for (int64_t j = lo; j < hi; j++)
      if (xr[j] == s->mask) scratch[n++] = j;
    int64_t take = k[b] < n ? k[b] : n;
    /* partial selection sort: blocks are short, and it keeps ties in column order */
    for (int64_t a = 0; a < take; a++) {
      int64_t best = a;
      for (int64_t c = a + 1; c < n; c++)
        if (cr[scratch[c]] > cr[scratch[best]]) best = c;
      int64_t j = scratch[best];
      for (int64_t c = best; c > a; c--) scratch[c] = scratch[c - 1];
      scratch[a] = j;
      xr[j] = x0[b * s->L + j];
    }
    total += take;
  }
  return total;
}

void lundi__llada_guide(const float *c, const float *u, int64_t n, double scale, float *out) {
  for (int64_t k = 0; k < n; k++) out[k] = (float)(u[k] + (scale + 1) * ((double)c[k] - u[k]));
}
