/* Optimisation: AdamW against a double-precision reference (with resume), LR schedules
 * against their closed forms, gradient clipping and EMA. */
#include "harness.h"

#include <unistd.h>

static lundi_rng rng = {99, 0};

/* Sets p's gradient to exactly g (host values) through the tape: d/dp sum(p * g) = g. */
static void set_grad(lundi_tensor *p, const float *g) {
  lundi_zero_grad(p);
  lundi_tensor *gt = lundi_from_f32(lundi_ndim(p), lundi_shape(p), g);
  lundi_tensor *y = lundi_mul(p, gt), *s = y ? lundi_sum(y, 0, NULL, 0) : NULL;
  CHECK(s && lundi_backward(s, NULL) == 0);
  lundi_release(gt); lundi_release(y); lundi_release(s);
}

static lundi_tensor *leaf(int nd, const int64_t *s) { return t_randn(&rng, nd, s, 1, 1); }

static void fill_random(float *g, int64_t n, lundi_rng *r) {
  lundi_tensor *t = lundi_randn(r, 1, &n);
  lundi_read_f32(t, g, n);
  lundi_release(t);
}

/* ---- AdamW ---- */

typedef struct ref_adam {
  int64_t n;
  double *p, *m, *v;
} ref_adam;

static void ref_init(ref_adam *r, lundi_tensor *p) {
  r->n = lundi_numel(p);
  r->p = calloc((size_t)r->n, sizeof(double));
  r->m = calloc((size_t)r->n, sizeof(double));
  r->v = calloc((size_t)r->n, sizeof(double));
  float *v = t_read(p);
  for (int64_t i = 0; i < r->n; i++) r->p[i] = v[i];
  free(v);
}

static void ref_free(ref_adam *r) {
  free(r->p); free(r->m); free(r->v);
}

/* Loshchilov & Hutter AdamW as in torch.optim.AdamW, written independently in double. */
static void ref_step(ref_adam *r, const float *g, int64_t t, double lr, double b1, double b2, double eps, double wd) {
  for (int64_t i = 0; i < r->n; i++) {
    r->p[i] -= lr * wd * r->p[i];
    r->m[i] = b1 * r->m[i] + (1 - b1) * g[i];
    r->v[i] = b2 * r->v[i] + (1 - b2) * (double)g[i] * g[i];
    double mhat = r->m[i] / (1 - pow(b1, (double)t)), vhat = r->v[i] / (1 - pow(b2, (double)t));
    r->p[i] -= lr * mhat / (sqrt(vhat) + eps);
  }
}

static double ref_diff(const ref_adam *r, lundi_tensor *p) {
  float *v = t_read(p);
  double m = 0;
  for (int64_t i = 0; i < r->n; i++) m = fmax(m, fabs(v[i] - r->p[i]) / fmax(1.0, fabs(r->p[i])));
  free(v);
  return m;
}

