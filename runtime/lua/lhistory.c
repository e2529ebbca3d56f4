/* lundi.history: reading the run store from Lua (lundi/history.h).
 *   lundi.history.runs{where=, order_by=, limit=, columns=, deleted=, db=} -> array of rows
 *   lundi.history.run(ref [, db])       -> the run with params, tags, metrics, outputs, plugins
 *   lundi.history.metrics(ref, key [, db]) -> {steps = {...}, values = {...}}
 * ref: an id (number) or any reference `lundi show` takes. db: else $LUNDI_DB, else ./lundi.db.
 * Each call opens the store read-only and closes it before returning. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "lua_internal.h"
#include "lundi/history.h"

static lundi_store *open_store(lua_State *L, const char *fn, const char *db) {
  lundi_store *s = lundi_store_open(db, LUNDI_STORE_READONLY);
  if (!s) lundi_lua_error(L, fn);
  return s;
}

static void push_cell(lua_State *L, const lundi_cell *c) {
  switch (c->type) {
  case LUNDI_CELL_INT: lua_pushinteger(L, (lua_Integer)c->i); break;
  case LUNDI_CELL_REAL: lua_pushnumber(L, c->d); break;
  case LUNDI_CELL_TEXT: lua_pushstring(L, c->s); break;
  default: lua_pushnil(L);
  }
}

static int l_runs(lua_State *L) {
  lundi_runs_query q = {0};
  const char *db = NULL;
  if (!lua_isnoneornil(L, 1)) {
    static const char fn[] = "lundi.history.runs";
    static const char *const keys[] = {"where", "order_by", "columns", "db", "limit", "deleted", NULL};
    luaL_checktype(L, 1, LUA_TTABLE);
    lundi_lua_check_options(L, 1, fn, keys);
    q.where = lundi_lua_opt_string_field(L, 1, fn, "where", NULL);
    q.order_by = lundi_lua_opt_string_field(L, 1, fn, "order_by", NULL);
    q.columns = lundi_lua_opt_string_field(L, 1, fn, "columns", NULL);
    db = lundi_lua_opt_string_field(L, 1, fn, "db", NULL);
    q.limit = (int64_t)lundi_lua_opt_int_field(L, 1, fn, "limit", 0, LUNDI_LUA_ANY_INT);
    if (q.limit < 0 || (q.limit == 0 && lundi_lua_get_field(L, 1, "limit") != LUA_TNIL))
      luaL_error(L, "lundi.history.runs: limit must be a positive integer");
    lua_settop(L, 1);
    q.include_deleted = lundi_lua_opt_bool_field(L, 1, fn, "deleted", 0);
  }
  lundi_store *s = open_store(L, "lundi.history.runs", db);
  lundi_table t;
  int rc = lundi_history_runs(s, &q, &t);
  lundi_store_close(s);
  if (rc) {
    if (q.err_option) return luaL_error(L, "lundi.history.runs: %s: %s", q.err_option, lundi_last_error());
    return lundi_lua_error(L, "lundi.history.runs");
  }
  lua_createtable(L, t.n_rows > 1000000 ? 0 : (int)t.n_rows, 0);
  for (int64_t r = 0; r < t.n_rows; r++) {
    lua_createtable(L, 0, t.n_cols);
    for (int c = 0; c < t.n_cols; c++) {
      push_cell(L, lundi_table_at(&t, r, c));
      lua_setfield(L, -2, t.cols[c]);
    }
    lua_rawseti(L, -2, (lua_Integer)r + 1);
  }
  lundi_table_free(&t);
  return 1;
}

/* The run reference at idx: an integer id or a string. */
static const char *check_ref(lua_State *L, int idx, char *buf, size_t n) {
  if (lua_type(L, idx) == LUA_TNUMBER) {
    if (!lua_isinteger(L, idx)) luaL_argerror(L, idx, "a run id must be an integer");
    snprintf(buf, n, "%lld", (long long)lua_tointeger(L, idx));
    return buf;
  }
  return luaL_checkstring(L, idx);
}

static void set_str(lua_State *L, const char *k, const char *v) {
  if (!v) return;
  lua_pushstring(L, v);
  lua_setfield(L, -2, k);
}

static void set_num(lua_State *L, const char *k, double v) {
  if (isnan(v)) return;
  lua_pushnumber(L, v);
  lua_setfield(L, -2, k);
}

static void set_int(lua_State *L, const char *k, int64_t v) {
  lua_pushinteger(L, (lua_Integer)v);
  lua_setfield(L, -2, k);
}

static void push_param(lua_State *L, const lundi_kv *p) {
  const char *v = p->value ? p->value : "";
  if (p->type && !strcmp(p->type, "bool")) lua_pushboolean(L, !strcmp(v, "true"));
  else if (p->type && (!strcmp(p->type, "int") || !strcmp(p->type, "float")) && lua_stringtonumber(L, v)) {
  } else lua_pushstring(L, v);
}

