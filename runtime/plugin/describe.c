/* How an instance and a pipeline read as text (their tostring in Lua). */
#include "core/strbuf.h"
#include "plugin/plugin_internal.h"
#include "plugin/spec_text.h"

#include <stdlib.h>

char *lundi_instance_describe(const lundi_instance *inst) {
  if (!inst) {
    lundi_set_error(LUNDI_EINVAL, "lundi_instance_describe: NULL instance");
    return NULL;
  }
  const lundi_plugin_desc *d = &inst->plugin->desc;
  char *brief = lundi__params_brief(lundi_instance_params(inst));
  if (!brief) return NULL;
  lundi__strbuf b = {0};
  lundi__strbuf_printf(&b, "%s %s %s {%s}", lundi_plugin_kind_name(d->kind), d->name, d->version, brief);
  free(brief);
  char *text = lundi__strbuf_take(&b);
  if (!text) lundi_set_error(LUNDI_ENOMEM, "%s: out of memory describing it", inst->plugin->owner);
  return text;
}

char *lundi_pipeline_describe(const lundi_pipeline_parts *parts, const lundi_instance *sampler) {
  static const char *const names[] = {"scheduler", "denoiser", "conditioner", "sampler"};
  if (!parts) {
    lundi_set_error(LUNDI_EINVAL, "lundi_pipeline_describe: NULL parts");
    return NULL;
  }
  const lundi_instance *inst[] = {parts->scheduler, parts->denoiser, parts->conditioner, sampler};
  lundi__strbuf b = {0};
  lundi__strbuf_puts(&b, "pipeline {");
  const char *sep = "";
  for (int k = 0; k < 4; k++) {
    if (!inst[k]) continue;
    lundi__strbuf_printf(&b, "%s%s=%s", sep, names[k], inst[k]->plugin->desc.name);
    sep = ", ";
  }
  lundi__strbuf_puts(&b, "}");
  char *text = lundi__strbuf_take(&b);
  if (!text) lundi_set_error(LUNDI_ENOMEM, "out of memory describing a pipeline");
  return text;
}
