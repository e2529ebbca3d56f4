/* Parameter lists (runtime/nn/param_list.c): sorting by name, as lundi.optim and
 * lundi.save_tensors do for a Lua map name -> tensor so the order is reproducible. */
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

static const test_case tests[] = {
    {"sort_by_name", test_sort_by_name},
    {"sort_edges", test_sort_edges},
};
TEST_MAIN(tests)
