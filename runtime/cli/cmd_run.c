/* lundi run [OPTIONS] SCRIPT [--key=value ...] [-- ARGS]
 *
 * Options before SCRIPT are lundi's; everything after it is the script's. Ctrl-C sets a Lua
 * hook that raises "interrupted" at the next Lua instruction or call, so the script unwinds
 * (to-be-closed variables, then finalisers at lua_close) before lundi exits with 130; a
 * second Ctrl-C kills the process at once. */
#include <lauxlib.h>
#include <lualib.h>
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "lua/lua_run.h"
#include "lundi/lua.h"
#include "lundi/lundi.h"
#include "lundi/session.h"
#include "lundi/store.h"

const char cli_run_help[] =
    "usage: lundi run [OPTIONS] SCRIPT [--key=value ...] [-- ARGS ...]\n"
    "\n"
    "Runs a Lua script with the lundi module loaded (the global 'lundi').\n"
    "\n"
    "Options before SCRIPT are lundi's (--plugin, --device, --threads, --quiet, --db;\n"
    "see 'lundi help') and:\n"
    "  --no-record   run without recording anything in the store\n"
    "  --script-text FILE\n"
    "                run the text in FILE as if it were SCRIPT (SCRIPT is what is\n"
    "                recorded, named in messages and arg[0], and the folder its\n"
    "                debug.getinfo source points at); 'lundi rerun' uses it\n"
    "Everything after SCRIPT belongs to the script:\n"
    "  --key=value   params.key = value: a number when it reads as one, true or false\n"
    "                as booleans, a string otherwise (the last one given wins)\n"
    "  --flag        params.flag = true\n"
    "  -- ARGS ...   passed on as they are\n"
    "The script receives params as the global 'params' and as its first argument (...),\n"
    "followed by ARGS. As in the lua command, arg[0] is SCRIPT and arg[1], arg[2], ...\n"
    "are the words after it.\n"
    "\n"
    "Recording: each run is recorded in the store (--db FILE, else $LUNDI_DB, else\n"
    "./lundi.db): the script's path, text and sha256, the working directory, the\n"
    "params with their types, the plugins created, each plugin file and Lua file\n"
    "loaded (dofile, loadfile, require) with its sha256, and what the script logs\n"
    "through lundi.current_run() (run:log{...}, run:save_image(...), ...). The run\n"
    "ends as finished, failed (with the error) or interrupted (Ctrl-C, after a final\n"
    "flush); one killed outright shows as crashed at once and is marked failed\n"
    "(crashed) by the next lundi command that writes the store. If the store cannot\n"
    "be opened (read-only, corrupt, from a newer lundi), lundi refuses to start the\n"
    "script and exits with 1 before doing any work; --no-record runs it without a\n"
    "store.\n"
    "\n"
    "Exit status: 0 when the script finishes (os.exit(n) picks another), 1 on an error\n"
    "(shown with a traceback), 2 on a usage error, 130 after Ctrl-C. Ctrl-C stops the\n"
    "script cleanly; a second Ctrl-C kills it at once.\n"
    "\n"
    "example:\n"
    "  lundi run train.lua --steps=2000 --lr=1e-4 --name=mnist\n";

/* ---- script parameters ---- */

typedef struct run_param {
  const char *arg;   /* "--key=value" as given */
  size_t keylen;
  const char *value; /* NULL for a bare --flag */
} run_param;

static int valid_key(const char *k, size_t n) {
  if (!n || !(k[0] == '_' || (k[0] >= 'a' && k[0] <= 'z') || (k[0] >= 'A' && k[0] <= 'Z')))
    return 0;
  for (size_t i = 1; i < n; i++) {
    char c = k[i];
    if (!(c == '_' || c == '-' || c == '.' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
          (c >= '0' && c <= '9')))
      return 0;
  }
  return 1;
}

