/* The C data API (suite 'data'): datasets of tensors, the epoch order drawn from a seed,
 * batches and their dtypes, drop_last, device placement, and a source written by hand (the
 * way a generated text or action dataset plugs in). */
#include "harness.h"
#include "lundi/data.h"

/* m values of a CPU i32 tensor into out. */
static int read_i32(lundi_tensor *t, int32_t *out, int64_t m) {
  lundi_tensor *c = lundi_contiguous(t);
  const int32_t *p = c ? lundi_data(c) : NULL;
  if (p) memcpy(out, p, sizeof(int32_t) * (size_t)m);
  lundi_release(c);
  return p && lundi_numel(t) == m ? 0 : -1;
}

/* x f32 [n, 2, 3] where every value of sample i is i; y i32 [n] = i * scale - offset. */
static void make_xy(int n, int32_t scale, int32_t offset, lundi_tensor **x, lundi_tensor **y) {
  float *xv = malloc(sizeof(float) * (size_t)n * 6);
  int32_t *yv = malloc(sizeof(int32_t) * (size_t)n);
  for (int i = 0; i < n; i++) {
    for (int k = 0; k < 6; k++) xv[i * 6 + k] = (float)i;
    yv[i] = i * scale - offset;
  }
  *x = lundi_from_f32(3, (int64_t[]){n, 2, 3}, xv);
  *y = lundi_from_i32(1, (int64_t[]){n}, yv);
  free(xv);
  free(yv);
}

static lundi_dataset *xy_dataset(int n) {
  lundi_tensor *f[2];
  make_xy(n, 1, 0, &f[0], &f[1]);
  lundi_dataset *ds = lundi_dataset_from_tensors(2, f);
  CHECK(ds != NULL);
  lundi_release(f[0]);
  lundi_release(f[1]); /* the dataset holds what it needs */
  return ds;
}

/* One epoch's sample order (read from the labels) and batch sizes. */
static int epoch(lundi_dataset *ds, int64_t bs, lundi_rng *rng, int drop_last, int32_t *order, int *sizes) {
  lundi_loader_opts o = {.batch_size = bs, .rng = rng, .drop_last = drop_last};
  lundi_loader *ld = lundi_loader_new(ds, &o);
  CHECK(ld != NULL);
  if (!ld) return 0;
  int nb = 0, at = 0;
  lundi_tensor *b[2];
  int64_t index = -1;
  int rc;
  while ((rc = lundi_loader_next(ld, b, &index)) == 1) {
    CHECK(index == nb);
    CHECK(lundi_ndim(b[0]) == 3 && lundi_dim(b[0], 1) == 2 && lundi_dim(b[0], 2) == 3);
    CHECK(lundi_tensor_dtype(b[1]) == LUNDI_I32);
    int64_t m = lundi_dim(b[0], 0);
    float *xs = t_read(b[0]);
    int32_t ys[64];
    CHECK(m <= 64 && read_i32(b[1], ys, m) == 0);
    for (int64_t k = 0; k < m; k++) {
      CHECK(xs[k * 6 + 5] == (float)ys[k]); /* x and y rows belong together */
      order[at++] = ys[k];
    }
    free(xs);
    sizes[nb++] = (int)m;
    lundi_release(b[0]);
    lundi_release(b[1]);
  }
  CHECK(rc == 0);
  CHECK(nb == lundi_loader_batches(ld));
  lundi_loader_free(ld);
  return nb;
}

/* The documented rule, written out again: perm = 0..n-1; u = rand(rng, [n]); for i = n-1
 * down to 1: j = min(i, floor(u[i] * (i + 1))), swap. */
static void reference_order(uint64_t seed, int n, int32_t *perm) {
  lundi_rng rng = lundi_rng_make(seed);
  lundi_tensor *u = lundi_rand(&rng, 1, (int64_t[]){n});
  float *uf = t_read(u);
  for (int i = 0; i < n; i++) perm[i] = i;
  for (int i = n - 1; i > 0; i--) {
    int j = (int)floor((double)uf[i] * (double)(i + 1));
    if (j > i) j = i;
    int32_t t = perm[i];
    perm[i] = perm[j];
    perm[j] = t;
  }
  free(uf);
  lundi_release(u);
}