static void test_adamw_reference(void) {
  lundi_adamw_config d = lundi_adamw_defaults();
  CHECK(d.lr == 1e-3f && d.beta1 == 0.9f && d.beta2 == 0.999f && d.eps == 1e-8f && d.weight_decay == 0.01f);
  int64_t s1[2] = {3, 4}, s2[1] = {5}, s3[1] = {200000}, s4[1] = {2};
  lundi_tensor *p[4] = {leaf(2, s1), leaf(1, s2), leaf(1, s3), leaf(1, s4)}; /* p[3] never gets a grad */
  lundi_param_list l = {0};
  const char *names[4] = {"a", "b", "big", "frozen"};
  for (int i = 0; i < 4; i++) lundi_param_list_push(&l, names[i], p[i]);
  lundi_adamw_config cfg = {.lr = 1e-2f, .beta1 = 0.8f, .beta2 = 0.99f, .eps = 1e-6f, .weight_decay = 0.1f};
  lundi_adamw *o = lundi_adamw_new(&l, cfg);
  CHECK(o != NULL);
  ref_adam r[4];
  for (int i = 0; i < 4; i++) ref_init(&r[i], p[i]);
  float *g = malloc(sizeof(float) * 200000);
  lundi_rng gr = lundi_rng_make(5);
  double lr = cfg.lr;
  for (int64_t t = 1; t <= 6; t++) {
    if (t == 4) { /* the schedule changes lr between steps */
      CHECK(lundi_adamw_lr(o) == cfg.lr);
      lundi_adamw_set_lr(o, 3e-3f);
      lundi_adamw_set_lr(o, -1); /* refused: lr stays */
      CHECK(lundi_adamw_lr(o) == 3e-3f);
      lr = 3e-3f;
    }
    for (int i = 0; i < 3; i++) {
      fill_random(g, r[i].n, &gr);
      if (t == 2) g[0] = 0; /* a zero gradient still decays and moves by momentum */
      set_grad(p[i], g);
      ref_step(&r[i], g, t, lr, cfg.beta1, cfg.beta2, cfg.eps, cfg.weight_decay);
    }
    CHECK(lundi_adamw_step(o) == 0);
    CHECK(lundi_adamw_step_count(o) == t);
    for (int i = 0; i < 4; i++) {
      double e = ref_diff(&r[i], p[i]);
      if (e > 2e-6) fprintf(stderr, "step %lld param %s: rel diff %g\n", (long long)t, names[i], e);
      CHECK(e <= 2e-6);
    }
  }
  for (int i = 0; i < 4; i++) {
    ref_free(&r[i]);
    lundi_release(p[i]);
  }
  free(g);
  lundi_adamw_free(o);
  lundi_param_list_free(&l);
}

