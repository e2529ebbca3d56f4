/* The Vulkan backend's foundation: enumeration, transfers, the first kernels against the
 * CPU, and the errors when an op or the driver is missing. Runs on any device (CI: lavapipe).
 * Cases that need a device exit with meson's skip code 77 where there is none. */
#include "vulkan_pair.h"

#include "core/backend.h" /* lundi__dispatch, to aim a kernel at a view inside a sentinel buffer */

#include <stdint.h>

static void enumerate(void) {
  lundi_device *d = need_device();
  int n = lundi_device_count();
  CHECK(n >= 1);
  CHECK(!strncmp(lundi_device_name(d), "vulkan:", 7));
  for (int i = 0; i < n; i++) {
    lundi_device_info in;
    CHECK(lundi_device_get_info(i, &in) == 0);
    printf("vulkan:%d %s (%s), driver %s, Vulkan %s, %.0f MiB, subgroup %u, f16 %d, 16-bit storage %d\n", i,
           in.name, in.type, in.driver, in.api_version, (double)in.device_local_bytes / 1048576.0, in.subgroup_size,
           in.shader_float16, in.storage_buffer_16bit);
    CHECK(in.name[0] != 0);
    CHECK(!strcmp(in.type, "discrete") || !strcmp(in.type, "integrated") || !strcmp(in.type, "virtual") ||
          !strcmp(in.type, "cpu") || !strcmp(in.type, "other"));
    CHECK(in.driver[0] != 0 && in.api_version[0] != 0);
    /* Vulkan's guaranteed minimums. */
    CHECK(in.max_compute_shared_memory >= 16384);
    CHECK(in.max_workgroup_invocations >= 128);
    CHECK(in.max_workgroup_size[0] >= 128 && in.max_workgroup_size[1] >= 128 && in.max_workgroup_size[2] >= 64);
    CHECK(in.max_storage_buffer_range >= ((uint64_t)1 << 27));
    CHECK(in.max_memory_allocation_size >= ((uint64_t)1 << 30));
    CHECK(in.subgroup_size == 0 || (in.subgroup_size & (in.subgroup_size - 1)) == 0);
  }
  lundi_device_info in;
  CHECK_ERR(lundi_device_get_info(n, &in), "no Vulkan device");
  CHECK(lundi_vulkan_device(0) != NULL);
  CHECK_ERR(lundi_vulkan_device(n), "no such device");
  setenv("LUNDI_DEVICE", "vulkan:0", 1);
  CHECK(lundi_vulkan_device(-1) == lundi_vulkan_device(0));
  setenv("LUNDI_DEVICE", "vulkan:x", 1);
  CHECK_ERR(lundi_vulkan_device(-1), "expected cpu, vulkan or vulkan:N");
  unsetenv("LUNDI_DEVICE");
  CHECK(lundi_device_sync(d) == 0);
}

static void roundtrip(void) {
  lundi_device *d = need_device();
  const int64_t sizes[] = {1, 3, 7, 17, 255, 257, 4099, 1000003};
  for (size_t k = 0; k < sizeof sizes / sizeof *sizes; k++) {
    int64_t n = sizes[k];
    int32_t *src = malloc(sizeof(int32_t) * (size_t)n);
    for (int64_t i = 0; i < n; i++) src[i] = (int32_t)lcg(); /* any bits, NaN patterns included */
    lundi_tensor *h = lundi_from_i32(1, &n, src);
    lundi_tensor *v = lundi_to_device(h, d);
    CHECK(v && lundi_tensor_device(v) == d);
    lundi_tensor *hb = v ? lundi_to_device(v, lundi_cpu()) : NULL;
    CHECK(hb && !memcmp(lundi_data(hb), src, sizeof(int32_t) * (size_t)n));
    /* A view with an offset downloads from the right place. */
    if (v && n > 2) {
      lundi_tensor *sl = lundi_slice(v, 0, 1, n - 1, 1), *hs = sl ? lundi_to_device(sl, lundi_cpu()) : NULL;
      CHECK(hs && !memcmp(lundi_data(hs), src + 1, sizeof(int32_t) * (size_t)(n - 2)));
      lundi_release(hs);
      lundi_release(sl);
    }
    free(src);
    lundi_release(hb);
    lundi_release(v);
    lundi_release(h);
  }
  /* Strided copy (the copy kernel) and fill, f32. */
  int64_t sh[2] = {37, 11};
  float *src = malloc(sizeof(float) * 37 * 11);
  for (int i = 0; i < 37 * 11; i++) src[i] = (float)i * 0.5f - 3;
  lundi_tensor *h = lundi_from_f32(2, sh, src), *v = lundi_to_device(h, d);
  lundi_tensor *vt = v ? lundi_transpose(v, 0, 1) : NULL, *ht = lundi_transpose(h, 0, 1);
  lundi_tensor *vc = vt ? lundi_contiguous(vt) : NULL, *hc = lundi_contiguous(ht);
  CHECK(vc && t_max_abs_diff(vc, hc) == 0);
  lundi_tensor *col = v ? lundi_slice(v, 1, 3, 4, 1) : NULL;
  CHECK(col && lundi_fill_(col, 42.0f) == 0);
  float *got = v ? t_read(v) : NULL;
  for (int i = 0; got && i < 37 * 11; i++)
    if (got[i] != (i % 11 == 3 ? 42.0f : src[i])) {
      CHECK(got[i] == (i % 11 == 3 ? 42.0f : src[i]));
      break;
    }
  free(got);
  free(src);
  lundi_release(col);
  lundi_release(vc);
  lundi_release(hc);
  lundi_release(vt);
  lundi_release(ht);
  lundi_release(v);
  lundi_release(h);
  /* A request beyond what one allocation may hold says how much was asked for. */
  int64_t huge = (int64_t)1 << 36;
  CHECK_ERR(lundi_empty(1, &huge, LUNDI_F32, d), "274877906944 bytes");
  /* The same through staging buffers (device memory not mapped), in a fresh process. */
  if (!getenv("LUNDI_TEST_CHILD")) {
    const char *env[] = {"LUNDI_VULKAN_STAGING", "1", NULL};
    CHECK(run_child("roundtrip", env) == 0);
  }
}

