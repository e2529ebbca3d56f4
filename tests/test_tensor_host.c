/* What a host language binding asks of a tensor beyond its values: dtype names both ways,
 * integral dtypes, byte sizes, numbers as 0-dim tensors on a device, and when its garbage
 * collector should run (lundi_gc_pressure). */
#include "harness.h"

static void test_dtype_names(void) {
  const lundi_dtype all[] = {LUNDI_F32, LUNDI_F16, LUNDI_BF16, LUNDI_I32, LUNDI_U8};
  for (int i = 0; i < 5; i++) {
    lundi_dtype dt = (lundi_dtype)-1;
    CHECK(lundi_dtype_from_name(lundi_dtype_name(all[i]), &dt) == 0 && dt == all[i]);
  }
  lundi_dtype dt = LUNDI_I32;
  CHECK_ERR(lundi_dtype_from_name("float32", &dt) == 0, "unknown dtype 'float32' (expected f32, f16, bf16, i32 or u8)");
  CHECK(dt == LUNDI_I32); /* untouched on failure */
  CHECK(lundi_dtype_from_name("F32", &dt) == LUNDI_EINVAL);
  CHECK(lundi_dtype_from_name("f32x", &dt) == LUNDI_EINVAL && lundi_dtype_from_name("bf", &dt) == LUNDI_EINVAL);
  CHECK(lundi_dtype_from_name("", &dt) == LUNDI_EINVAL);
  CHECK(lundi_dtype_from_name(NULL, &dt) == LUNDI_EINVAL);
}

static void test_integral(void) {
  CHECK(lundi_dtype_is_integral(LUNDI_I32) && lundi_dtype_is_integral(LUNDI_U8));
  CHECK(!lundi_dtype_is_integral(LUNDI_F32) && !lundi_dtype_is_integral(LUNDI_F16) &&
        !lundi_dtype_is_integral(LUNDI_BF16));
}

static void test_nbytes(void) {
  int64_t shape[2] = {3, 7};
  const lundi_dtype all[] = {LUNDI_F32, LUNDI_F16, LUNDI_BF16, LUNDI_I32, LUNDI_U8};
  const int64_t size[] = {4, 2, 2, 4, 1};
  for (int i = 0; i < 5; i++) {
    lundi_tensor *t = lundi_empty(2, shape, all[i], NULL);
    CHECK(t && lundi_nbytes(t) == 21 * size[i]);
    lundi_release(t);
  }
  lundi_tensor *z = lundi_scalar(1), *base = lundi_zeros(2, shape), *v = lundi_slice(base, 1, 0, 7, 2);
  CHECK(lundi_nbytes(z) == 4);
  CHECK(v && lundi_nbytes(v) == 3 * 4 * 4); /* the view's elements, not its storage */
  lundi_release(z);
  lundi_release(v);
  lundi_release(base);
}

/* A collection is due once the bytes handed over exceed max(floor, live at the last one). */
static void test_gc_pressure(void) {
  lundi_gc_pressure p;
  lundi_gc_pressure_reset(&p);
  CHECK(p.pushed == 0 && p.live_at_collect == lundi_live_storage_bytes());
  int64_t mib[1] = {(1 << 20) / 4}; /* 1 MiB of f32 */
  lundi_tensor *t = lundi_zeros(1, mib);
  int due_at = 0;
  for (int i = 1; i <= 80 && !due_at; i++)
    if (lundi_gc_pressure_add(&p, t)) due_at = i;
  int64_t floor_mib = LUNDI_GC_PRESSURE_FLOOR >> 20;
  CHECK(p.live_at_collect < LUNDI_GC_PRESSURE_FLOOR); /* the floor decides here */
  CHECK(due_at == floor_mib + 1 && p.pushed == (floor_mib + 1) << 20);
  /* Above the floor, the live bytes at the last collection decide. */
  p.pushed = 0;
  p.live_at_collect = 2 * LUNDI_GC_PRESSURE_FLOOR;
  due_at = 0;
  for (int i = 1; i <= 200 && !due_at; i++)
    if (lundi_gc_pressure_add(&p, t)) due_at = i;
  CHECK(due_at == 2 * floor_mib + 1);
  lundi_gc_pressure_reset(&p);
  CHECK(p.pushed == 0 && p.live_at_collect == lundi_live_storage_bytes());
  lundi_release(t);
}

/* A number made a 0-dim tensor on a device (where(c, 1, x) and the like). */
static void test_scalar_on(void) {
  lundi_tensor *s = lundi_scalar_on(-2.5f, lundi_cpu());
  float v = 0;
  CHECK(s && lundi_ndim(s) == 0 && lundi_tensor_device(s) == lundi_cpu() && lundi_item(s, &v) == 0 && v == -2.5f);
  CHECK(s && lundi_tensor_dtype(s) == LUNDI_F32);
  lundi_release(s);
  int64_t live = lundi_live_tensors();
  s = lundi_scalar_on(7, lundi_cpu());
  CHECK(lundi_live_tensors() == live + 1); /* the host copy is not left behind */
  lundi_release(s);
  lundi_device *vk = lundi_device_from_name("vulkan"); /* a copy where there is a GPU (lavapipe counts) */
  if (!vk) return lundi_clear_error();
  s = lundi_scalar_on(3.25f, vk);
  CHECK(s && lundi_tensor_device(s) == vk && lundi_item(s, &v) == 0 && v == 3.25f);
  CHECK(lundi_live_tensors() == live + 1);
  lundi_release(s);
}

/* Host values in a dtype of choice: as lundi_from_f32 then lundi_to_dtype. */
static void test_from_f32_as(void) {
  int64_t shape[2] = {2, 2};
  const float v[4] = {1.5f, -2.0f, 3.0f, 65504.0f};
  const lundi_dtype all[] = {LUNDI_F32, LUNDI_F16, LUNDI_BF16, LUNDI_I32, LUNDI_U8};
  lundi_tensor *f = lundi_from_f32(2, shape, v);
  for (int i = 0; i < 5; i++) {
    lundi_tensor *t = lundi_from_f32_as(2, shape, v, all[i]), *ref = lundi_to_dtype(f, all[i]);
    lundi_tensor *a = t ? lundi_to_dtype(t, LUNDI_F32) : NULL, *b = lundi_to_dtype(ref, LUNDI_F32);
    CHECK(t && lundi_tensor_dtype(t) == all[i] && lundi_ndim(t) == 2 && lundi_dim(t, 1) == 2);
    CHECK(a && t_max_abs_diff(a, b) == 0);
    lundi_release(a);
    lundi_release(b);
    lundi_release(t);
    lundi_release(ref);
  }
  float back[4];
  lundi_tensor *t = lundi_from_f32_as(2, shape, v, LUNDI_F32);
  CHECK(lundi_read_f32(t, back, 4) == 0 && !memcmp(back, v, sizeof v));
  lundi_release(t);
  lundi_release(f);
}

static const test_case TESTS[] = {
    {"from_f32_as", test_from_f32_as},
    {"scalar_on", test_scalar_on},
    {"dtype_names", test_dtype_names},
    {"integral", test_integral},
    {"nbytes", test_nbytes},
    {"gc_pressure", test_gc_pressure},
};
TEST_MAIN(TESTS)
