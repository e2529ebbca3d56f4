/* Plugin instances: validated params in, create() out. Each live instance pins its registry
 * (see lundi_registry_free in registry.c). */
#include "plugin/plugin_internal.h"

#include <stdlib.h>

lundi_instance *lundi_instance_new(const lundi_plugin *p, const lundi_params *params) {
  if (!p) {
    lundi_set_error(LUNDI_EINVAL, "lundi_instance_new: NULL plugin");
    return NULL;
  }
  if (p->reg->dying) {
    lundi_set_error(LUNDI_ESTATE, "%s: its registry has been freed", p->owner);
    return NULL;
  }
  if (params && params->tag != p && !(p->desc.n_params > 0 && params->tag == p->desc.params)) {
    lundi_set_error(LUNDI_EINVAL, "%s: the parameters given belong to %s; get them from lundi_plugin_params()",
                    p->owner, params->owner);
    return NULL;
  }
  lundi_instance *inst = calloc(1, sizeof *inst);
  if (!inst) {
    lundi_set_error(LUNDI_ENOMEM, "%s: out of memory for an instance", p->owner);
    return NULL;
  }
  inst->plugin = p;
  inst->params = lundi_params_copy(params ? params : p->defaults);
  if (!inst->params) {
    free(inst);
    return NULL;
  }
  lundi_clear_error();
  int rc = p->desc.create(p->desc.user, inst->params, &inst->self);
  if (rc != 0) {
    lundi__plugin_error(p, rc, "create()");
    lundi_params_free(inst->params);
    free(inst);
    return NULL;
  }
  p->reg->live++;
  lundi__instance_notify(inst);
  return inst;
}

lundi_instance *lundi_instance_create(lundi_registry *r, lundi_plugin_kind k, const char *name,
                                      const lundi_params *params) {
  const lundi_plugin *p = lundi_registry_find(r, k, name);
  return p ? lundi_instance_new(p, params) : NULL;
}

void lundi_instance_free(lundi_instance *inst) {
  if (!inst) return;
  const lundi_plugin *p = inst->plugin;
  if (p->desc.destroy) p->desc.destroy(inst->self);
  lundi_params_free(inst->params);
  lundi_registry *r = p->reg;
  free(inst);
  if (--r->live == 0 && r->dying) lundi__registry_destroy(r);
}

const lundi_plugin *lundi_instance_plugin(const lundi_instance *inst) { return inst ? inst->plugin : NULL; }
const lundi_params *lundi_instance_params(const lundi_instance *inst) { return inst ? inst->params : NULL; }
void *lundi_instance_self(lundi_instance *inst) { return inst ? inst->self : NULL; }
