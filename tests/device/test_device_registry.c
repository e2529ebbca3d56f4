/* The device registry (runtime/device): the one parser of device names, the list of names
 * in messages, resolving and opening, LUNDI_DEVICE, auto without a driver, the memory hook
 * and the checks on a backend that registers itself. */
#include "harness.h"

#include "device/registry.h"

static int backend(const char *name) {
  for (int b = 0; b < lundi_backend_count(); b++)
    if (!strcmp(lundi_backend_name(b), name)) return b;
  return -1;
}

static void parse(void) {
  int cpu = backend("cpu"), vk = backend("vulkan");
  CHECK(cpu == 0 && vk == 1 && lundi_backend_count() == 2); /* meson's list, in order */
  lundi_device_spec s;
  CHECK(lundi_device_parse("cpu", &s) == 0 && !s.is_auto && s.backend == cpu && s.index == -1);
  CHECK(lundi_device_parse("vulkan", &s) == 0 && s.backend == vk && s.index == -1);
  CHECK(lundi_device_parse("vulkan:0", &s) == 0 && s.backend == vk && s.index == 0);
  CHECK(lundi_device_parse("vulkan:12", &s) == 0 && s.backend == vk && s.index == 12);
  CHECK(lundi_device_parse("auto", &s) == 0 && s.is_auto && s.backend == -1);
  CHECK(lundi_device_parse("", &s) == 0 && s.is_auto);
  CHECK(lundi_device_parse(NULL, &s) == 0 && s.is_auto);
  /* Malformed: EINVAL, with the backend kept when its name is right. */
  CHECK(lundi_device_parse("vulkan:x", &s) == LUNDI_EINVAL && s.backend == vk);
  CHECK(!strcmp(lundi_last_error(), "unknown device 'vulkan:x' (expected cpu, vulkan, vulkan:N or auto)"));
  const char *bad[] = {"vulkan:", "vulkan:-1", "vulkan:+1", "vulkan: 1", "vulkan:1x", "vulkan:1234567",
                       "cpu:0", ":0", "Vulkan", "vulkan:0:1", "gpu!"};
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
    int rc = lundi_device_parse(bad[i], &s);
    CHECK(rc == LUNDI_EINVAL);
    if (rc != LUNDI_EINVAL) fprintf(stderr, "  '%s' parsed (%d)\n", bad[i], rc);
  }
  /* Well-formed but no such backend (a plugin loaded later may add it). */
  CHECK(lundi_device_parse("cuda:0", &s) == LUNDI_EUNSUPPORTED && s.backend == -1);
  CHECK(!strcmp(lundi_last_error(), "unknown device 'cuda:0' (expected cpu, vulkan, vulkan:N or auto)"));
  CHECK(lundi_device_parse("gpu", &s) == LUNDI_EUNSUPPORTED);
  CHECK_ERR(lundi_device_from_name("cuda:0"), "unknown device 'cuda:0'");
}

static void names(void) {
  char buf[256];
  CHECK(!strcmp(lundi_device_names(buf, sizeof buf, 0), "cpu, vulkan or vulkan:N"));
  CHECK(!strcmp(lundi_device_names(buf, sizeof buf, 1), "cpu, vulkan, vulkan:N or auto"));
  char small[8];
  lundi_device_names(small, sizeof small, 1); /* truncated, still terminated */
  CHECK(strlen(small) == 7);
}

