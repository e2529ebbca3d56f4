/* Shared objects for the loader tests, one per define:
 *   LUNDI_TEST_WRONG_ABI     exports lundi_plugin_abi_version = LUNDI_ABI_VERSION + 1
 *   LUNDI_TEST_FAILING_INIT  registers a plugin, then fails (the loader must roll it back)
 *   LUNDI_TEST_NO_INIT       exports the ABI version but no entry point
 *   LUNDI_TEST_NOT_PLUGIN    an ordinary shared object with one function
 * The entry points leave a trace in the environment (the test reads it back), since the
 * module and the test executable share nothing else. */
#include "lundi/plugin.h"

#include <stdlib.h>

#ifdef LUNDI_TEST_NOT_PLUGIN
__attribute__((visibility("default"))) int some_function(int x) { return x + 1; }
#else

static lundi_tensor *no_tensor(void *self, lundi_tensor *a, lundi_tensor *b, lundi_tensor *c) {
  (void)self, (void)a, (void)b, (void)c;
  return NULL;
}
static int zero(void *self) { (void)self; return 1; }
static int set_ts(void *self, int n) { (void)self, (void)n; return 0; }
static double ts(void *self, int i) { (void)self, (void)i; return 0; }
static lundi_tensor *step(void *self, lundi_tensor *m, int i, lundi_tensor *x, lundi_rng *rng) {
  (void)self, (void)m, (void)i, (void)x, (void)rng;
  return NULL;
}
static const lundi_scheduler_api api = {zero, no_tensor, no_tensor, set_ts, zero, ts, NULL, NULL, step, NULL, NULL, NULL};
static int create(void *user, const lundi_params *p, void **self) {
  (void)user, (void)p;
  *self = NULL;
  return 0;
}
static void release(void *user) { setenv("LUNDI_TEST_RELEASED", (const char *)user, 1); }

static int init(lundi_registry *r) {
  setenv("LUNDI_TEST_INIT_RAN", "1", 1);
  lundi_plugin_desc d = {.abi_version = LUNDI_ABI_VERSION, .kind = LUNDI_SCHEDULER, .name = "from_test_module",
                         .version = "0", .description = "test", .create = create, .api = &api,
                         .user = "rolled_back", .release_user = release};
  int rc = lundi_register(r, &d, NULL);
#ifdef LUNDI_TEST_FAILING_INIT
  if (rc == 0) rc = lundi_set_error(LUNDI_EINVAL, "the test module refuses to finish");
#endif
  return rc;
}

#if defined(LUNDI_TEST_WRONG_ABI)
__attribute__((visibility("default"))) const int lundi_plugin_abi_version = LUNDI_ABI_VERSION + 1;
__attribute__((visibility("default"))) int lundi_plugin_init(lundi_registry *r) { return init(r); }
#elif defined(LUNDI_TEST_NO_INIT)
__attribute__((visibility("default"))) const int lundi_plugin_abi_version = LUNDI_ABI_VERSION;
__attribute__((visibility("default"))) int not_the_entry(lundi_registry *r) { return init(r); }
#else
LUNDI_PLUGIN_ENTRY(init)
#endif
#endif