/* argv[first..] after the script: fills params; *rest is the index after "--" (or argc). */
static int parse_params(int argc, char **argv, int first, run_param *params, int *n, int *rest) {
  *n = 0;
  *rest = argc;
  for (int i = first; i < argc; i++) {
    const char *a = argv[i];
    if (!strcmp(a, "--")) {
      *rest = i + 1;
      return 0;
    }
    if (strncmp(a, "--", 2)) {
      if (a[0] == '-')
        return cli_usage_error("run", "malformed script parameter '%s' (expected --key=value or "
                               "--flag; lundi's own options go before the script)", a);
      return cli_usage_error("run", "unexpected argument '%s' after the script (script parameters "
                             "look like --key=value; put other arguments after '--')", a);
    }
    const char *eq = strchr(a + 2, '=');
    size_t klen = eq ? (size_t)(eq - a - 2) : strlen(a + 2);
    if (!valid_key(a + 2, klen))
      return cli_usage_error("run", "malformed script parameter '%s' (expected --key=value or --flag, "
                             "the key made of letters, digits, '_', '-' and '.')", a);
    /* Only lundi's own options that make no sense as script parameters are refused here;
     * --db, --device and --threads stay script parameters (scripts use those names). */
    if ((klen == 6 && !strncmp(a + 2, "plugin", 6)) || (klen == 9 && !strncmp(a + 2, "no-record", 9)))
      return cli_usage_error("run", "'%s' comes after the script, where it would be a script parameter; "
                             "lundi's --%.*s goes before it (lundi run --%.*s%s SCRIPT)", a, (int)klen, a + 2,
                             (int)klen, a + 2, klen == 6 ? " FILE" : "");
    params[*n] = (run_param){a, klen, eq ? eq + 1 : NULL};
    ++*n;
  }
  return 0;
}

static void push_value(lua_State *L, const char *v) {
  if (!v || !strcmp(v, "true")) lua_pushboolean(L, 1);
  else if (!strcmp(v, "false")) lua_pushboolean(L, 0);
  else if (!*v || !lua_stringtonumber(L, v)) lua_pushstring(L, v);
}

static void push_params(lua_State *L, const run_param *p, int n) {
  lua_createtable(L, 0, n);
  for (int i = 0; i < n; i++) {
    lua_pushlstring(L, p[i].arg + 2, p[i].keylen);
    push_value(L, p[i].value);
    lua_settable(L, -3);
  }
}

/* arg[-k..-1]: the command line before the script, arg[0]: the script, arg[1..]: after. */
static void set_arg(lua_State *L, int argc, char **argv, int script) {
  lua_createtable(L, argc - script - 1, script);
  for (int i = 0; i < argc; i++) {
    lua_pushstring(L, argv[i]);
    lua_rawseti(L, -2, i - script);
  }
  lua_setglobal(L, "arg");
}

/* ---- Ctrl-C ---- */

static volatile sig_atomic_t interrupted;
static lua_State *volatile running;

static void interrupt_hook(lua_State *L, lua_Debug *ar) {
  (void)ar;
  lua_sethook(L, NULL, 0, 0); /* once: __close handlers must run undisturbed */
  lua_pushliteral(L, "interrupted");
  lua_error(L);
}

static void on_sigint(int sig) {
  if (interrupted) { /* second Ctrl-C: the default action, at once */
    signal(sig, SIG_DFL);
    raise(sig);
    return;
  }
  interrupted = 1;
  if (running) /* lua_sethook is safe to call from a signal handler (see lua.c) */
    lua_sethook(running, interrupt_hook, LUA_MASKCALL | LUA_MASKRET | LUA_MASKCOUNT, 1000);
}

/* The message handler: "message\nstack traceback: ..."; after Ctrl-C only where it was. */
static int message_handler(lua_State *L) {
  if (interrupted) {
    lua_Debug ar;
    for (int level = 1; lua_getstack(L, level, &ar); level++) {
      lua_getinfo(L, "Sl", &ar);
      if (ar.currentline > 0) {
        lua_pushfstring(L, "interrupted at %s:%d", ar.short_src, ar.currentline);
        return 1;
      }
    }
    lua_pushliteral(L, "interrupted");
    return 1;
  }
  const char *msg = lua_tostring(L, 1);
  if (!msg) {
    if (luaL_callmeta(L, 1, "__tostring") && lua_type(L, -1) == LUA_TSTRING) msg = lua_tostring(L, -1);
    else msg = lua_pushfstring(L, "(error object is a %s value)", luaL_typename(L, 1));
  }
  /* An error from a Lua plugin carries the traceback taken where it was raised (lregister.c),
   * which already runs through the script's frames: one traceback, not two. */
  if (strstr(msg, "\nstack traceback:\n")) {
    lua_pushstring(L, msg);
    return 1;
  }
  luaL_traceback(L, L, msg, 1);
  return 1;
}