/* ulps between two finite floats of the same sign region (for the div tolerance). */
static int64_t ulp_dist(float a, float b) {
  int32_t ia, ib;
  memcpy(&ia, &a, 4);
  memcpy(&ib, &b, 4);
  int64_t x = ia < 0 ? (int64_t)INT32_MIN - ia : ia, y = ib < 0 ? (int64_t)INT32_MIN - ib : ib;
  return x > y ? x - y : y - x;
}

typedef struct {
  int na, nb;
  int64_t a[6], b[6];
} shape_pair;

/* Runs op on device tensors through the dispatcher into a view placed inside a larger
 * sentinel-filled storage, so writes past either end would show. */
static lundi_tensor *binary_into_sentinel(lundi_device *d, int op, lundi_tensor *a, lundi_tensor *b, int nd,
                                          const int64_t *shape, lundi_tensor **whole) {
  int64_t n = 1;
  for (int i = 0; i < nd; i++) n *= shape[i];
  int64_t total = n + 5 + 37;
  *whole = lundi_empty(1, &total, LUNDI_F32, d);
  if (!*whole || lundi_fill_(*whole, 12345.0f)) return NULL;
  lundi_tensor *mid = lundi_slice(*whole, 0, 5, 5 + n, 1);
  lundi_tensor *out = mid ? lundi_reshape(mid, nd, shape) : NULL;
  lundi_release(mid);
  lundi_tensor *ea = out ? lundi_expand(a, nd, shape) : NULL, *eb = ea ? lundi_expand(b, nd, shape) : NULL;
  int rc = -1;
  if (eb) {
    lundi_kcall c = {.id = LUNDI_K_BINARY, .n_in = 2, .n_out = 1, .in = {ea, eb}, .out = {out}, .i = {op}};
    rc = lundi__dispatch(&c);
  }
  lundi_release(ea);
  lundi_release(eb);
  if (rc) {
    lundi_release(out);
    return NULL;
  }
  return out;
}