static void test_adamw_resume(void) {
  char path[] = "/tmp/lundi_test_adamw_XXXXXX";
  int fd = mkstemp(path);
  CHECK(fd >= 0);
  close(fd);
  int64_t s[2] = {3, 4}, sb[1] = {4};
  lundi_tensor *pa = leaf(2, s), *ba = leaf(1, sb);
  lundi_no_grad_enter();
  lundi_tensor *pb = lundi_clone(pa), *bb = lundi_clone(ba);
  lundi_no_grad_exit();
  lundi_set_requires_grad(pb, 1);
  lundi_set_requires_grad(bb, 1);
  lundi_param_list la = {0}, lb = {0};
  lundi_param_list_push(&la, "w", pa);
  lundi_param_list_push(&la, "b", ba);
  lundi_param_list_push(&lb, "w", pb);
  lundi_param_list_push(&lb, "b", bb);
  lundi_adamw_config cfg = lundi_adamw_defaults();
  cfg.weight_decay = 0.05f;
  lundi_adamw *A = lundi_adamw_new(&la, cfg);
  float g[12];
  lundi_rng gr = lundi_rng_make(11);
  for (int t = 0; t < 3; t++) {
    fill_random(g, 12, &gr);
    set_grad(pa, g);
    set_grad(ba, g);
    CHECK(lundi_adamw_step(A) == 0);
  }
  /* resume: copy the params, save and reload the optimiser state */
  lundi_param_list st = {0}, loaded = {0};
  CHECK(lundi_adamw_state(A, &st) == 0);
  CHECK(st.n == 5 && !strcmp(st.names[0], "exp_avg.w") && !strcmp(st.names[3], "exp_avg_sq.b") && !strcmp(st.names[4], "step"));
  CHECK(lundi_safetensors_save(path, &st, NULL) == 0);
  CHECK(lundi_safetensors_load(path, &loaded) == 0);
  CHECK(lundi_tensor_dtype(lundi_param_list_find(&loaded, "step")) == LUNDI_I32);
  lundi_copy_(pb, pa);
  lundi_copy_(bb, ba);
  lundi_adamw *B = lundi_adamw_new(&lb, cfg);
  CHECK(lundi_adamw_load_state(B, &loaded) == 0);
  CHECK(lundi_adamw_step_count(B) == 3);
  for (int t = 0; t < 2; t++) {
    fill_random(g, 12, &gr);
    set_grad(pa, g);
    set_grad(pb, g);
    set_grad(ba, g);
    set_grad(bb, g);
    CHECK(lundi_adamw_step(A) == 0 && lundi_adamw_step(B) == 0);
  }
  CHECK(t_max_abs_diff(pa, pb) == 0 && t_max_abs_diff(ba, bb) == 0);
  CHECK(lundi_adamw_step_count(B) == 5);

  /* bad states are rejected before anything changes */
  int64_t s3 = 3;
  lundi_tensor *wrong = lundi_zeros(1, &s3);
  lundi_param_list bad = {0};
  lundi_param_list_push(&bad, "exp_avg.w", lundi_param_list_find(&loaded, "exp_avg.w"));
  lundi_param_list_push(&bad, "exp_avg.b", lundi_param_list_find(&loaded, "exp_avg.b"));
  lundi_param_list_push(&bad, "exp_avg_sq.b", lundi_param_list_find(&loaded, "exp_avg_sq.b"));
  CHECK_ERR(lundi_adamw_load_state(B, &bad), "adamw_load_state: 'step' is missing");
  lundi_param_list_push(&bad, "step", lundi_param_list_find(&loaded, "step"));
  CHECK_ERR(lundi_adamw_load_state(B, &bad), "adamw_load_state: 'exp_avg_sq.w' is missing");
  lundi_param_list_push(&bad, "momentum.w", wrong);
  CHECK_ERR(lundi_adamw_load_state(B, &bad), "unexpected entry 'momentum.w'");
  lundi_param_list_free(&bad);
  lundi_param_list_push(&bad, "exp_avg_sq.w", wrong);
  CHECK_ERR(lundi_adamw_load_state(B, &bad), "adamw_load_state: 'exp_avg_sq.w' is f32 [3] but param 'w' is f32 [3,4]");
  lundi_param_list_free(&bad);
  lundi_param_list_push(&bad, "exp_avg.w", lundi_param_list_find(&loaded, "exp_avg.w"));
  lundi_param_list_push(&bad, "exp_avg.w", lundi_param_list_find(&loaded, "exp_avg.w"));
  CHECK_ERR(lundi_adamw_load_state(B, &bad), "'exp_avg.w' appears twice");
  CHECK(lundi_adamw_step_count(B) == 5);
  lundi_param_list_free(&bad);

  /* construction errors */
  lundi_adamw_config c2 = cfg;
  c2.beta1 = 1.0f;
  CHECK_ERR(lundi_adamw_new(&la, c2), "adamw: bad config");
  int64_t s2[2] = {4, 3};
  lundi_tensor *plain = lundi_zeros(2, s2), *tr = lundi_transpose(plain, 0, 1);
  lundi_param_list lt = {0};
  lundi_param_list_push(&lt, "t", tr);
  CHECK_ERR(lundi_adamw_new(&lt, cfg), "adamw_new: param 't' must be a contiguous f32 tensor (got f32, strided)");
  lundi_param_list_free(&lt);
  lundi_param_list_push(&lt, "t", plain);
  lundi_param_list_push(&lt, "t", plain);
  CHECK_ERR(lundi_adamw_new(&lt, cfg), "two params are named 't'");
  lundi_param_list_free(&lt);

  lundi_release(plain); lundi_release(tr); lundi_release(wrong);
  lundi_param_list_free(&st);
  lundi_param_list_free(&loaded);
  lundi_param_list_free(&la);
  lundi_param_list_free(&lb);
  lundi_adamw_free(A);
  lundi_adamw_free(B);
  lundi_release(pa); lundi_release(pb); lundi_release(ba); lundi_release(bb);
  unlink(path);
}

/* ---- learning-rate schedules ---- */

