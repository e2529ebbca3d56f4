/* When a garbage-collected host (the Lua module) should run a full collection. Its GC sees
 * only the small handles, not the storage behind them, so the host counts the bytes it is
 * handed and collects once they exceed what was live after the last collection (at least
 * LUNDI_GC_PRESSURE_FLOOR): memory then stays within about twice the live set. */
#include "tensor/tensor_internal.h"

void lundi_gc_pressure_reset(lundi_gc_pressure *p) {
  p->pushed = 0;
  p->live_at_collect = lundi_live_storage_bytes();
}

int lundi_gc_pressure_add(lundi_gc_pressure *p, const lundi_tensor *t) {
  p->pushed += lundi_nbytes(t);
  int64_t limit = p->live_at_collect > LUNDI_GC_PRESSURE_FLOOR ? p->live_at_collect : LUNDI_GC_PRESSURE_FLOOR;
  return p->pushed > limit;
}