/* ---- recording ---- */

static lundi_run *recording; /* the run being recorded, for the os.exit wrapper */

/* The type a param gets in Lua (see push_value), as the store names it. */
static const char *param_type(lua_State *L, const char *v) {
  if (!v || !strcmp(v, "true") || !strcmp(v, "false")) return "bool";
  if (!*v || !lua_stringtonumber(L, v)) return "string";
  const char *t = lua_isinteger(L, -1) ? "int" : "float";
  lua_pop(L, 1);
  return t;
}

/* "message" plus the traceback down to its first frame in Lua code (frames in C say
 * little): "x.lua:3: boom\nstack traceback:\n\t[C]: in function 'error'\n\tx.lua:3: in ...". */
static char *exit_message(const char *error) {
  if (!error) return NULL;
  const char *tb = strstr(error, "\nstack traceback:");
  if (!tb) return strdup(error);
  const char *line = strchr(tb + 1, '\n');
  while (line && !strncmp(line, "\n\t[C]:", 6)) line = strchr(line + 1, '\n');
  const char *end = line ? strchr(line + 1, '\n') : NULL;
  return strndup(error, end ? (size_t)(end - error) : strlen(error));
}

static char *read_text(const char *path) {
  FILE *f = fopen(path, "rb");
  if (!f) return NULL;
  size_t cap = 4096, n = 0;
  char *b = malloc(cap);
  while (b) {
    n += fread(b + n, 1, cap - n - 1, f);
    if (n < cap - 1) break;
    char *nb = realloc(b, cap *= 2);
    if (!nb) free(b);
    b = nb;
  }
  fclose(f);
  if (b) b[n] = 0;
  return b;
}

/* Starts the run: name (params.name, else the script's name without .lua), script path,
 * text (given_text, else the file's) and sha256, device, seed (--seed, else none until the
 * script records a seed param), and every param with its type. */
static int begin_run(lundi_store *st, lua_State *L, const char *script, const char *given_text,
                     const run_param *p, int n, lundi_run **out) {
  *out = NULL;
  char *text = given_text ? strdup(given_text) : read_text(script);
  if (!text) return 0; /* the script cannot be read: luaL_loadfile reports it; no run */
  char name[256], *abs = realpath(script, NULL);
  const char *base = strrchr(script, '/') ? strrchr(script, '/') + 1 : script;
  snprintf(name, sizeof name, "%s", base);
  size_t bl = strlen(name);
  if (bl > 4 && !strcmp(name + bl - 4, ".lua")) name[bl - 4] = 0;
  int64_t seed = 0;
  int has_seed = 0;
  for (int i = 0; i < n; i++) {
    if (p[i].keylen == 4 && !strncmp(p[i].arg + 2, "name", 4) && p[i].value)
      snprintf(name, sizeof name, "%s", p[i].value);
    if (p[i].keylen == 4 && !strncmp(p[i].arg + 2, "seed", 4) && p[i].value)
      seed = strtoll(p[i].value, NULL, 0), has_seed = 1;
  }
  lundi_run_info info = {.name = name, .script_path = abs ? abs : script, .script_text = text,
                         .device = lundi_device_name(lundi_default_device()), .seed = seed,
                         .no_seed = !has_seed};
  lundi_run *r = lundi_run_begin(st, &info);
  free(abs);
  free(text);
  if (!r) return cli_fail("%s", lundi_last_error());
  for (int i = 0; i < n; i++) {
    char key[256];
    snprintf(key, sizeof key, "%.*s", (int)p[i].keylen, p[i].arg + 2);
    const char *v = p[i].value ? p[i].value : "true";
    if (lundi_run_param(r, key, v, param_type(L, p[i].value)) != 0)
      fprintf(stderr, "lundi: warning: %s\n", lundi_last_error());
  }
  *out = r;
  return 0;
}

/* os.exit ends the process without returning to run_script: end the run first. */
static int exit_wrapper(lua_State *L) {
  if (recording) {
    int code = lua_isboolean(L, 1) ? !lua_toboolean(L, 1) : (int)luaL_optinteger(L, 1, 0);
    lundi_run_status st = code == 0 ? LUNDI_RUN_FINISHED : LUNDI_RUN_FAILED;
    char msg[64];
    snprintf(msg, sizeof msg, "os.exit(%d)", code);
    lundi_lua_set_exit_status(L, st);
    lundi_lua_detach_current_run(L);
    lundi_session_set_current(NULL);
    if (lundi_run_end(recording, st, code ? msg : NULL) != 0)
      fprintf(stderr, "lundi: warning: %s\n", lundi_last_error());
    recording = NULL;
  }
  lua_pushvalue(L, lua_upvalueindex(1));
  lua_insert(L, 1);
  lua_call(L, lua_gettop(L) - 1, LUA_MULTRET);
  return lua_gettop(L);
}