static double closed_form(int kind, double base, double lo, double w, double total, double step) {
  if (step < 0) step = 0;
  if (w > 0 && step < w) return base * step / w;
  double p = (step - w) / fmax(1, total - w);
  p = fmin(p, 1);
  if (kind == LUNDI_LR_LINEAR) return lo + (base - lo) * (1 - p);
  if (kind == LUNDI_LR_COSINE) return lo + (base - lo) * 0.5 * (1 + cos(3.14159265358979323846 * p));
  return base;
}

static void test_lr_schedule(void) {
  const int64_t steps[] = {-5, 0, 1, 50, 99, 100, 101, 350, 600, 850, 1099, 1100, 1101, 100000};
  for (int kind = LUNDI_LR_CONSTANT; kind <= LUNDI_LR_COSINE; kind++) {
    for (int w = 0; w <= 100; w += 100) {
      lundi_lr_schedule s = {.kind = kind, .base_lr = 1e-3f, .min_lr = 1e-5f, .warmup_steps = w, .total_steps = 1100};
      for (size_t i = 0; i < sizeof steps / sizeof *steps; i++) {
        double want = closed_form(kind, s.base_lr, s.min_lr, w, 1100, (double)steps[i]);
        CHECK_NEAR(lundi_lr_at(&s, steps[i]), want, 1e-7 * fmax(want, 1e-3));
      }
    }
  }
  /* landmarks spelled out */
  lundi_lr_schedule c = {.kind = LUNDI_LR_COSINE, .base_lr = 2e-4f, .min_lr = 0, .warmup_steps = 10, .total_steps = 110};
  CHECK(lundi_lr_at(&c, 0) == 0);
  CHECK_NEAR(lundi_lr_at(&c, 5), 1e-4, 1e-10);
  CHECK_NEAR(lundi_lr_at(&c, 10), 2e-4, 1e-10);
  CHECK_NEAR(lundi_lr_at(&c, 60), 1e-4, 1e-10);
  CHECK_NEAR(lundi_lr_at(&c, 110), 0, 1e-12);
  CHECK_NEAR(lundi_lr_at(&c, 500), 0, 1e-12);
  lundi_lr_schedule lin = {.kind = LUNDI_LR_LINEAR, .base_lr = 1, .min_lr = 0.1f, .warmup_steps = 0, .total_steps = 10};
  CHECK_NEAR(lundi_lr_at(&lin, 0), 1, 1e-7);
  CHECK_NEAR(lundi_lr_at(&lin, 5), 0.55, 1e-7);
  CHECK_NEAR(lundi_lr_at(&lin, 10), 0.1, 1e-7);
  CHECK(lundi_lr_at(NULL, 3) == 0);
}

/* ---- gradient clipping ---- */