static void same_seed_same_batches(void) {
  lundi_dataset *ds = xy_dataset(40);
  int32_t a[40], b[40], c[40], d[40];
  int sa[8], sb[8];
  lundi_rng r1 = lundi_rng_make(123), r2 = lundi_rng_make(123);
  CHECK(epoch(ds, 8, &r1, 0, a, sa) == 5);
  CHECK(epoch(ds, 8, &r2, 0, b, sb) == 5);
  CHECK(memcmp(a, b, sizeof a) == 0);
  CHECK(epoch(ds, 8, &r1, 0, c, sa) == 5); /* the next epoch of the same rng is reshuffled */
  CHECK(memcmp(a, c, sizeof a) != 0);
  epoch(ds, 8, &r2, 0, d, sb);
  CHECK(memcmp(c, d, sizeof c) == 0);
  int seen[40] = {0};
  for (int i = 0; i < 40; i++)
    if (a[i] >= 0 && a[i] < 40) seen[a[i]]++;
  for (int i = 0; i < 40; i++) CHECK(seen[i] == 1);
  lundi_dataset_release(ds);
}

static void permutation_matches_rule(void) {
  lundi_dataset *ds = xy_dataset(23);
  int32_t ref[23], got[23], plain[23];
  int sizes[8];
  reference_order(7, 23, ref);
  lundi_rng rng = lundi_rng_make(7);
  CHECK(epoch(ds, 5, &rng, 0, got, sizes) == 5);
  CHECK(memcmp(ref, got, sizeof ref) == 0);
  int32_t perm[23];
  lundi_rng r2 = lundi_rng_make(7);
  CHECK(lundi_shuffle_indices(&r2, perm, 23) == 0);
  CHECK(memcmp(ref, perm, sizeof ref) == 0);
  /* the rng advanced by exactly one draw of 23 */
  lundi_rng r3 = lundi_rng_make(7);
  lundi_tensor *skip = lundi_rand(&r3, 1, (int64_t[]){23});
  lundi_tensor *p = lundi_rand(&r2, 1, (int64_t[]){4}), *q = lundi_rand(&r3, 1, (int64_t[]){4});
  CHECK(t_max_abs_diff(p, q) == 0);
  lundi_release(skip), lundi_release(p), lundi_release(q);
  /* no rng: in order */
  epoch(ds, 10, NULL, 0, plain, sizes);
  for (int i = 0; i < 23; i++) CHECK(plain[i] == i);
  /* n = 1 draws nothing */
  lundi_rng a = lundi_rng_make(9), b = lundi_rng_make(9);
  int32_t one[1];
  CHECK(lundi_shuffle_indices(&a, one, 1) == 0 && one[0] == 0);
  p = lundi_rand(&a, 1, (int64_t[]){4}), q = lundi_rand(&b, 1, (int64_t[]){4});
  CHECK(t_max_abs_diff(p, q) == 0);
  lundi_release(p), lundi_release(q);
  lundi_dataset_release(ds);
}

static void drop_last(void) {
  lundi_dataset *ds = xy_dataset(23);
  int32_t order[23];
  int sizes[8];
  lundi_rng rng = lundi_rng_make(1);
  CHECK(epoch(ds, 5, &rng, 1, order, sizes) == 4);
  for (int i = 0; i < 4; i++) CHECK(sizes[i] == 5);
  CHECK(epoch(ds, 5, &rng, 0, order, sizes) == 5);
  CHECK(sizes[4] == 3);
  CHECK(epoch(ds, 100, &rng, 0, order, sizes) == 1 && sizes[0] == 23);
  CHECK(epoch(ds, 100, &rng, 1, order, sizes) == 0); /* nothing but a short batch */
  lundi_dataset_release(ds);
}