static void wrap_os_exit(lua_State *L) {
  if (lua_getglobal(L, "os") == LUA_TTABLE) {
    lua_getfield(L, -1, "exit");
    lua_pushcclosure(L, exit_wrapper, 1);
    lua_setfield(L, -2, "exit");
  }
  lua_pop(L, 1);
}

/* ---- the run ---- */

/* text (from --script-text) loads under SCRIPT's name, its '#' first line skipped as
 * luaL_loadfile does (the newline kept, so line numbers stay). */
static int load_script(lua_State *L, const char *script, const char *text) {
  if (!text) return luaL_loadfile(L, script);
  const char *body = text;
  if (*body == '#') body += strcspn(body, "\n");
  lua_pushfstring(L, "@%s", script);
  int rc = luaL_loadbufferx(L, body, strlen(body), lua_tostring(L, -1), "t");
  lua_remove(L, -2);
  return rc;
}

static cli_run_status run_script(lua_State *L, const char *script, const char *text, const run_param *params,
                                 int n_params, int argc, char **argv, int script_at, int rest,
                                 char **error) {
  lua_pushcfunction(L, message_handler);
  int base = lua_gettop(L);
  if (load_script(L, script, text) != LUA_OK) {
    *error = strdup(lua_tostring(L, -1)); /* "cannot open x" or "x.lua:3: ..." */
    return CLI_RUN_FAILED;
  }
  set_arg(L, argc, argv, script_at);
  push_params(L, params, n_params);
  lua_pushvalue(L, -1);
  lua_setglobal(L, "params");
  for (int i = rest; i < argc; i++) lua_pushstring(L, argv[i]);
  int nargs = 1 + argc - rest;

  struct sigaction sa = {0}, old;
  sa.sa_handler = on_sigint;
  sigemptyset(&sa.sa_mask);
  running = L;
  sigaction(SIGINT, &sa, &old);
  int rc = lua_pcall(L, nargs, 0, base);
  sigaction(SIGINT, &old, NULL);
  running = NULL;
  if (interrupted && rc != LUA_OK) {
    *error = strdup(lua_tostring(L, -1));
    return CLI_RUN_INTERRUPTED;
  }
  if (rc != LUA_OK) {
    *error = strdup(lua_tostring(L, -1));
    return CLI_RUN_FAILED;
  }
  return CLI_RUN_FINISHED;
}

/* Resolves --device / LUNDI_DEVICE (else auto) before the script starts: an explicit device
 * that cannot be used fails here; auto falling back to the CPU says why, once. */
static int resolve_device(const cli_opts *o) {
  const char *spec = o->device ? o->device : lundi_device_env();
  lundi_device *d = o->device ? lundi_device_from_name(o->device) : lundi_device_from_env();
  if (!d) {
    /* A device this machine lacks is a usage error, like a malformed name; the registry's
     * message may already start with the name. */
    const char *why = lundi_last_error();
    size_t n = spec ? strlen(spec) : 0;
    if (n && !strncmp(why, spec, n) && why[n] == ':' && why[n + 1] == ' ') why += n + 2;
    return cli_usage_error("run", "%s%s: %s (see 'lundi devices')", o->device ? "--device " : "LUNDI_DEVICE=",
                           spec ? spec : "auto", why);
  }
  lundi_set_default_device(d);
  const char *note = lundi_device_auto_note();
  if (*note && !o->quiet) fprintf(stderr, "lundi: Vulkan not used, running on the CPU: %s\n", note);
  return 0;
}

