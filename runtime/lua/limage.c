/* Image functions of the lundi module:
 *   lundi.save_image(path, t [, {nrow=8, range={0,1}, padding=2, pad_value=0, text={k=v}}])
 *     t is [H,W], [C,H,W] (one image) or [N,C,H,W] (a grid), C = 1 or 3; values in range
 *     map to 0..255 (use range={-1,1} for diffusion samples).
 *   lundi.load_image(path) -> f32 tensor [C,H,W] in [0,1], C = 1..4 as stored.
 *   lundi.png_text(path, key) -> string, or nil when the PNG has no such text chunk.
 *   lundi.plot{series={{label=, x=, y=}, ...}, path=, width=640, height=400, title=, log_y=}
 *     x and y are tables of numbers or 1-D tensors; x is optional (0, 1, 2, ...). */
#include <math.h>
#include <stdlib.h>

#include "lbind.h"
#include "lundi/image.h"

static int l_save_image(lua_State *L) {
  static const char fn[] = "lundi.save_image";
  const char *path = luaL_checkstring(L, 1);
  lundi_tensor *t = lundi_lua_check_tensor(L, 2);
  int has_opts = !lua_isnoneornil(L, 3);
  if (has_opts) luaL_checktype(L, 3, LUA_TTABLE);
  lundi_image_save_opts o = {.nrow = 8, .padding = 2, .lo = 0, .hi = 1};
  if (has_opts) {
    static const char *const valid[] = {"nrow", "range", "padding", "pad_value", "text", NULL};
    lundi_lua_check_options(L, 3, fn, valid);
    o.nrow = (int)lundi_lua_opt_int_field(L, 3, fn, "nrow", 8, 1, 4096);
    o.padding = (int)lundi_lua_opt_int_field(L, 3, fn, "padding", 2, 0, 1024);
    o.pad_value = (uint8_t)lundi_lua_opt_int_field(L, 3, fn, "pad_value", 0, 0, 255);
    lua_getfield(L, 3, "range");
    int ok = lua_isnil(L, -1) || (lua_istable(L, -1) && lua_rawlen(L, -1) == 2 &&
                                  lundi_lua_number_pair(L, -1, &o.lo, &o.hi));
    if (!ok)
      return luaL_error(L, "%s: 'range' must be {lo, hi}, two numbers (e.g. {-1, 1})", fn);
    lua_pop(L, 1);
    lua_getfield(L, 3, "text");
    if (!lua_isnil(L, -1)) {
      if (!lua_istable(L, -1)) return luaL_error(L, "%s: 'text' must be a table {key = value}", fn);
      const char **keys, **values; /* in a userdata left on the stack */
      o.n_texts = lundi_lua_string_pairs(L, -1, &keys, &values,
                                         "%s: 'text' must map string keys to strings (got %s = %s)", fn);
      o.text_keys = keys;
      o.text_values = values;
    }
  }
  LB_RET_OK(lundi_image_save_png(path, t, &o), fn);
}

static int l_load_image(lua_State *L) {
  lundi_lua_push_tensor(L, lundi_image_load(luaL_checkstring(L, 1)), "lundi.load_image");
  return 1;
}

static int l_png_text(lua_State *L) {
  const char *path = luaL_checkstring(L, 1), *key = luaL_checkstring(L, 2);
  char *v = NULL;
  if (lundi_png_file_text(path, key, &v)) return lundi_lua_error(L, "lundi.png_text");
  if (v) lua_pushstring(L, v);
  else lua_pushnil(L);
  free(v);
  return 1;
}

/* The numbers of field `key` of the series table at idx (a table or 1-D tensor) as a
 * userdata array left on the stack; *n = its length, -1 when the field is nil. */