static void i32_labels_survive(void) {
  /* labels up to +-2^24 and an i32 x of any rank come back exact, as i32 */
  lundi_tensor *f[2];
  make_xy(30, 555555, 8000000, &f[0], &f[1]); /* -8,000,000 .. 8,111,095 */
  int32_t xv[30 * 4];
  for (int i = 0; i < 30 * 4; i++) xv[i] = (i / 4) * 4099 - 60000;
  lundi_tensor *xi = lundi_from_i32(3, (int64_t[]){30, 2, 2}, xv);
  lundi_tensor *g[2] = {xi, f[1]};
  lundi_dataset *ds = lundi_dataset_from_tensors(2, g);
  CHECK(ds && lundi_dataset_fields(ds) == 2 && lundi_dataset_count(ds) == 30);
  lundi_rng rng = lundi_rng_make(5);
  lundi_loader_opts o = {.batch_size = 7, .rng = &rng};
  lundi_loader *ld = lundi_loader_new(ds, &o);
  const int32_t *order = lundi_loader_order(ld);
  lundi_tensor *b[2];
  int at = 0;
  while (ld && lundi_loader_next(ld, b, NULL) == 1) {
    int64_t m = lundi_dim(b[1], 0);
    CHECK(lundi_tensor_dtype(b[0]) == LUNDI_I32 && lundi_tensor_dtype(b[1]) == LUNDI_I32);
    CHECK(lundi_ndim(b[0]) == 3 && lundi_dim(b[0], 2) == 2);
    int32_t xs[7 * 4], ys[7];
    CHECK(read_i32(b[0], xs, m * 4) == 0 && read_i32(b[1], ys, m) == 0);
    for (int64_t k = 0; k < m; k++, at++) {
      int s = order[at];
      CHECK(ys[k] == s * 555555 - 8000000);
      CHECK(xs[k * 4 + 3] == s * 4099 - 60000);
    }
    lundi_release(b[0]), lundi_release(b[1]);
  }
  CHECK(at == 30);
  lundi_loader_free(ld);
  lundi_dataset_release(ds);
  lundi_release(f[0]), lundi_release(f[1]), lundi_release(xi);
}

static void batches_on_cpu(void) {
  lundi_device *cpu = lundi_device_from_name("cpu");
  CHECK(cpu != NULL);
  lundi_dataset *ds = xy_dataset(10);
  lundi_loader_opts o = {.batch_size = 4, .device = cpu};
  lundi_loader *ld = lundi_loader_new(ds, &o);
  lundi_tensor *b[2];
  int n = 0;
  while (ld && lundi_loader_next(ld, b, NULL) == 1) {
    CHECK(lundi_tensor_device(b[0]) == cpu && lundi_tensor_device(b[1]) == cpu);
    CHECK(!lundi_requires_grad(b[0])); /* gathered outside autograd */
    lundi_release(b[0]), lundi_release(b[1]);
    n++;
  }
  CHECK(n == 3);
  lundi_loader_free(ld);
  lundi_dataset_release(ds);
}

/* Data on the CPU, batches on a Vulkan device (lavapipe in CI), and back: the batches land
 * where the loader says, with the same values. Skipped (77) without a Vulkan device. */
static void batches_on_other_device(void) {
  lundi_device *cpu = lundi_device_from_name("cpu"), *vk = lundi_vulkan_device(0);
  if (!vk) {
    fprintf(stderr, "no Vulkan device (%s): skipped\n", lundi_last_error());
    exit(77);
  }
  lundi_dataset *ds = xy_dataset(10);
  lundi_rng r1 = lundi_rng_make(4), r2 = lundi_rng_make(4);
  lundi_loader_opts on_vk = {.batch_size = 4, .rng = &r1, .device = vk};
  lundi_loader_opts on_cpu = {.batch_size = 4, .rng = &r2};
  lundi_loader *a = lundi_loader_new(ds, &on_vk), *b = lundi_loader_new(ds, &on_cpu);
  lundi_tensor *x[2], *y[2];
  int n = 0;
  while (a && b && lundi_loader_next(a, x, NULL) == 1) {
    CHECK(lundi_loader_next(b, y, NULL) == 1);
    CHECK(lundi_tensor_device(x[0]) == vk && lundi_tensor_device(x[1]) == vk);
    CHECK(lundi_tensor_device(y[0]) == cpu);
    CHECK(lundi_tensor_dtype(x[1]) == LUNDI_I32);
    lundi_tensor *back = lundi_to_device(x[0], cpu), *lab = lundi_to_device(x[1], cpu);
    int32_t la[4], lb[4];
    int64_t m = lundi_dim(y[1], 0);
    CHECK(back && t_max_abs_diff(back, y[0]) == 0);
    CHECK(lab && read_i32(lab, la, m) == 0 && read_i32(y[1], lb, m) == 0 && memcmp(la, lb, sizeof(int32_t) * (size_t)m) == 0);
    lundi_release(back), lundi_release(lab);
    for (int k = 0; k < 2; k++) lundi_release(x[k]), lundi_release(y[k]);
    n++;
  }
  CHECK(n == 3);
  lundi_loader_free(a);
  lundi_loader_free(b);
  lundi_dataset_release(ds);
}