static void binary_vs_cpu(void) {
  lundi_device *d = need_device();
  const shape_pair pairs[] = {
      {3, 2, {3, 1, 7}, {5, 1}},
      {4, 1, {2, 3, 4, 5}, {5}},
      {1, 6, {1}, {4, 1, 3, 1, 2, 3}},
      {6, 6, {2, 3, 1, 2, 5, 3}, {2, 1, 4, 1, 5, 1}},
      {2, 2, {257, 129}, {1, 129}},
      {0, 2, {0}, {7, 3}},
      {1, 1, {1000003}, {1000003}},
      {3, 3, {9, 1, 31}, {1, 13, 1}},
  };
  const char *names[] = {"add", "sub", "mul", "div", "max", "min", "eq", "gt", "ge"};
  lundi_rng rng = lundi_rng_make(11);
  for (size_t p = 0; p < sizeof pairs / sizeof *pairs; p++) {
    lundi_tensor *ha = t_randn(&rng, pairs[p].na, pairs[p].a, 1.0f, 0);
    lundi_tensor *hb = t_randn(&rng, pairs[p].nb, pairs[p].b, 1.0f, 0);
    if (p == 3) { /* a transposed (strided) input as well */
      lundi_tensor *t = lundi_transpose(ha, 1, 4);
      lundi_tensor *c = lundi_contiguous(t);
      lundi_release(t);
      lundi_release(ha);
      ha = lundi_transpose(c, 1, 4); /* shape back to {2,3,1,2,5,3}, non-contiguous */
      lundi_release(c);
    }
    lundi_tensor *va = lundi_to_device(ha, d), *vb = lundi_to_device(hb, d);
    CHECK(va && vb);
    if (!va || !vb) continue;
    if (p == 3) {
      lundi_tensor *t = lundi_transpose(va, 1, 4); /* keep the device input strided too */
      lundi_release(va);
      va = lundi_transpose(t, 1, 4);
      lundi_release(t);
    }
    for (int op = LUNDI_BIN_ADD; op <= LUNDI_BIN_GE; op++) {
      lundi_tensor *ref = NULL;
      switch (op) { /* the CPU through the public ops where they exist */
      case LUNDI_BIN_ADD: ref = lundi_add(ha, hb); break;
      case LUNDI_BIN_SUB: ref = lundi_sub(ha, hb); break;
      case LUNDI_BIN_MUL: ref = lundi_mul(ha, hb); break;
      case LUNDI_BIN_DIV: ref = lundi_div(ha, hb); break;
      default: break;
      }
      lundi_tensor *hwhole = NULL, *vwhole = NULL;
      int nd = lundi_ndim(ha) > lundi_ndim(hb) ? lundi_ndim(ha) : lundi_ndim(hb);
      int64_t shape[6];
      for (int i = 0; i < nd; i++) {
        int64_t x = lundi_dim(ha, i - nd), y = lundi_dim(hb, i - nd);
        shape[i] = x == 1 ? y : x;
      }
      lundi_tensor *hout = binary_into_sentinel(lundi_cpu(), op, ha, hb, nd, shape, &hwhole);
      lundi_tensor *vout = binary_into_sentinel(d, op, va, vb, nd, shape, &vwhole);
      CHECK(hout && vout);
      if (ref && hout) CHECK(t_max_abs_diff(ref, hout) == 0); /* dispatcher path == public op */
      float *x = hwhole ? t_read(hwhole) : NULL, *y = vwhole ? t_read(vwhole) : NULL;
      int64_t total = hwhole ? lundi_numel(hwhole) : 0, bad = 0, nan = 0, worst = 0;
      for (int64_t i = 0; x && y && i < total; i++) {
        nan += isnan(y[i]);
        int64_t u = ulp_dist(x[i], y[i]);
        worst = u > worst ? u : worst;
        /* add/sub/mul are correctly rounded in Vulkan, so bit-exact; x / y may be up to
         * 2.5 ulp off there (the spec's OpFDiv precision), so 2 ulp is allowed for div. */
        bad += u > (op == LUNDI_BIN_DIV ? 2 : 0) || (i < 5 || i >= total - 37 ? y[i] != 12345.0f : 0);
      }
      if (bad || nan || !x || !y)
        fprintf(stderr, "pair %zu op %s: %lld mismatches, %lld NaN, worst %lld ulp\n", p, names[op],
                (long long)bad, (long long)nan, (long long)worst);
      CHECK(x && y && bad == 0 && nan == 0);
      free(x);
      free(y);
      lundi_release(ref);
      lundi_release(hout);
      lundi_release(vout);
      lundi_release(hwhole);
      lundi_release(vwhole);
    }
    /* The public op on device tensors, then chained ops that depend on each other. */
    lundi_tensor *r1 = lundi_mul(va, vb), *r2 = r1 ? lundi_add(r1, va) : NULL, *r3 = r2 ? lundi_sub(r2, r1) : NULL;
    lundi_tensor *c1 = lundi_mul(ha, hb), *c2 = lundi_add(c1, ha), *c3 = lundi_sub(c2, c1);
    CHECK(r3 && t_max_abs_diff(r3, c3) == 0);
    lundi_release(r1);
    lundi_release(r2);
    lundi_release(r3);
    lundi_release(c1);
    lundi_release(c2);
    lundi_release(c3);
    lundi_release(va);
    lundi_release(vb);
    lundi_release(ha);
    lundi_release(hb);
  }
  CHECK(lundi_live_tensors() == 0);
}