int cli_cmd_run(cli_opts *o, int argc, char **argv, int at) {
  int i = at + 1, record = !o->no_record;
  const char *text_file = NULL;
  while (i < argc && argv[i][0] == '-' && argv[i][1]) {
    if (cli_is_help(argv[i])) {
      cli_print_help(stdout, cli_find_command("run"));
      return CLI_OK;
    }
    if (!strcmp(argv[i], "--no-record")) {
      record = 0;
      i++;
      continue;
    }
    int r = cli_take_value(argc, argv, &i, "--script-text", &text_file, "run");
    if (r == 0) r = cli_global_option(o, argc, argv, &i, "run");
    if (r < 0) return CLI_USAGE;
    if (r == 0)
      return cli_usage_error("run", "unknown option '%s' before the script (script parameters go "
                             "after it: lundi run SCRIPT %s)", argv[i], argv[i]);
  }
  if (i >= argc) return cli_usage_error("run", "missing the script to run (lundi run SCRIPT)");
  int script_at = i;
  const char *script = argv[i];
  char *text = NULL;
  if (text_file && !(text = read_text(text_file)))
    return cli_fail("cannot read --script-text %s: %s", text_file, strerror(errno));
  run_param *params = calloc((size_t)argc, sizeof *params);
  int n_params, rest;
  if (!params) return free(text), cli_fail("out of memory");
  if (parse_params(argc, argv, script_at + 1, params, &n_params, &rest) != 0) {
    free(params), free(text);
    return CLI_USAGE;
  }
  cli_apply(o);
  /* The plugins before the device: a plugin file may add the backend --device names. */
  lundi_registry *reg = cli_load_registry(o);
  if (!reg) {
    free(params), free(text);
    return CLI_FAIL;
  }
  int bad = cli_check_device(o);
  if (!bad) bad = resolve_device(o);
  if (bad) {
    lundi_registry_free(reg);
    free(params), free(text);
    return bad;
  }
  if (o->db) setenv("LUNDI_DB", o->db, 1); /* lundi.run{} in the script defaults to it too */
  /* The store before the script: if it cannot record, refuse before any work is done. */
  lundi_store *store = NULL;
  if (record && !(store = lundi_store_open(o->db, 0))) {
    lundi_registry_free(reg);
    free(params), free(text);
    return cli_fail("%s\nlundi: the script was not started; fix the store, pick another with "
                    "--db FILE, or run without recording (lundi run --no-record ...)",
                    lundi_last_error());
  }
  lua_State *L = luaL_newstate();
  if (!L) {
    lundi_registry_free(reg);
    lundi_store_close(store);
    free(params), free(text);
    return cli_fail("cannot create a Lua state: out of memory");
  }
  luaL_openlibs(L);
  lundi_lua_open(L, reg);
  lua_pop(L, 1);
  lundi_run *run = NULL;
  if (store) {
    if (begin_run(store, L, script, text, params, n_params, &run) != 0) {
      lua_close(L);
      lundi_registry_free(reg);
      lundi_store_close(store);
      free(params), free(text);
      return CLI_FAIL;
    }
    if (run) {
      lundi_lua_set_current_run(L, run);
      if (lundi_session_set_current(run) != 0) fprintf(stderr, "lundi: warning: %s\n", lundi_last_error());
      recording = run;
      wrap_os_exit(L);
      cli_record_plugin_files(run, o, reg);
      cli_watch_lua_files(L);
    }
  }
  char *error = NULL;
  cli_run_status st = run_script(L, script, text, params, n_params, argc, argv, script_at, rest, &error);
  lundi_run_status rst = st == CLI_RUN_FINISHED ? LUNDI_RUN_FINISHED
                         : st == CLI_RUN_INTERRUPTED ? LUNDI_RUN_INTERRUPTED : LUNDI_RUN_FAILED;
  lundi_lua_set_exit_status(L, rst);
  lua_close(L); /* finalisers run here, before the messages below (a bar ends its line) */
  lundi_registry_free(reg);
  free(params), free(text);
  if (recording) { /* after lua_close: finalisers may still log to it */
    lundi_session_set_current(NULL);
    char *msg = exit_message(error);
    if (lundi_run_end(recording, rst, msg) != 0) fprintf(stderr, "lundi: warning: %s\n", lundi_last_error());
    free(msg);
    recording = NULL;
  }
  lundi_store_close(store);
  if (st != CLI_RUN_FINISHED) fprintf(stderr, "lundi: %s\n", error ? error : "out of memory");
  free(error);
  return st == CLI_RUN_FINISHED ? CLI_OK : st == CLI_RUN_INTERRUPTED ? CLI_INTERRUPTED : CLI_FAIL;
}