/* A generated dataset: sample i is the pair (i, i*i), made on demand. */
static int g_destroyed;
static int64_t sq_count(void *self) { return *(int64_t *)self; }
static int sq_get(void *self, const int32_t *idx, int64_t n, lundi_device *dev, lundi_tensor **out) {
  (void)self, (void)dev;
  float v[64];
  if (n > 32) return lundi_set_error(LUNDI_EINVAL, "squares: batches of 32 at most");
  for (int64_t k = 0; k < n; k++) v[2 * k] = (float)idx[k], v[2 * k + 1] = (float)idx[k] * (float)idx[k];
  out[0] = lundi_from_f32(2, (int64_t[]){n, 2}, v);
  return out[0] ? 0 : LUNDI_ENOMEM;
}
static void sq_destroy(void *self) {
  free(self);
  g_destroyed++;
}

static void custom_source(void) {
  static const lundi_dataset_source src = {sq_count, sq_get, sq_destroy};
  int64_t *n = malloc(sizeof *n);
  *n = 50;
  lundi_dataset *ds = lundi_dataset_new(&src, n, 1);
  CHECK(ds && lundi_dataset_count(ds) == 50);
  lundi_rng rng = lundi_rng_make(11);
  lundi_loader_opts o = {.batch_size = 16, .rng = &rng};
  lundi_loader *ld = lundi_loader_new(ds, &o);
  lundi_dataset_release(ds); /* the loader keeps it alive */
  CHECK(g_destroyed == 0);
  int seen[50] = {0}, batches = 0;
  lundi_tensor *b[1];
  while (ld && lundi_loader_next(ld, b, NULL) == 1) {
    float *v = t_read(b[0]);
    for (int64_t k = 0; k < lundi_dim(b[0], 0); k++) {
      CHECK(v[2 * k + 1] == v[2 * k] * v[2 * k]);
      seen[(int)v[2 * k]]++;
    }
    free(v);
    lundi_release(b[0]);
    batches++;
  }
  CHECK(batches == 4);
  for (int i = 0; i < 50; i++) CHECK(seen[i] == 1);
  lundi_loader_free(ld);
  CHECK(g_destroyed == 1);
  /* a failing source is an error of next(), not a crash */
  int64_t *m = malloc(sizeof *m);
  *m = 40;
  ds = lundi_dataset_new(&src, m, 1);
  lundi_loader_opts big = {.batch_size = 40};
  ld = lundi_loader_new(ds, &big);
  CHECK_ERR(lundi_loader_next(ld, b, NULL) < 0, "32 at most");
  lundi_loader_free(ld);
  lundi_dataset_release(ds);
  CHECK(g_destroyed == 2);
}

static void errors(void) {
  lundi_tensor *f[2];
  make_xy(5, 1, 0, &f[0], &f[1]);
  lundi_tensor *short_y = lundi_from_i32(1, (int64_t[]){4}, (int32_t[]){0, 1, 2, 3});
  lundi_tensor *mis[2] = {f[0], short_y};
  CHECK_ERR(lundi_dataset_from_tensors(2, mis), "field 0 has 5 samples but field 1 has 4");
  lundi_tensor *scalar = lundi_scalar(1.0f);
  CHECK_ERR(lundi_dataset_from_tensors(1, &scalar), "batch dimension");
  lundi_tensor *h = lundi_to_dtype(f[0], LUNDI_F16);
  CHECK_ERR(lundi_dataset_from_tensors(1, &h), "f32 or i32");
  lundi_dataset *ds = lundi_dataset_from_tensors(2, f);
  lundi_loader_opts o = {.batch_size = 0};
  CHECK_ERR(lundi_loader_new(ds, &o), "batch_size must be >= 1");
  lundi_tensor *out[2];
  CHECK_ERR(lundi_dataset_get(ds, (int32_t[]){0, 5}, 2, NULL, out), "index 5 is outside the 5 samples");
  static const lundi_dataset_source no_get = {sq_count, NULL, NULL};
  CHECK_ERR(lundi_dataset_new(&no_get, NULL, 1), "count() and get()");
  lundi_dataset_release(ds);
  lundi_release(f[0]), lundi_release(f[1]), lundi_release(short_y), lundi_release(scalar), lundi_release(h);
}

static const test_case cases[] = {
    {"same_seed_same_batches", same_seed_same_batches},
    {"permutation_matches_rule", permutation_matches_rule},
    {"drop_last", drop_last},
    {"i32_labels_survive", i32_labels_survive},
    {"placed_on_cpu", batches_on_cpu},
    {"placed_on_vulkan", batches_on_other_device},
    {"custom_source", custom_source},
    {"errors", errors},
};
TEST_MAIN(cases)