static void test_clip(void) {
  int64_t s3 = 3, s1 = 1, s2 = 2;
  lundi_tensor *a = leaf(1, &s3), *b = leaf(1, &s1), *c = leaf(1, &s2);
  float ga[3] = {3, 4, 0}, gb[1] = {-12};
  lundi_param_list l = {0};
  lundi_param_list_push(&l, "a", a);
  lundi_param_list_push(&l, "b", b);
  lundi_param_list_push(&l, "c", c); /* no grad: ignored */
  set_grad(a, ga);
  set_grad(b, gb);
  float norm = 0;
  CHECK(lundi_clip_grad_norm(&l, 100, &norm) == 0);
  CHECK_NEAR(norm, 13, 1e-5);
  float v[3];
  lundi_read_f32(lundi_grad(a), v, 3);
  CHECK(v[0] == 3 && v[1] == 4 && v[2] == 0); /* under the limit: untouched */
  CHECK(lundi_clip_grad_norm(&l, 6.5f, &norm) == 0);
  CHECK_NEAR(norm, 13, 1e-5);
  double coef = 6.5 / (13 + 1e-6);
  lundi_read_f32(lundi_grad(a), v, 3);
  CHECK_NEAR(v[0], 3 * coef, 1e-6);
  CHECK_NEAR(v[1], 4 * coef, 1e-6);
  lundi_read_f32(lundi_grad(b), v, 1);
  CHECK_NEAR(v[0], -12 * coef, 1e-6);
  CHECK(lundi_grad(c) == NULL);
  CHECK(lundi_clip_grad_norm(&l, 1e9f, &norm) == 0);
  CHECK_NEAR(norm, 6.5, 1e-5); /* the new norm is max_norm */
  /* random larger case against a double reference */
  int64_t big = 100000;
  lundi_tensor *p = leaf(1, &big);
  float *g = malloc(sizeof(float) * (size_t)big);
  lundi_rng gr = lundi_rng_make(3);
  fill_random(g, big, &gr);
  set_grad(p, g);
  double ss = 0;
  for (int64_t i = 0; i < big; i++) ss += (double)g[i] * g[i];
  lundi_param_list one = {0};
  lundi_param_list_push(&one, "p", p);
  CHECK(lundi_clip_grad_norm(&one, 1, &norm) == 0);
  CHECK_NEAR(norm, sqrt(ss), 1e-4 * sqrt(ss));
  float *after = t_read(lundi_grad(p));
  double s2b = 0;
  for (int64_t i = 0; i < big; i++) s2b += (double)after[i] * after[i];
  CHECK_NEAR(sqrt(s2b), 1, 1e-5);
  /* non-finite norms are reported, grads left alone */
  float ginf[3] = {INFINITY, 1, 2};
  set_grad(a, ginf);
  CHECK(lundi_clip_grad_norm(&l, 1, &norm) == 0);
  CHECK(isinf(norm));
  lundi_read_f32(lundi_grad(a), v, 3);
  CHECK(v[1] == 1 && v[2] == 2);
  CHECK_ERR(lundi_clip_grad_norm(&l, 0, &norm), "clip_grad_norm: max_norm 0 must be positive");
  free(g); free(after);
  lundi_param_list_free(&l);
  lundi_param_list_free(&one);
  lundi_release(a); lundi_release(b); lundi_release(c); lundi_release(p);
}

/* ---- EMA ---- */