static void resolve_and_open(void) {
  int cpu = backend("cpu"), vk = backend("vulkan");
  lundi_device_spec s = {.is_auto = 0, .backend = cpu, .index = -1};
  CHECK(lundi_device_resolve(&s) == 0 && s.index == 0);
  CHECK(lundi_device_open(&s) == lundi_cpu() && lundi_device_from_name("cpu") == lundi_cpu());
  CHECK(lundi_device_backend(lundi_cpu()) == cpu);
  char id[32];
  CHECK(!strcmp(lundi_backend_device_name(cpu, 0, id, sizeof id), "cpu"));
  CHECK(!strcmp(lundi_backend_device_name(vk, 3, id, sizeof id), "vulkan:3"));
  int n = lundi_backend_device_count(vk);
  CHECK(n == lundi_device_count());
  s = (lundi_device_spec){.is_auto = 0, .backend = vk, .index = 99};
  if (n) CHECK_ERR(lundi_device_resolve(&s), "vulkan:99: no such device; ");
  else CHECK_ERR(lundi_device_resolve(&s), "Vulkan is not available");
  /* Auto: a device of rank >= LUNDI_RANK_AUTO, else the CPU; never a software GPU. */
  s = (lundi_device_spec){.is_auto = 1, .backend = -1, .index = -1};
  CHECK(lundi_device_resolve(&s) == 0 && !s.is_auto && s.backend >= 0);
  if (s.backend != cpu) CHECK(lundi__backend(s.backend)->rank(s.index) >= LUNDI_RANK_AUTO);
  for (int i = 0; i < n; i++) { /* a software GPU (lavapipe) is slower than the CPU backend */
    lundi_device_info info;
    CHECK(lundi_backend_device_info(vk, i, &info) == 0);
    if (strcmp(info.type, "cpu")) continue;
    CHECK(lundi__backend(vk)->rank(i) == LUNDI_RANK_SOFTWARE);
    CHECK(!(s.backend == vk && s.index == i));
  }
  lundi_device *d = lundi_device_from_name("auto");
  CHECK(d && lundi_device_backend(d) == s.backend);
  if (n) { /* the backend's name alone takes its best device, a software one included */
    lundi_device *v = lundi_device_from_name("vulkan");
    CHECK(v && lundi_device_backend(v) == vk && v == lundi_vulkan_device(-1));
  }
}

static void env(void) {
  setenv("LUNDI_DEVICE", "cpu", 1);
  CHECK(!strcmp(lundi_device_env(), "cpu") && lundi_device_from_env() == lundi_cpu());
  setenv("LUNDI_DEVICE", "gpu", 1);
  CHECK_ERR(lundi_device_from_env(), "unknown device 'gpu'");
  CHECK(lundi_default_device() == lundi_cpu()); /* a bad LUNDI_DEVICE: library users get the CPU */
  unsetenv("LUNDI_DEVICE");
  CHECK(lundi_device_env() == NULL && lundi_device_from_env() != NULL);
  lundi_set_default_device(lundi_cpu());
  CHECK(lundi_default_device() == lundi_cpu());
}

/* Run with VK_ICD_FILENAMES pointing nowhere: no Vulkan device. */
static void no_driver(void) {
  int vk = backend("vulkan");
  CHECK(lundi_backend_device_count(vk) == 0);
  CHECK(!strncmp(lundi_backend_unavailable(vk), "Vulkan is not available", 23));
  CHECK(!strcmp(lundi_backend_unavailable(backend("cpu")), ""));
  CHECK(lundi_device_from_name("auto") == lundi_cpu());
  CHECK(strstr(lundi_device_auto_note(), "driver") != NULL);
  CHECK_ERR(lundi_device_from_name("vulkan"), "Vulkan is not available");
  CHECK_ERR(lundi_device_from_name("vulkan:0"), "Vulkan is not available");
  lundi_device_info info;
  CHECK_ERR(lundi_backend_device_info(vk, 0, &info), "no Vulkan device");
  CHECK(lundi_backend_device_info(backend("cpu"), 0, &info) == 0 && !strcmp(info.backend, "cpu"));
}

static void memory(void) {
  uint64_t used, reserved;
  int64_t shape[1] = {1000};
  lundi_tensor *t = lundi_zeros(1, shape);
  CHECK(lundi_device_memory(lundi_cpu(), &used, &reserved) == 0);
  CHECK(used == (uint64_t)lundi_live_storage_bytes() && reserved == used && used >= 4000);
  lundi_release(t);
  CHECK_ERR(lundi_device_memory(NULL, &used, &reserved), "device is NULL");
}

static lundi_device *no_open(int i) { return (void)i, NULL; }
static int no_count(void) { return 0; }

static void registration(void) {
  const lundi_backend_desc *cpu = lundi__backend(backend("cpu"));
  lundi_backend_desc d = *cpu;
  int n = lundi_backend_count();
  CHECK(lundi__backend_register(cpu, "test") == 0 && lundi_backend_count() == n); /* again: no-op */
  CHECK_ERR(lundi__backend_register(&d, "x.so"), "x.so: a backend named 'cpu' is already registered");
  d.name = "auto";
  CHECK_ERR(lundi__backend_register(&d, "x.so"), "backend name 'auto' is not valid");
  d.name = "My-GPU";
  CHECK_ERR(lundi__backend_register(&d, "x.so"), "backend name 'My-GPU' is not valid");
  d.name = "old";
  d.kernel_count = LUNDI_K_COUNT - 1;
  CHECK_ERR(lundi__backend_register(&d, "x.so"), "was built for");
  d.kernel_count = LUNDI_K_COUNT;
  d.open = NULL;
  CHECK_ERR(lundi__backend_register(&d, "x.so"), "lacks one of");
  CHECK(lundi_backend_count() == n);
  /* A backend with no device: listed, refused by name with its own words, skipped by auto. */
  static lundi_backend_desc empty;
  empty = *cpu;
  empty.name = "empty", empty.label = "empty", empty.single = 0;
  empty.device_count = no_count, empty.open = no_open, empty.unavailable = NULL;
  CHECK(lundi__backend_register(&empty, "test") == 0 && lundi_backend_count() == n + 1);
  CHECK_ERR(lundi_device_from_name("empty"), "empty: no empty device found");
  char buf[256];
  CHECK(!strcmp(lundi_device_names(buf, sizeof buf, 0), "cpu, vulkan, vulkan:N, empty or empty:N"));
  CHECK(lundi_device_from_name("auto") != NULL);
}

