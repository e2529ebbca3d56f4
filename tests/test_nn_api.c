/* The nn calls behind lundi.nn: sorting parameter lists by name (runtime/nn/param_list.c), as
 * for a Lua map name -> tensor so the order is reproducible, and the forward of a layer by
 * its type name (runtime/nn/forward.c). */
#include "harness.h"

static void check_order(const lundi_param_list *l, const char *const *names, lundi_tensor *const *ts, int n) {
  CHECK(l->n == n);
  for (int i = 0; i < n && i < l->n; i++) {
    CHECK(!strcmp(l->names[i], names[i]));
    CHECK(l->tensors[i] == ts[i]);
  }
}

static void test_sort_by_name(void) {
  int64_t s[1] = {1};
  lundi_tensor *a = lundi_zeros(1, s), *b = lundi_zeros(1, s), *c = lundi_zeros(1, s), *d = lundi_zeros(1, s);
  lundi_param_list l = {0};
  CHECK(lundi_param_list_push(&l, "w", c) == 0);
  CHECK(lundi_param_list_push(&l, "bias", a) == 0);
  CHECK(lundi_param_list_push(&l, "b", b) == 0);
  CHECK(lundi_param_list_push(&l, "w.1", d) == 0);
  lundi_param_list_sort(&l);
  const char *const names[] = {"b", "bias", "w", "w.1"};
  lundi_tensor *const ts[] = {b, a, c, d}; /* each tensor moved with its name */
  check_order(&l, names, ts, 4);
  lundi_param_list_sort(&l); /* sorted stays sorted */
  check_order(&l, names, ts, 4);
  lundi_param_list_free(&l);
  lundi_release(a);
  lundi_release(b);
  lundi_release(c);
  lundi_release(d);
}

static void test_sort_edges(void) {
  lundi_param_list l = {0};
  lundi_param_list_sort(NULL); /* nothing to do, no crash */
  lundi_param_list_sort(&l);
  CHECK(l.n == 0);
  int64_t s[1] = {1};
  lundi_tensor *a = lundi_zeros(1, s);
  CHECK(lundi_param_list_push(&l, "only", a) == 0);
  lundi_param_list_sort(&l);
  const char *const names[] = {"only"};
  check_order(&l, names, &a, 1);
  lundi_param_list_free(&l);
  lundi_release(a);
}

static void layer_forward(void) {
  lundi_rng r = lundi_rng_make(1);
  lundi_module *lin = lundi_linear_new(3, 2, 1, &r), *mha = lundi_mha_new(4, 2, 0, 1, &r);
  lundi_module *box = lundi_module_new("Box");
  int64_t s[2] = {5, 3}, s4[3] = {1, 5, 4};
  lundi_tensor *x = lundi_zeros(2, s), *x4 = lundi_zeros(3, s4);
  lundi_tensor *a = lundi_layer_forward(lin, x, NULL, NULL, 0), *b = lundi_linear_forward(lin, x);
  CHECK(a && b && t_max_abs_diff(a, b) == 0); /* dispatched by the type name */
  lundi_tensor *c = lundi_layer_forward(mha, x4, NULL, NULL, 1), *d = lundi_mha_forward(mha, x4, NULL, NULL, 1);
  CHECK(c && d && t_max_abs_diff(c, d) == 0);
  CHECK_ERR(lundi_layer_forward(box, x, NULL, NULL, 0), "forward: a Box module has no forward of its own");
  CHECK_ERR(lundi_layer_forward(NULL, x, NULL, NULL, 0), "forward: module and input must be non-NULL");
  lundi_release(a);
  lundi_release(b);
  lundi_release(c);
  lundi_release(d);
  lundi_release(x);
  lundi_release(x4);
  lundi_module_free(lin);
  lundi_module_free(mha);
  lundi_module_free(box);
}

static const test_case tests[] = {
    {"sort_by_name", test_sort_by_name},
    {"sort_edges", test_sort_edges},
    {"layer_forward", layer_forward},
};
TEST_MAIN(tests)