static void push_record(lua_State *L, const lundi_run_record *r) {
  lua_createtable(L, 0, 24);
  set_int(L, "id", r->id);
  set_str(L, "uuid", r->uuid), set_str(L, "name", r->name), set_str(L, "status", r->status);
  set_str(L, "exit_message", r->exit_message), set_str(L, "script", r->script_path);
  set_str(L, "script_sha256", r->script_sha256), set_str(L, "script_text", r->script_text);
  set_str(L, "lundi_version", r->lundi_version), set_str(L, "device", r->device), set_str(L, "host", r->host);
  if (r->has_seed) set_int(L, "seed", r->seed);
  set_num(L, "start_time", r->start_time), set_num(L, "end_time", r->end_time);
  set_num(L, "duration", r->end_time - r->start_time);
  lua_pushboolean(L, r->deleted);
  lua_setfield(L, -2, "deleted");
  lua_createtable(L, 0, r->n_params);
  for (int i = 0; i < r->n_params; i++) {
    push_param(L, &r->params[i]);
    lua_setfield(L, -2, r->params[i].key);
  }
  lua_setfield(L, -2, "params");
  lua_createtable(L, 0, r->n_tags);
  for (int i = 0; i < r->n_tags; i++) set_str(L, r->tags[i].key, r->tags[i].value ? r->tags[i].value : "");
  lua_setfield(L, -2, "tags");
  lua_createtable(L, 0, r->n_metrics);
  for (int i = 0; i < r->n_metrics; i++) {
    const lundi_metric_summary *m = &r->metrics[i];
    lua_createtable(L, 0, 5);
    set_num(L, "last", m->last), set_num(L, "min", m->min), set_num(L, "max", m->max);
    set_int(L, "count", m->count), set_int(L, "last_step", m->last_step);
    lua_setfield(L, -2, m->key);
  }
  lua_setfield(L, -2, "metrics");
  lua_createtable(L, r->n_outputs, 0);
  for (int i = 0; i < r->n_outputs; i++) {
    const lundi_output_info *o = &r->outputs[i];
    lua_createtable(L, 0, 9);
    set_int(L, "id", o->id), set_str(L, "kind", o->kind), set_str(L, "name", o->name), set_str(L, "mime", o->mime);
    set_int(L, "size", o->size), set_str(L, "sha256", o->sha256), set_str(L, "path", o->path);
    set_str(L, "metadata", o->metadata), set_num(L, "created", o->created);
    lua_rawseti(L, -2, i + 1);
  }
  lua_setfield(L, -2, "outputs");
  lua_createtable(L, r->n_plugins, 0);
  for (int i = 0; i < r->n_plugins; i++) {
    const lundi_plugin_use *p = &r->plugins[i];
    lua_createtable(L, 0, 5);
    set_str(L, "kind", p->kind), set_str(L, "name", p->name), set_str(L, "version", p->version);
    set_str(L, "params", p->params), set_str(L, "origin", p->origin);
    lua_rawseti(L, -2, i + 1);
  }
  lua_setfield(L, -2, "plugins");
}

static int l_run(lua_State *L) {
  char buf[32];
  const char *ref = check_ref(L, 1, buf, sizeof buf);
  const char *db = luaL_optstring(L, 2, NULL);
  lundi_store *s = open_store(L, "lundi.history.run", db);
  lundi_run_record *r = NULL;
  int rc = lundi_history_run(s, ref, &r);
  lundi_store_close(s);
  if (rc) return lundi_lua_error(L, "lundi.history.run");
  push_record(L, r); /* may raise on out of memory: r leaks then, like any Lua OOM */
  lundi_run_record_free(r);
  return 1;
}

static int l_metrics(lua_State *L) {
  char buf[32];
  const char *ref = check_ref(L, 1, buf, sizeof buf);
  const char *key = luaL_checkstring(L, 2);
  const char *db = luaL_optstring(L, 3, NULL);
  lundi_store *s = open_store(L, "lundi.history.metrics", db);
  int64_t id;
  lundi_metric_series m = {0};
  int rc = lundi_history_resolve(s, ref, &id);
  if (!rc) rc = lundi_history_metric(s, id, key, &m);
  lundi_store_close(s);
  if (rc) return lundi_lua_error(L, "lundi.history.metrics");
  lua_createtable(L, 0, 3);
  lua_createtable(L, m.n > 1000000000 ? 0 : (int)m.n, 0);
  for (int64_t i = 0; i < m.n; i++) lua_pushinteger(L, (lua_Integer)m.steps[i]), lua_rawseti(L, -2, i + 1);
  lua_setfield(L, -2, "steps");
  lua_createtable(L, m.n > 1000000000 ? 0 : (int)m.n, 0);
  for (int64_t i = 0; i < m.n; i++) lua_pushnumber(L, m.values[i]), lua_rawseti(L, -2, i + 1);
  lua_setfield(L, -2, "values");
  lua_createtable(L, m.n > 1000000000 ? 0 : (int)m.n, 0);
  for (int64_t i = 0; i < m.n; i++) lua_pushnumber(L, m.wall_times[i]), lua_rawseti(L, -2, i + 1);
  lua_setfield(L, -2, "wall_times");
  lundi_metric_series_free(&m);
  return 1;
}

void lundi_lua_open_history(lua_State *L, int mod) {
  mod = lua_absindex(L, mod);
  static const luaL_Reg fns[] = {{"runs", l_runs}, {"run", l_run}, {"metrics", l_metrics}, {NULL, NULL}};
  luaL_newlib(L, fns);
  lua_setfield(L, mod, "history");
}
