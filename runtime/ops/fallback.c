/* The CPU fallback: an op whose kernel the operands' backend lacks runs on the CPU on host
 * copies of its operands when LUNDI_CPU_FALLBACK=1 or lundi_set_cpu_fallback(1). It sits in
 * the op layer, so the dispatcher below only routes. */
#include "ops/ops_internal.h"

#include <stdlib.h>
#include <string.h>

static int fallback = -1; /* -1: not yet read from LUNDI_CPU_FALLBACK */

void lundi_set_cpu_fallback(int on) { fallback = on != 0; }

int lundi_cpu_fallback(void) {
  if (fallback < 0) {
    const char *e = getenv("LUNDI_CPU_FALLBACK");
    fallback = e && *e && strcmp(e, "0") != 0;
  }
  return fallback;
}

/* Runs c on the CPU with host copies of its operands, then writes the outputs back. Outputs
 * are copied in too: some kernels accumulate into them (max_backward). */
static int run_on_cpu(lundi_kcall *c, lundi_device *dev) {
  lundi_kcall h = *c;
  lundi_device *cpu = lundi_cpu();
  int rc = 0;
  lundi_no_grad_enter();
  for (int k = 0; k < c->n_in; k++) h.in[k] = NULL;
  for (int k = 0; k < c->n_out; k++) h.out[k] = NULL;
  for (int k = 0; k < c->n_in && !rc; k++)
    if (c->in[k] && !(h.in[k] = lundi_to_device(c->in[k], cpu))) rc = -1;
  for (int k = 0; k < c->n_out && !rc; k++)
    if (c->out[k] && !(h.out[k] = lundi_to_device(c->out[k], cpu))) rc = -1;
  if (!rc) rc = lundi__dispatch(&h);
  for (int k = 0; k < c->n_out && !rc; k++) {
    if (!c->out[k]) continue;
    lundi_tensor *back = lundi_to_device(h.out[k], dev);
    rc = back ? lundi_copy_(c->out[k], back) : -1;
    lundi_release(back);
  }
  for (int k = 0; k < c->n_in; k++) lundi_release(h.in[k]);
  for (int k = 0; k < c->n_out; k++) lundi_release(h.out[k]);
  lundi_no_grad_exit();
  return rc;
}

/* Falls back only where the dispatcher would report the missing kernel; every other case
 * (no tensor, operands on mixed devices) gets the dispatcher's own error. */
int lundi__run(lundi_kcall *c) {
  lundi_tensor *t = c->n_out > 0 ? c->out[0] : c->in[0];
  if (!t) return lundi__dispatch(c);
  lundi_device *dev = t->storage->device;
  for (int k = 0; k < c->n_in; k++)
    if (c->in[k] && c->in[k]->storage->device != dev) return lundi__dispatch(c);
  if (!dev->is_host && !dev->backend->kernels[c->id] && lundi_cpu_fallback()) return run_on_cpu(c, dev);
  return lundi__dispatch(c);
}
