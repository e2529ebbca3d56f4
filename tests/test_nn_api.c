/* The nn calls behind lundi.nn: sorting parameter lists by name (runtime/nn/param_list.c), as
 * for a Lua map name -> tensor so the order is reproducible, and the forward of a layer by
 * its type name (runtime/nn/forward.c), building one by its type name (layer_new.c), naming a
 * plain list by position (param_list.c) and a module's one-line description (module_describe.c). */
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


/* Every layer lundi.nn offers is described, and lundi_layer_new builds what the direct
 * constructor builds (same shapes, same draws from the same rng). */
static void layer_new(void) {
  const char *const types[] = {"Linear", "Conv2d", "Conv1d", "GroupNorm", "LayerNorm", "RMSNorm", "Embedding",
                               "MultiheadAttention"};
  const int sizes[] = {2, 3, 3, 2, 1, 1, 2, 2};
  CHECK(lundi_layer_count() == 8);
  for (int i = 0; i < 8; i++) {
    const lundi_layer_desc *d = lundi_layer_desc_at(i);
    CHECK(d && !strcmp(d->type, types[i]) && d->n_sizes == sizes[i]);
    CHECK(d && lundi_layer_desc_of(types[i]) == d);
    CHECK(d && d->context == (i == 7));
    CHECK(d && d->conv == (i == 1 || i == 2));
  }
  CHECK(lundi_layer_desc_at(-1) == NULL && lundi_layer_desc_at(8) == NULL);
  CHECK(lundi_layer_desc_of("Box") == NULL && lundi_layer_desc_of(NULL) == NULL);
  CHECK(lundi_layer_desc_of("GroupNorm")->options == NULL); /* eps is positional */
  CHECK(!strcmp(lundi_layer_desc_of("LayerNorm")->options[1], "affine"));

  lundi_layer_args a = lundi_layer_defaults(lundi_layer_desc_of("RMSNorm"));
  CHECK(a.eps == 1e-6f && a.bias == 1 && a.affine == 1 && a.kv_dim == 0 && a.rng == NULL);
  CHECK(lundi_layer_defaults(lundi_layer_desc_of("GroupNorm")).eps == 1e-5f);
  CHECK(lundi_layer_defaults(NULL).eps == 0);

  lundi_rng r1 = lundi_rng_make(7), r2 = lundi_rng_make(7);
  a = lundi_layer_defaults(lundi_layer_desc_of("Linear"));
  a.n[0] = 3, a.n[1] = 4, a.bias = 0, a.rng = &r1;
  lundi_module *m = lundi_layer_new("Linear", &a), *want = lundi_linear_new(3, 4, 0, &r2);
  CHECK(m && !strcmp(lundi_module_type(m), "Linear") && lundi_module_numel(m) == 12);
  CHECK(m && t_max_abs_diff(lundi_module_param(m, "weight"), lundi_module_param(want, "weight")) == 0);
  lundi_module_free(m);
  lundi_module_free(want);

  a = lundi_layer_defaults(lundi_layer_desc_of("Conv1d"));
  a.n[0] = 2, a.n[1] = 5, a.n[2] = 3, a.rng = &r1;
  m = lundi_layer_new("Conv1d", &a);
  CHECK(m && lundi_module_numel(m) == 2 * 5 * 3 + 5);
  lundi_module_free(m);
  a = lundi_layer_defaults(lundi_layer_desc_of("LayerNorm"));
  a.n[0] = 6, a.affine = 0;
  m = lundi_layer_new("LayerNorm", &a);
  CHECK(m && lundi_module_numel(m) == 0);
  lundi_module_free(m);
  a = lundi_layer_defaults(lundi_layer_desc_of("MultiheadAttention"));
  a.n[0] = 4, a.n[1] = 2, a.kv_dim = 6, a.rng = &r1;
  m = lundi_layer_new("MultiheadAttention", &a);
  CHECK(m && lundi_module_param(m, "k_proj.weight") && lundi_shape(lundi_module_param(m, "k_proj.weight"))[1] == 6);
  lundi_module_free(m);

  CHECK_ERR(lundi_layer_new("Box", &a), "layer_new: 'Box' is not a built-in layer");
  CHECK_ERR(lundi_layer_new(NULL, &a), "layer_new: type and arguments must be non-NULL");
  a = lundi_layer_defaults(lundi_layer_desc_of("Linear")); /* sizes 0: the constructor's own check */
  CHECK(lundi_layer_new("Linear", &a) == NULL);
}

static void push_next(void) {
  int64_t s[1] = {2};
  lundi_tensor *a = lundi_zeros(1, s), *b = lundi_zeros(1, s);
  lundi_param_list l = {0};
  CHECK(lundi_param_list_push_next(&l, a) == 0);
  CHECK(lundi_param_list_push_next(&l, b) == 0);
  CHECK(lundi_param_list_push_next(&l, a) == 0);
  const char *const names[] = {"1", "2", "3"};
  lundi_tensor *const ts[] = {a, b, a};
  check_order(&l, names, ts, 3);
  CHECK_ERR(lundi_param_list_push_next(&l, NULL), "param_list_push: list, name and tensor must be non-NULL");
  CHECK_ERR(lundi_param_list_push_next(NULL, a), "param_list_push:");
  lundi_param_list_free(&l);
  lundi_release(a);
  lundi_release(b);
}

static void module_describe(void) {
  lundi_rng r = lundi_rng_make(1);
  lundi_module *net = lundi_module_new("Net"), *lin = lundi_linear_new(3, 5, 1, &r);
  char s[128];
  CHECK(lundi_module_describe(lin, NULL, s, sizeof s) == 0 && !strcmp(s, "Linear(2 tensors, 20 parameters)"));
  CHECK(lundi_module_add_child(net, "body", lin) == 0);
  CHECK(lundi_module_add_child(net, "norm", lundi_rms_norm_new(5, 1e-6f)) == 0);
  CHECK(lundi_module_describe(net, NULL, s, sizeof s) == 0 && !strcmp(s, "Net(3 tensors, 25 parameters)"));
  CHECK(lundi_module_describe(lin, "borrowed", s, sizeof s) == 0 &&
        !strcmp(s, "Linear(2 tensors, 20 parameters, borrowed)"));
  CHECK(lundi_module_describe(lin, NULL, s, 8) == 0 && !strcmp(s, "Linear("));
  CHECK_ERR(lundi_module_describe(NULL, NULL, s, sizeof s), "module_describe: module and buffer must be non-NULL");
  lundi_module_free(net);
}

static const test_case tests[] = {
    {"sort_by_name", test_sort_by_name},
    {"sort_edges", test_sort_edges},
    {"layer_forward", layer_forward},
    {"layer_new", layer_new},
    {"push_next", push_next},
    {"module_describe", module_describe},
};
TEST_MAIN(tests)
