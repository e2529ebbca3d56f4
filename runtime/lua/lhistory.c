/* lundi.history: reading the run store from Lua (lundi/history.h).
 *   lundi.history.runs{where=, order_by=, limit=, columns=, deleted=, db=} -> array of rows
 *   lundi.history.run(ref [, db])       -> the run with params, tags, metrics, outputs, plugins
 *   lundi.history.metrics(ref, key [, db]) -> {steps = {...}, values = {...}}
 * ref: an id (number) or any reference `lundi show` takes. db: else $LUNDI_DB, else ./lundi.db.
 * Each call opens the store read-only and closes it before returning. */
#include <math.h>
#include <stddef.h>
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

/* One row per field of a result table: its key, the member's C type ('i' int64_t; 'n'
 * double, left out when NaN: not recorded; 's' char *, left out when NULL) and offset. */
typedef struct field {
  const char *key;
  char type;
  size_t off;
} field;

#define RUN(type, key, member) {key, type, offsetof(lundi_run_record, member)}
static const field run_fields[] = {
  RUN('i', "id", id),         RUN('s', "uuid", uuid),
  RUN('s', "name", name),     RUN('s', "status", status),
  RUN('s', "exit_message", exit_message),   RUN('s', "script", script_path),
  RUN('s', "script_sha256", script_sha256), RUN('s', "script_text", script_text),
  RUN('s', "lundi_version", lundi_version), RUN('s', "device", device),
  RUN('s', "host", host),     RUN('n', "start_time", start_time),
  RUN('n', "end_time", end_time),           {NULL, 0, 0},
};
#define METRIC(type, key, member) {key, type, offsetof(lundi_metric_summary, member)}
static const field metric_fields[] = {
  METRIC('n', "last", last),   METRIC('n', "min", min),             METRIC('n', "max", max),
  METRIC('i', "count", count), METRIC('i', "last_step", last_step), {NULL, 0, 0},
};
#define OUTPUT(type, key, member) {key, type, offsetof(lundi_output_info, member)}
static const field output_fields[] = {
  OUTPUT('i', "id", id),     OUTPUT('s', "kind", kind),         OUTPUT('s', "name", name),
  OUTPUT('s', "mime", mime), OUTPUT('i', "size", size),         OUTPUT('s', "sha256", sha256),
  OUTPUT('s', "path", path), OUTPUT('s', "metadata", metadata), OUTPUT('n', "created", created),
  {NULL, 0, 0},
};
#define PLUGIN(key, member) {key, 's', offsetof(lundi_plugin_use, member)}
static const field plugin_fields[] = {
  PLUGIN("kind", kind),     PLUGIN("name", name),     PLUGIN("version", version),
  PLUGIN("params", params), PLUGIN("origin", origin), {NULL, 0, 0},
};

static void set_fields(lua_State *L, const void *obj, const field *f) {
  for (; f->key; f++) {
    const char *p = (const char *)obj + f->off;
    if (f->type == 'i') lundi_lua_set_int(L, f->key, *(const int64_t *)p);
    else if (f->type == 's') lundi_lua_set_str(L, f->key, *(char *const *)p);
    else if (!isnan(*(const double *)p)) lundi_lua_set_num(L, f->key, *(const double *)p);
  }
}

/* n structs of size bytes at base, as an array of tables in field key of the table on top. */
static void set_array(lua_State *L, const char *key, const void *base, int n, size_t size, const field *f) {
  lua_createtable(L, n, 0);
  for (int i = 0; i < n; i++) {
    lua_newtable(L);
    set_fields(L, (const char *)base + (size_t)i * size, f);
    lua_rawseti(L, -2, i + 1);
  }
  lua_setfield(L, -2, key);
}

static void push_param(lua_State *L, const lundi_kv *p) {
  const char *v = p->value ? p->value : "";
  if (p->type && !strcmp(p->type, "bool")) lua_pushboolean(L, !strcmp(v, "true"));
  else if (p->type && (!strcmp(p->type, "int") || !strcmp(p->type, "float")) && lua_stringtonumber(L, v)) {
  } else lua_pushstring(L, v);
}

static void push_record(lua_State *L, const lundi_run_record *r) {
  lua_createtable(L, 0, 24);
  set_fields(L, r, run_fields);
  if (r->has_seed) lundi_lua_set_int(L, "seed", r->seed);
  double duration = r->end_time - r->start_time;
  if (!isnan(duration)) lundi_lua_set_num(L, "duration", duration);
  lundi_lua_set_bool(L, "deleted", r->deleted);
  lua_createtable(L, 0, r->n_params);
  for (int i = 0; i < r->n_params; i++) {
    push_param(L, &r->params[i]);
    lua_setfield(L, -2, r->params[i].key);
  }
  lua_setfield(L, -2, "params");
  lua_createtable(L, 0, r->n_tags);
  for (int i = 0; i < r->n_tags; i++) lundi_lua_set_str(L, r->tags[i].key, r->tags[i].value ? r->tags[i].value : "");
  lua_setfield(L, -2, "tags");
  lua_createtable(L, 0, r->n_metrics);
  for (int i = 0; i < r->n_metrics; i++) {
    lua_createtable(L, 0, 5);
    set_fields(L, &r->metrics[i], metric_fields);
    lua_setfield(L, -2, r->metrics[i].key);
  }
  lua_setfield(L, -2, "metrics");
  set_array(L, "outputs", r->outputs, r->n_outputs, sizeof *r->outputs, output_fields);
  set_array(L, "plugins", r->plugins, r->n_plugins, sizeof *r->plugins, plugin_fields);
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
