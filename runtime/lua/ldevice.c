/* Devices in Lua:
 *   lundi.device() -> "cpu" or "vulkan:N": where constructors (tensor, zeros, randn, ...),
 *     nn layers, lundi.data.mnist and plugins put what they create. Ops run on their
 *     operands' device. Starts as --device / LUNDI_DEVICE, else auto (a Vulkan GPU if any).
 *   lundi.set_device(name) with "cpu", "vulkan", "vulkan:N", "auto" or another registered
 *     backend's name (parsed by the device registry, lundi_device_from_name); returns the name.
 *   lundi.devices() -> every registered backend's devices, in the registry's order:
 *     {name = "vulkan:0", backend = "vulkan", type = "discrete", description = "..."}.
 *   lundi.kernel_calls() -> kernels run so far on the CPU, on devices (e.g. to check that a
 *     step ran wholly on the GPU).
 *   lundi.device_memory([name]) -> bytes used by live buffers, bytes reserved from the driver. */
#include "lbind.h"
#include "lundi/device.h"
#include "lundi/session.h"
#include "lundi/store.h"

#include <stdio.h>

lundi_device *lundi_lua_check_device(lua_State *L, int idx) {
  const char *s = luaL_checkstring(L, idx);
  lundi_device *d = lundi_device_from_name(s);
  if (!d) luaL_error(L, "device '%s': %s", s, lundi_last_error());
  return d;
}

lundi_tensor *lundi_lua_placed(lundi_tensor *t) { return lundi_to_default_device(t); }

LB_FN(l_device, LB_RET_STR(lundi_device_name(lundi_default_device())))

static int l_set_device(lua_State *L) {
  lundi_device *d = lundi_lua_check_device(L, 1);
  lundi_set_default_device(d);
  /* The run of `lundi run` records every device its script moves to, not only the first. */
  lundi_run *run = lundi_session_current();
  if (run && lundi_run_add_device(run, lundi_device_name(d)) != 0)
    fprintf(stderr, "lundi: warning: %s\n", lundi_last_error());
  lua_pushstring(L, lundi_device_name(d));
  return 1;
}

/* lundi.device_memory([name]) -> bytes used, bytes reserved on that device (default: current). */
static int l_device_memory(lua_State *L) {
  lundi_device *d = lua_isnoneornil(L, 1) ? lundi_default_device() : lundi_lua_check_device(L, 1);
  uint64_t used, reserved;
  if (lundi_device_memory(d, &used, &reserved)) return lundi_lua_error(L, "device_memory");
  lua_pushinteger(L, (lua_Integer)used);
  lua_pushinteger(L, (lua_Integer)reserved);
  return 2;
}

static int l_devices(lua_State *L) {
  lundi_device_entry e;
  lua_newtable(L);
  for (int k = 0; lundi_device_entry_at(k, &e); k++) {
    lua_createtable(L, 0, 4);
    lundi_lua_set_str(L, "name", e.name);
    lundi_lua_set_str(L, "backend", e.info.backend);
    lundi_lua_set_str(L, "type", e.info.type);
    lundi_lua_set_str(L, "description", e.info.name);
    lua_rawseti(L, -2, k + 1);
  }
  return 1;
}

static int l_kernel_calls(lua_State *L) {
  lua_pushinteger(L, (lua_Integer)lundi_kernel_calls(1));
  lua_pushinteger(L, (lua_Integer)lundi_kernel_calls(0));
  return 2;
}

void lundi_lua_open_device(lua_State *L, int mod) {
  static const luaL_Reg fns[] = {
      {"device", l_device}, {"set_device", l_set_device}, {"kernel_calls", l_kernel_calls},
      {"device_memory", l_device_memory}, {"devices", l_devices}, {NULL, NULL}};
  mod = lua_absindex(L, mod);
  lua_pushvalue(L, mod);
  luaL_setfuncs(L, fns, 0);
  lua_pop(L, 1);
}
