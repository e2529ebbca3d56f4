/* Demonstration files through the data API (lundi/data.h): reading and checking the file,
 * its per-feature min/max, and the dataset of SequenceSampler windows. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "data/data_internal.h"
#include "lundi/nn.h"

typedef struct demos {
  int64_t t;
  int e, od, ad;
  float *obs, *act;  /* [t, od], [t, ad] */
  int32_t *ends;     /* [e] */
} demos;

static void demos_free(demos *d) {
  free(d->obs), free(d->act), free(d->ends);
  memset(d, 0, sizeof *d);
}

static lundi_tensor *field(const lundi_param_list *l, const char *path, const char *name, int ndim,
                           lundi_dtype dt) {
  lundi_tensor *t = lundi_param_list_find(l, name);
  if (!t)
    return lundi__errp(LUNDI_EFORMAT, "demonstrations '%s': no tensor '%s' (a demonstration file has obs, action and episode_ends)", path, name);
  if (lundi_ndim(t) != ndim || lundi_tensor_dtype(t) != dt) {
    char b[64];
    return lundi__errp(LUNDI_EFORMAT, "demonstrations '%s': '%s' must be %s with %d dims, got %s", path, name,
                       lundi_dtype_name(dt), ndim, lundi_describe(t, b, sizeof b));
  }
  return t;
}

/* Loads and checks path into d (all or nothing). */
static int demos_read(const char *path, demos *d) {
  memset(d, 0, sizeof *d);
  if (!path || !*path) return lundi__err(LUNDI_EINVAL, "demonstrations: no path");
  lundi_param_list l = {0};
  int rc = lundi_safetensors_load(path, &l);
  if (rc) {
    char why[1024];
    snprintf(why, sizeof why, "%s", lundi_last_error()); /* the message buffer is rewritten below */
    return strstr(why, path) ? lundi__err(rc, "demonstrations: %s", why)
                             : lundi__err(rc, "demonstrations '%s': %s", path, why);
  }
  lundi_tensor *o = field(&l, path, "obs", 2, LUNDI_F32), *a = o ? field(&l, path, "action", 2, LUNDI_F32) : NULL;
  lundi_tensor *e = a ? field(&l, path, "episode_ends", 1, LUNDI_I32) : NULL;
  if (!e) rc = lundi_last_error_code();
  if (!rc) {
    d->t = lundi_dim(o, 0), d->od = (int)lundi_dim(o, 1), d->ad = (int)lundi_dim(a, 1), d->e = (int)lundi_dim(e, 0);
    if (lundi_dim(a, 0) != d->t)
      rc = lundi__err(LUNDI_EFORMAT, "demonstrations '%s': obs has %lld rows but action has %lld", path,
                      (long long)d->t, (long long)lundi_dim(a, 0));
    else if (d->t < 1 || d->e < 1 || d->od < 1 || d->ad < 1 || d->t > INT32_MAX)
      rc = lundi__err(LUNDI_EFORMAT, "demonstrations '%s': empty (%lld steps, %d episodes, obs_dim %d, action_dim %d)",
                      path, (long long)d->t, d->e, d->od, d->ad);
  }
  if (!rc) {
    d->obs = malloc((size_t)d->t * (size_t)d->od * sizeof *d->obs);
    d->act = malloc((size_t)d->t * (size_t)d->ad * sizeof *d->act);
    d->ends = malloc((size_t)d->e * sizeof *d->ends);
    if (!d->obs || !d->act || !d->ends) rc = lundi__err(LUNDI_ENOMEM, "demonstrations '%s': out of memory", path);
  }
  if (!rc) rc = lundi_read_f32(o, d->obs, d->t * d->od);
  if (!rc) rc = lundi_read_f32(a, d->act, d->t * d->ad);
  if (!rc) memcpy(d->ends, lundi_data(e), (size_t)d->e * sizeof *d->ends); /* i32, host */
  for (int i = 0; i < d->e && !rc; i++) {
    int32_t prev = i ? d->ends[i - 1] : 0;
    if (d->ends[i] <= prev || (i == d->e - 1 && d->ends[i] != d->t))
      rc = lundi__err(LUNDI_EFORMAT,
                      "demonstrations '%s': episode_ends must increase from above 0 to the %lld steps; entry %d is %d (after %d)",
                      path, (long long)d->t, i, (int)d->ends[i], (int)prev);
  }
  lundi_param_list_free(&l);
  if (rc) demos_free(d);
  return rc;
}

int lundi_demos_info_read(const char *path, lundi_demos_info *info) {
  if (!info) return lundi__err(LUNDI_EINVAL, "demos_info_read: no info (NULL)");
  demos d;
  int rc = demos_read(path, &d);
  if (rc) return rc;
  info->steps = d.t, info->episodes = d.e, info->obs_dim = d.od, info->action_dim = d.ad;
  demos_free(&d);
  return 0;
}