/* lundi_device_entry_at against the backends' own listing: every device in order, then a
 * backend whose first device cannot describe itself and whose second names no type. */
static int two(void) { return 2; }
static int flaky_info(int i, lundi_device_info *out) {
  if (i == 0) return lundi_set_error(LUNDI_EINVAL, "flaky: device 0 says nothing");
  memset(out, 0, sizeof *out);
  snprintf(out->name, sizeof out->name, "the second one");
  return 0;
}

static void entries(void) {
  lundi_device_entry e;
  int k = 0;
  for (int b = 0; b < lundi_backend_count(); b++)
    for (int i = 0; i < lundi_backend_device_count(b); i++, k++) {
      lundi_device_info info;
      char name[64];
      CHECK(lundi_backend_device_info(b, i, &info) == 0 && lundi_device_entry_at(k, &e) == 1);
      CHECK(!strcmp(e.name, lundi_backend_device_name(b, i, name, sizeof name)));
      CHECK(!strcmp(e.info.backend, lundi_backend_name(b)) && !strcmp(e.info.name, info.name));
      CHECK(!strcmp(e.info.type, info.type ? info.type : "other"));
    }
  CHECK(k >= 1 && !strcmp((lundi_device_entry_at(0, &e), e.name), "cpu"));
  CHECK(lundi_device_entry_at(k, &e) == 0 && lundi_device_entry_at(k + 5, &e) == 0);
  static lundi_backend_desc flaky;
  flaky = *lundi__backend(backend("cpu"));
  flaky.name = "flaky", flaky.label = "flaky", flaky.single = 0;
  flaky.device_count = two, flaky.device_info = flaky_info;
  CHECK(lundi__backend_register(&flaky, "test") == 0);
  lundi_clear_error();
  CHECK(lundi_device_entry_at(k, &e) == 1 && !strcmp(e.name, "flaky:1"));
  CHECK(!strcmp(e.info.type, "other") && !strcmp(e.info.name, "the second one") && !strcmp(e.info.backend, "flaky"));
  CHECK(!strcmp(lundi_last_error(), "")); /* device 0's failure is left out too */
  CHECK(lundi_device_entry_at(k + 1, &e) == 0);
}

/* lundi_to_default_device takes over its tensor: kept when already there, else moved. */
static void to_default_device(void) {
  int64_t shape[1] = {3};
  lundi_set_default_device(lundi_cpu());
  lundi_tensor *t = lundi_full(1, shape, 2.0f);
  int64_t live = lundi_live_tensors();
  CHECK(lundi_to_default_device(t) == t && lundi_live_tensors() == live);
  CHECK(lundi_to_default_device(NULL) == NULL);
  lundi_device *vk = lundi_device_from_name("vulkan"); /* lavapipe counts */
  if (vk) {
    lundi_set_default_device(vk);
    lundi_tensor *m = lundi_to_default_device(t); /* t released */
    float v[3] = {0};
    CHECK(m && m != t && lundi_tensor_device(m) == vk && lundi_live_tensors() == live);
    CHECK(m && lundi_read_f32(m, v, 3) == 0 && v[0] == 2.0f && v[2] == 2.0f);
    t = m;
    lundi_set_default_device(lundi_cpu());
  }
  lundi_clear_error();
  lundi_release(t);
}

static const test_case TESTS[] = {
    {"to_default_device", to_default_device},
    {"entries", entries},
    {"parse", parse}, {"names", names}, {"resolve_and_open", resolve_and_open}, {"env", env},
    {"no_driver", no_driver}, {"memory", memory}, {"registration", registration},
};
TEST_MAIN(TESTS)