static void test_ema(void) {
  int64_t s[2] = {2, 3}, sbig = 70000; /* the big one takes the threaded path */
  lundi_tensor *p = leaf(2, s), *q = leaf(1, &sbig);
  lundi_param_list l = {0};
  lundi_param_list_push(&l, "p", p);
  lundi_param_list_push(&l, "q", q);
  const double d = 0.75;
  lundi_ema *e = lundi_ema_new(&l, (float)d);
  CHECK(e != NULL);
  const lundi_param_list *sh = lundi_ema_shadow(e);
  CHECK(sh->n == 2 && !strcmp(sh->names[1], "q") && !lundi_requires_grad(sh->tensors[0]));
  CHECK(t_max_abs_diff(sh->tensors[0], p) == 0);
  int64_t n[2] = {6, sbig};
  double *ref[2];
  float *buf = malloc(sizeof(float) * (size_t)sbig);
  lundi_rng gr = lundi_rng_make(8);
  for (int k = 0; k < 2; k++) {
    float *v = t_read(l.tensors[k]);
    ref[k] = malloc(sizeof(double) * (size_t)n[k]);
    for (int64_t i = 0; i < n[k]; i++) ref[k][i] = v[i];
    free(v);
  }
  for (int t = 0; t < 4; t++) {
    for (int k = 0; k < 2; k++) {
      fill_random(buf, n[k], &gr);
      lundi_write_f32(l.tensors[k], buf, n[k]);
      for (int64_t i = 0; i < n[k]; i++) ref[k][i] = d * ref[k][i] + (1 - d) * buf[i];
    }
    CHECK(lundi_ema_update(e, &l) == 0);
  }
  for (int k = 0; k < 2; k++) {
    float *v = t_read(sh->tensors[k]);
    double m = 0;
    for (int64_t i = 0; i < n[k]; i++) m = fmax(m, fabs(v[i] - ref[k][i]));
    CHECK(m < 1e-6);
    free(v);
    free(ref[k]);
  }
  CHECK(lundi_ema_copy_to(e, &l) == 0);
  CHECK(t_max_abs_diff(p, sh->tensors[0]) == 0 && t_max_abs_diff(q, sh->tensors[1]) == 0);
  /* decay 1 freezes the shadow exactly; decay 0 tracks the params exactly */
  lundi_ema *frozen = lundi_ema_new(&l, 1.0f), *track = lundi_ema_new(&l, 0.0f);
  lundi_tensor *before = lundi_clone(lundi_ema_shadow(frozen)->tensors[0]);
  fill_random(buf, 6, &gr);
  lundi_write_f32(p, buf, 6);
  CHECK(lundi_ema_update(frozen, &l) == 0 && lundi_ema_update(track, &l) == 0);
  CHECK(t_max_abs_diff(lundi_ema_shadow(frozen)->tensors[0], before) == 0);
  CHECK(t_max_abs_diff(lundi_ema_shadow(track)->tensors[0], p) == 0);
  /* mismatches */
  lundi_param_list other = {0};
  lundi_param_list_push(&other, "p", p);
  CHECK_ERR(lundi_ema_update(e, &other), "ema_update: 1 params given, the EMA tracks 2");
  lundi_param_list_push(&other, "r", p);
  CHECK_ERR(lundi_ema_update(e, &other), "ema_update: param 1 'r' [2,3] does not match the EMA's 'q' [70000]");
  CHECK_ERR(lundi_ema_new(&l, 1.5f), "ema_new: decay 1.5 must be in [0, 1]");
  free(buf);
  lundi_release(before);
  lundi_param_list_free(&other);
  lundi_param_list_free(&l);
  lundi_ema_free(e);
  lundi_ema_free(frozen);
  lundi_ema_free(track);
  lundi_release(p); lundi_release(q);
}

/* The schedule kinds by name (lundi.optim.lr_schedule's kind) and the check that a decaying
 * schedule knows where it ends. */
static void test_lr_kind(void) {
  const char *const want[] = {"constant", "linear", "cosine"};
  for (int k = LUNDI_LR_CONSTANT; k <= LUNDI_LR_COSINE; k++) {
    CHECK(!strcmp(lundi_lr_kind_names[k], want[k]));
    lundi_lr_kind got = (lundi_lr_kind)-1;
    CHECK(lundi_lr_kind_parse(want[k], &got) == 0 && got == (lundi_lr_kind)k);
  }
  CHECK(lundi_lr_kind_names[3] == NULL);
  lundi_lr_kind kind = LUNDI_LR_LINEAR;
  CHECK_ERR(lundi_lr_kind_parse("step", &kind), "lr_schedule: kind 'step' is not constant, linear or cosine");
  CHECK(kind == LUNDI_LR_LINEAR); /* untouched when refused */
  CHECK_ERR(lundi_lr_kind_parse(NULL, &kind), "kind '(null)'");
  lundi_lr_schedule s = {.kind = LUNDI_LR_CONSTANT, .base_lr = 1};
  CHECK(lundi_lr_schedule_check(&s) == 0); /* constant needs no end */
  s.kind = LUNDI_LR_COSINE;
  CHECK_ERR(lundi_lr_schedule_check(&s), "option 'total_steps' (> 0) is required for linear and cosine schedules");
  s.kind = LUNDI_LR_LINEAR;
  s.total_steps = -3;
  CHECK(lundi_lr_schedule_check(&s) == LUNDI_EINVAL);
  s.total_steps = 10;
  CHECK(lundi_lr_schedule_check(&s) == 0);
  CHECK(lundi_lr_schedule_check(NULL) == LUNDI_EINVAL);
}