int lundi_demos_minmax(const char *path, const char *name, float *min, float *max, int dim) {
  if (!name || (strcmp(name, "obs") != 0 && strcmp(name, "action") != 0))
    return lundi__err(LUNDI_EINVAL, "demos_minmax: field must be \"obs\" or \"action\", got %s", name ? name : "NULL");
  if (!min || !max) return lundi__err(LUNDI_EINVAL, "demos_minmax: min and max must not be NULL");
  demos d;
  int rc = demos_read(path, &d);
  if (rc) return rc;
  int is_obs = strcmp(name, "obs") == 0, w = is_obs ? d.od : d.ad;
  const float *v = is_obs ? d.obs : d.act;
  if (dim != w) {
    rc = lundi__err(LUNDI_EINVAL, "demos_minmax: '%s' has %s of width %d, not %d", path, name, w, dim);
  } else {
    for (int j = 0; j < w; j++) min[j] = max[j] = v[j];
    for (int64_t i = 1; i < d.t; i++)
      for (int j = 0; j < w; j++) {
        float x = v[i * w + j];
        if (x < min[j]) min[j] = x;
        if (x > max[j]) max[j] = x;
      }
  }
  demos_free(&d);
  return rc;
}

/* ---- the dataset of windows ---- */

typedef struct window {
  int32_t begin, len; /* the episode's first row and length */
  int32_t start;      /* the window's first step, relative to begin (may be negative) */
} window;

typedef struct demo_ds {
  demos d;
  int to, tp;
  int64_t n;
  window *w;
} demo_ds;

static int64_t dd_count(void *self) { return ((demo_ds *)self)->n; }

static void dd_destroy(void *self) {
  demo_ds *s = self;
  demos_free(&s->d);
  free(s->w);
  free(s);
}

static int32_t clampi(int64_t v, int32_t lo, int32_t hi) { return v < lo ? lo : v > hi ? hi : (int32_t)v; }

static int dd_get(void *self, const int32_t *idx, int64_t n, lundi_device *dev, lundi_tensor **out) {
  demo_ds *s = self;
  const int od = s->d.od, ad = s->d.ad;
  float *o = malloc((size_t)(n ? n : 1) * (size_t)s->to * (size_t)od * sizeof *o);
  float *a = malloc((size_t)(n ? n : 1) * (size_t)s->tp * (size_t)ad * sizeof *a);
  int rc = o && a ? 0 : lundi__err(LUNDI_ENOMEM, "demos dataset: out of memory (%lld samples)", (long long)n);
  for (int64_t i = 0; i < n && !rc; i++) {
    const window *w = &s->w[idx[i]];
    for (int k = 0; k < s->tp; k++) {
      int64_t row = w->begin + clampi((int64_t)w->start + k, 0, w->len - 1);
      memcpy(a + ((size_t)i * s->tp + k) * ad, s->d.act + row * ad, (size_t)ad * sizeof *a);
      if (k < s->to) memcpy(o + ((size_t)i * s->to + k) * od, s->d.obs + row * od, (size_t)od * sizeof *o);
    }
  }
  out[0] = out[1] = NULL;
  if (!rc) {
    int64_t so[3] = {n, s->to, od}, sa[3] = {n, s->tp, ad};
    out[0] = lundi_from_f32(3, so, o);
    out[1] = out[0] ? lundi_from_f32(3, sa, a) : NULL;
    for (int f = 0; f < 2 && out[1] && dev && dev != lundi_cpu(); f++) {
      lundi_tensor *m = lundi_to_device(out[f], dev);
      lundi_release(out[f]);
      out[f] = m;
      if (!m) break;
    }
    if (!out[0] || !out[1]) {
      rc = lundi_last_error_code();
      lundi_release(out[0]), lundi_release(out[1]);
      out[0] = out[1] = NULL;
    }
  }
  free(o), free(a);
  return rc;
}

lundi_dataset *lundi_dataset_demos(const char *path, int to, int ta, int tp) {
  if (tp < 1 || to < 1 || to > tp || ta < 1 || ta > tp)
    return lundi__errp(LUNDI_EINVAL,
                       "dataset_demos: need 1 <= obs_horizon <= pred_horizon and 1 <= action_horizon <= pred_horizon, got %d, %d, %d",
                       to, ta, tp);
  demo_ds *s = calloc(1, sizeof *s);
  if (!s) return lundi__errp(LUNDI_ENOMEM, "dataset_demos: out of memory");
  if (demos_read(path, &s->d)) {
    free(s);
    return NULL;
  }
  s->to = to, s->tp = tp;
  const int pad_before = to - 1, pad_after = ta - 1; /* both <= tp - 1 by the check above */
  for (int pass = 0; pass < 2; pass++) {
    int64_t n = 0;
    for (int e = 0; e < s->d.e; e++) {
      int32_t begin = e ? s->d.ends[e - 1] : 0, len = s->d.ends[e] - begin;
      for (int64_t i = -pad_before; i <= (int64_t)len - tp + pad_after; i++, n++)
        if (pass) s->w[n] = (window){begin, len, (int32_t)i};
    }
    if (pass) break;
    if (n > INT32_MAX) {
      dd_destroy(s);
      return lundi__errp(LUNDI_EINVAL, "dataset_demos: '%s' gives more than 2^31 - 1 windows", path);
    }
    s->n = n;
    s->w = malloc((size_t)(n ? n : 1) * sizeof *s->w);
    if (!s->w) {
      dd_destroy(s);
      return lundi__errp(LUNDI_ENOMEM, "dataset_demos: out of memory");
    }
  }
  const lundi_dataset_source src = {dd_count, dd_get, dd_destroy};
  return lundi_dataset_new(&src, s, 2);
}