static void unsupported_op_error(void) {
  lundi_device *d = need_device();
  int64_t n = 5;
  lundi_tensor *h = lundi_full(1, &n, 1.0f), *v = lundi_to_device(h, d);
  CHECK(v != NULL);
  /* A kernel missing from a backend is a clear error, never a silent CPU fallback. Every
   * Vulkan kernel exists, so a fake device lacks one: the real device's backend table and
   * state with conv2d's forward taken out. */
  lundi_backend partial = *d->backend;
  CHECK(!strcmp(partial.name, "vulkan"));
  partial.kernels[LUNDI_K_CONV2D_FWD] = NULL;
  lundi_device fake = {.backend = &partial, .name = "vulkan:fake", .is_host = 0, .impl = d->impl};
  int64_t s4[4] = {1, 1, 1, 5}, w4s[4] = {1, 1, 1, 1};
  lundi_tensor *h4 = lundi_full(4, s4, 2.0f), *x4 = lundi_to_device(h4, &fake);
  lundi_tensor *w4 = lundi_empty(4, w4s, LUNDI_F32, &fake);
  CHECK(x4 && w4 && lundi_fill_(w4, 1.0f) == 0);
  CHECK_ERR(x4 && w4 ? lundi_conv2d(x4, w4, NULL, NULL) : NULL, "op 'conv2d' is not implemented on the vulkan backend");
  CHECK(lundi_last_error_code() == LUNDI_EUNSUPPORTED);
  /* Opting in runs the op on the CPU, on copies, and the host kernel count shows it. */
  lundi_set_cpu_fallback(1);
  int64_t host0 = lundi_kernel_calls(1);
  lundi_tensor *fy = x4 && w4 ? lundi_conv2d(x4, w4, NULL, NULL) : NULL;
  float fgot[5] = {0};
  CHECK(fy && lundi_tensor_device(fy) == &fake && lundi_read_f32(fy, fgot, 5) == 0 && fgot[0] == 2.0f &&
        fgot[4] == 2.0f);
  CHECK(lundi_kernel_calls(1) > host0);
  lundi_release(fy);
  lundi_set_cpu_fallback(0);
  /* The real device has the kernel. */
  lundi_tensor *rx = lundi_to_device(h4, d), *hw = lundi_full(4, w4s, 1.0f), *rw = lundi_to_device(hw, d);
  lundi_tensor *ry = rx && rw ? lundi_conv2d(rx, rw, NULL, NULL) : NULL;
  float got[5] = {0};
  CHECK(ry && lundi_read_f32(ry, got, 5) == 0 && got[0] == 2.0f && got[4] == 2.0f);
  lundi_release(ry);
  lundi_release(rx);
  lundi_release(rw);
  lundi_release(hw);
  lundi_release(x4);
  lundi_release(w4);
  lundi_release(h4);
  lundi_tensor *f16 = lundi_to_dtype(h, LUNDI_F16), *vf16 = f16 ? lundi_to_device(f16, d) : NULL;
  CHECK(vf16 != NULL);
  CHECK_ERR(vf16 ? lundi_fill_(vf16, 1) : 0, "fill: f16 tensors are not supported on vulkan");
  lundi_tensor *mixed[2] = {v, h};
  CHECK_ERR(v ? lundi_add(mixed[0], mixed[1]) : NULL, "different devices");
  lundi_release(vf16);
  lundi_release(f16);
  lundi_release(v);
  lundi_release(h);
}

/* With no driver the count is 0, the reason is a sentence, and the CPU still works. The
 * loader reads VK_DRIVER_FILES (VK_ICD_FILENAMES before loader 1.3.207) at its first use,
 * so the check runs in a fresh process. */
static void no_driver_message(void) {
  if (!getenv("LUNDI_TEST_CHILD")) {
    const char *env[] = {"VK_DRIVER_FILES", "/nonexistent.json", "VK_ICD_FILENAMES", "/nonexistent.json", NULL};
    CHECK(run_child("no_driver_message", env) == 0);
    return;
  }
  CHECK(lundi_device_count() == 0);
  const char *why = lundi_vulkan_unavailable_reason();
  printf("reason: %s\n", why);
  CHECK(strlen(why) > 20 && !strncmp(why, "Vulkan is not available", 23));
  CHECK_ERR(lundi_vulkan_device(-1), "Vulkan is not available");
  lundi_device_info in;
  CHECK_ERR(lundi_device_get_info(0, &in), "no Vulkan device 0");
  int64_t n = 3;
  lundi_tensor *t = lundi_full(1, &n, 2.0f), *u = lundi_add(t, t);
  float v[3] = {0};
  CHECK(u && lundi_read_f32(u, v, 3) == 0 && v[0] == 4.0f && v[2] == 4.0f);
  lundi_release(u);
  lundi_release(t);
}

static const test_case cases[] = {
    {"enumerate", enumerate},
    {"roundtrip", roundtrip},
    {"binary_vs_cpu", binary_vs_cpu},
    {"unsupported_op_error", unsupported_op_error},
    {"no_driver_message", no_driver_message},
};
TEST_MAIN(cases)
