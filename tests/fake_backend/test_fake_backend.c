/* The fake backend (fake_backend.c), loaded at run time like any plugin file: the registry
 * lists it, its names parse, its device holds tensors that its own kernels fill and copy,
 * and auto-selection leaves it alone. */
#include "harness.h"

#include "lundi/device.h"
#include "lundi/plugin.h"

static int fake_backend(void) {
  static int b = -2;
  if (b != -2) return b;
  const char *so = getenv("LUNDI_TEST_FAKE_SO");
  lundi_registry *r = lundi_registry_new();
  CHECK(so && r && lundi_registry_load_file(r, so) == 0);
  lundi_registry_free(r); /* the backend outlives the registry that loaded it */
  b = -1;
  for (int i = 0; i < lundi_backend_count(); i++)
    if (!strcmp(lundi_backend_name(i), "fake")) b = i;
  return b;
}

static void listed(void) {
  int n0 = lundi_backend_count();
  int b = fake_backend();
  CHECK(b >= 0 && lundi_backend_count() == n0 + 1);
  CHECK(lundi_backend_device_count(b) == 1 && !lundi_backend_is_single(b));
  lundi_device_info info;
  CHECK(lundi_backend_device_info(b, 0, &info) == 0);
  CHECK(!strcmp(info.backend, "fake") && info.index == 0 && strstr(info.name, "fake"));
  char names[256];
  CHECK(!strcmp(lundi_device_names(names, sizeof names, 1), "cpu, vulkan, vulkan:N, fake, fake:N or auto"));
  /* Loading the file again (another registry) registers nothing twice. */
  lundi_registry *r = lundi_registry_new();
  CHECK(lundi_registry_load_file(r, getenv("LUNDI_TEST_FAKE_SO")) == 0);
  lundi_registry_free(r);
  CHECK(lundi_backend_count() == n0 + 1);
}

static void names(void) {
  int b = fake_backend();
  lundi_device_spec s;
  CHECK(lundi_device_parse("fake:0", &s) == 0 && s.backend == b && s.index == 0);
  CHECK(lundi_device_parse("fake", &s) == 0 && s.backend == b && s.index == -1);
  lundi_device *d = lundi_device_from_name("fake:0");
  CHECK(d && !strcmp(lundi_device_name(d), "fake:0") && lundi_device_backend(d) == b);
  CHECK(lundi_device_from_name("fake") == d);
  CHECK_ERR(lundi_device_from_name("fake:5"), "fake:5: no such device; 1 fake device found");
  CHECK_ERR(lundi_device_from_name("fake:x"), "expected cpu, vulkan, vulkan:N, fake, fake:N or auto");
  /* Auto never picks a device that ranks below a virtual GPU. */
  CHECK(lundi_device_from_name("auto") != d);
}

static void fill_and_copy(void) {
  fake_backend();
  lundi_device *d = lundi_device_from_name("fake:0");
  CHECK(d != NULL);
  if (!d) return;
  uint64_t used0, used1, reserved;
  CHECK(lundi_device_memory(d, &used0, &reserved) == 0);
  int64_t shape[2] = {3, 5};
  lundi_tensor *t = lundi_empty(2, shape, LUNDI_F32, d);
  CHECK(t && lundi_tensor_device(t) == d);
  CHECK(lundi_device_memory(d, &used1, &reserved) == 0 && used1 == used0 + 15 * sizeof(float));
  CHECK(t && lundi_fill_(t, 2.5f) == 0);
  lundi_tensor *col = t ? lundi_slice(t, 1, 1, 2, 1) : NULL; /* a strided view: column 1 */
  CHECK(col && lundi_fill_(col, -1.0f) == 0);
  float *got = t ? t_read(t) : NULL; /* downloads through the backend */
  for (int i = 0; got && i < 15; i++) CHECK(got[i] == (i % 5 == 1 ? -1.0f : 2.5f));
  free(got);
  /* A transposed view made contiguous runs the backend's copy kernel. */
  float src[15];
  for (int i = 0; i < 15; i++) src[i] = (float)i;
  lundi_tensor *h = lundi_from_f32(2, shape, src), *v = lundi_to_device(h, d);
  lundi_tensor *vt = v ? lundi_transpose(v, 0, 1) : NULL, *vc = vt ? lundi_contiguous(vt) : NULL;
  CHECK(vc && lundi_tensor_device(vc) == d && lundi_is_contiguous(vc));
  got = vc ? t_read(vc) : NULL;
  for (int i = 0; got && i < 15; i++) CHECK(got[i] == src[i % 3 * 5 + i / 3]);
  free(got);
  /* Anything else is not implemented there, and says so. */
  CHECK_ERR(lundi_add(v, v), "not implemented on the fake backend");
  lundi_release(vc), lundi_release(vt), lundi_release(v), lundi_release(h);
  lundi_release(col), lundi_release(t);
  CHECK(lundi_device_memory(d, &used1, &reserved) == 0 && used1 == used0);
}

static const test_case TESTS[] = {{"listed", listed}, {"names", names}, {"fill_and_copy", fill_and_copy}};
TEST_MAIN(TESTS)
