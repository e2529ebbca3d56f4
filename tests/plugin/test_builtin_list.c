/* The built-in plugins come from the builtin_plugins list in plugins/meson.build (expanded into
 * builtin_list.h); lundi_registry_load_builtins() registers them in that order. */
#include "harness.h"
#include "lundi/plugin.h"

static void test_order(void) {
  static const char *const want[] = {"scheduler ddpm",  "scheduler ddim",  "denoiser unet2d",
                                     "conditioner class", "sampler image", "scheduler euler",
                                     "scheduler euler_ancestral", "scheduler heun", "scheduler dpmpp_2m",
                                     "denoiser transformer", "scheduler masked", "sampler llada", "sampler ar",
                                     "denoiser unet1d", "conditioner obs"};
  int n = (int)(sizeof want / sizeof *want);
  lundi_registry *r = lundi_registry_new();
  CHECK(lundi_registry_load_builtins(r) == 0);
  CHECK(lundi_registry_count(r) == n);
  for (int i = 0; i < n && i < lundi_registry_count(r); i++) {
    const lundi_plugin_desc *d = lundi_plugin_info(lundi_registry_at(r, i));
    char got[96];
    snprintf(got, sizeof got, "%s %s", lundi_plugin_kind_name(d->kind), d->name);
    if (strcmp(got, want[i]) != 0) fprintf(stderr, "builtin %d: got '%s', want '%s'\n", i, got, want[i]);
    CHECK(strcmp(got, want[i]) == 0);
    CHECK(strcmp(lundi_plugin_origin(lundi_registry_at(r, i)), "builtin") == 0);
  }
  lundi_registry_free(r);
}

static const test_case TESTS[] = {{"builtin_list_order", test_order}};
TEST_MAIN(TESTS)
