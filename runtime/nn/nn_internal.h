/* Private pieces shared by the runtime/nn files: the module struct and layer helpers. */
#ifndef LUNDI_NN_INTERNAL_H
#define LUNDI_NN_INTERNAL_H

#include "lundi/nn.h"
#include "ops/ops_internal.h"

struct lundi_module {
  char *type;
  lundi_param_list params;
  int n_children, cap_children;
  char **child_names;
  lundi_module **children;
  int training;
  /* Configuration read by the built-in forwards (meaning fixed by each layer's _new). */
  int64_t cfg_i[4];
  double cfg_f[2];
  lundi_conv_params conv;
};

/* Grows l so that `extra` more pushes cannot fail for lack of memory. */
int lundi__param_list_reserve(lundi_param_list *l, int extra);

/* Errors unless m is a module of the given type; fn names the caller in the message. */
int lundi__module_expect(const lundi_module *m, const char *type, const char *fn);

/* How a new parameter is filled: constant a, U(a, b) or N(a, b) (mean, std). */
typedef enum lundi__init { LUNDI__INIT_FILL, LUNDI__INIT_UNIFORM, LUNDI__INIT_NORMAL } lundi__init;

/* New f32 leaf that requires grad, filled per init (rng may be NULL for FILL), added to m
 * under name. Returns a borrowed pointer (m holds the reference) or NULL. */
lundi_tensor *lundi__module_new_param(lundi_module *m, const char *name, int ndim, const int64_t *shape,
                                      lundi__init init, float a, float b, lundi_rng *rng);

/* PyTorch's default Linear/Conv init: kaiming_uniform(a=sqrt(5)) gives U(-1/sqrt(fan_in),
 * 1/sqrt(fan_in)) for the weight, and the bias uses the same bound. */
float lundi__fan_in_bound(int64_t fan_in);

#endif