static double *series_values(lua_State *L, int idx, int k, const char *key, int *n) {
  static const char fn[] = "lundi.plot";
  lua_getfield(L, idx, key);
  int v = lua_gettop(L);
  *n = -1;
  if (lua_isnil(L, v)) return NULL;
  double *out = NULL;
  lundi_tensor *t = lua_type(L, v) == LUA_TUSERDATA ? lundi_lua_opt_tensor(L, v) : NULL;
  if (t) {
    int64_t m = lundi_numel(t);
    if (lundi_ndim(t) != 1 || m > (1 << 28))
      luaL_error(L, "%s: series %d '%s' must be a 1-D tensor or a table of numbers", fn, k, key);
    out = lua_newuserdatauv(L, sizeof *out * (size_t)(m ? m : 1), 0);
    if (lundi_plot_values(t, out)) lundi_lua_error(L, fn);
    *n = (int)m;
  } else if (lua_istable(L, v)) {
    lua_Integer m = luaL_len(L, v);
    if (m > (1 << 28)) luaL_error(L, "%s: series %d '%s' is too long", fn, k, key);
    out = lua_newuserdatauv(L, sizeof *out * (size_t)(m ? m : 1), 0);
    for (lua_Integer i = 1; i <= m; i++) {
      lua_rawgeti(L, v, i);
      if (lua_isnumber(L, -1)) out[i - 1] = lua_tonumber(L, -1);
      else if (lua_isnil(L, -1)) out[i - 1] = NAN; /* holes are gaps, like NaN */
      else luaL_error(L, "%s: series %d '%s'[%d] is %s, not a number", fn, k, key, (int)i, luaL_typename(L, -1));
      lua_pop(L, 1);
    }
    *n = (int)m;
  } else {
    luaL_error(L, "%s: series %d '%s' must be a table of numbers or a 1-D tensor (got %s)", fn, k, key,
               luaL_typename(L, v));
  }
  lua_remove(L, v); /* keep the array, drop the field */
  return out;
}

static int l_plot(lua_State *L) {
  static const char fn[] = "lundi.plot";
  luaL_checktype(L, 1, LUA_TTABLE);
  static const char *const valid[] = {"series", "path", "width", "height", "title", "log_y", NULL};
  lundi_lua_check_options(L, 1, fn, valid);
  const char *path = lundi_lua_opt_string_field(L, 1, fn, "path", NULL);
  if (!path) return luaL_error(L, "%s: 'path' (a .png file to write) is required", fn);
  int width = (int)lundi_lua_opt_int_field(L, 1, fn, "width", 640, 160, 8192);
  int height = (int)lundi_lua_opt_int_field(L, 1, fn, "height", 400, 120, 8192);
  const char *title = lundi_lua_opt_string_field(L, 1, fn, "title", NULL);
  int log_y = lundi_lua_opt_bool_field(L, 1, fn, "log_y", 0);
  lua_getfield(L, 1, "series");
  int st = lua_gettop(L);
  if (!lua_istable(L, st)) return luaL_error(L, "%s: 'series' must be a list of {label=, x=, y=} tables", fn);
  int ns = (int)luaL_len(L, st);
  if (ns > 1000) return luaL_error(L, "%s: %d series is too many (at most 1000)", fn, ns);
  lundi_plot_series *s = lua_newuserdatauv(L, sizeof *s * (size_t)(ns ? ns : 1), 0);
  for (int k = 1; k <= ns; k++) {
    luaL_checkstack(L, 8, fn);
    lua_rawgeti(L, st, k);
    int it = lua_gettop(L);
    if (!lua_istable(L, it)) return luaL_error(L, "%s: series %d must be a table {label=, x=, y=}", fn, k);
    static const char *const sv[] = {"label", "x", "y", NULL};
    lundi_lua_check_keys(L, it, fn, "series field", sv);
    lua_getfield(L, it, "label");
    if (!lua_isnil(L, -1) && lua_type(L, -1) != LUA_TSTRING)
      return luaL_error(L, "%s: series %d 'label' must be a string", fn, k);
    s[k - 1].label = lua_tostring(L, -1); /* anchored by the series table */
    lua_pop(L, 1);
    int ny = 0, nx = 0;
    s[k - 1].ys = series_values(L, it, k, "y", &ny);
    if (ny < 0) return luaL_error(L, "%s: series %d has no 'y'", fn, k);
    s[k - 1].xs = series_values(L, it, k, "x", &nx);
    if (nx >= 0 && nx != ny) return luaL_error(L, "%s: series %d has %d x values but %d y values", fn, k, nx, ny);
    s[k - 1].n = ny;
    /* the value arrays stay on the stack above the series table until we return */
  }
  LB_RET_OK(lundi_plot_file(path, s, ns, width, height, title, log_y), fn);
}

void lundi_lua_open_image(lua_State *L, int mod) {
  static const luaL_Reg fns[] = {{"save_image", l_save_image},
                                 {"load_image", l_load_image},
                                 {"png_text", l_png_text},
                                 {"plot", l_plot},
                                 {NULL, NULL}};
  lua_pushvalue(L, mod);
  luaL_setfuncs(L, fns, 0);
  lua_pop(L, 1);
}