/* AdamW's own file (adamw_io.c), zero_grad over the parameters it holds, a refused lr, and
 * the description tostring(opt) shows (lr as Lua writes a float). */
static void test_adamw_io(void) {
  char path[] = "/tmp/lundi_test_adamw_io_XXXXXX";
  int fd = mkstemp(path);
  CHECK(fd >= 0);
  close(fd);
  int64_t s[1] = {5};
  lundi_tensor *p = leaf(1, s), *q = leaf(1, s);
  lundi_param_list l = {0}, m = {0};
  lundi_param_list_push(&l, "p", p);
  lundi_param_list_push(&m, "p", q);
  lundi_adamw_config cfg = lundi_adamw_defaults();
  lundi_adamw *A = lundi_adamw_new(&l, cfg), *B = lundi_adamw_new(&m, cfg);
  float g[5] = {1, -2, 3, -4, 5};
  for (int t = 0; t < 2; t++) {
    set_grad(p, g);
    CHECK(lundi_adamw_step(A) == 0);
  }
  CHECK(lundi_grad(p) != NULL);
  lundi_adamw_zero_grad(A);
  float *z = lundi_grad(p) ? t_read(lundi_grad(p)) : NULL;
  for (int i = 0; z && i < 5; i++) CHECK(z[i] == 0);
  free(z);
  lundi_adamw_zero_grad(NULL); /* nothing to do */

  CHECK(lundi_adamw_save(A, path) == 0);
  CHECK(lundi_adamw_load(B, path) == 0);
  CHECK(lundi_adamw_step_count(B) == 2);
  lundi_param_list sa = {0}, sb = {0};
  CHECK(lundi_adamw_state(A, &sa) == 0 && lundi_adamw_state(B, &sb) == 0);
  CHECK(sa.n == 3 && sb.n == 3);
  for (int i = 0; i < sa.n && i < sb.n; i++) CHECK(t_max_abs_diff(sa.tensors[i], sb.tensors[i]) == 0);
  CHECK_ERR(lundi_adamw_load(B, "/nonexistent/lundi_adamw.safetensors"), "/nonexistent/lundi_adamw.safetensors");
  CHECK(lundi_adamw_step_count(B) == 2); /* a failed load leaves it */
  CHECK(lundi_adamw_save(NULL, path) != 0);

  char d[64];
  CHECK(lundi_adamw_describe(A, d, sizeof d) > 0 && !strcmp(d, "AdamW(lr=0.0010000000474975, step=2)"));
  CHECK(lundi_adamw_set_lr(A, 2) == 0);
  CHECK(lundi_adamw_describe(A, d, sizeof d) > 0 && !strcmp(d, "AdamW(lr=2.0, step=2)"));
  CHECK_ERR(lundi_adamw_set_lr(A, -1), "learning rate must be >= 0");
  CHECK(lundi_adamw_set_lr(A, NAN) == LUNDI_EINVAL);
  CHECK(lundi_adamw_lr(A) == 2);
  CHECK(lundi_adamw_set_lr(NULL, 1) == LUNDI_EINVAL);
  CHECK(lundi_adamw_set_lr(A, 0) == 0);
  CHECK(lundi_adamw_describe(A, d, sizeof d) > 0 && !strcmp(d, "AdamW(lr=0.0, step=2)"));
  lundi_param_list_free(&sa);
  lundi_param_list_free(&sb);
  lundi_param_list_free(&l);
  lundi_param_list_free(&m);
  lundi_adamw_free(A);
  lundi_adamw_free(B);
  lundi_release(p);
  lundi_release(q);
  unlink(path);
}

static const test_case tests[] = {
    {"adamw_reference", test_adamw_reference},
    {"adamw_resume", test_adamw_resume},
    {"lr_schedule", test_lr_schedule},
    {"clip_grad_norm", test_clip},
    {"ema", test_ema},
    {"lr_kind", test_lr_kind},
    {"adamw_io", test_adamw_io},
};
TEST_MAIN(tests)
