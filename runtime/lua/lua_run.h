/* The run object of the Lua module (lrun.c), as seen by `lundi run`. A "lundi.Run" either owns its store and run (made by lundi.run{...}) or borrows
 * them from `lundi run`, which ends the run itself after closing the state. */
#ifndef LUNDI_LUA_RUN_H
#define LUNDI_LUA_RUN_H

#include <lua.h>

#include "lundi/store.h"

/* Makes run what lundi.current_run() returns in L (borrowed: the caller ends it, after
 * lua_close). The C side's current run, which records the plugins used, is set apart:
 * lundi_session_set_current (lundi/session.h). */
void lundi_lua_set_current_run(lua_State *L, lundi_run *run);
/* Forgets the current run (lundi.current_run() returns nil, and Run objects that refer to it
 * say "the run has ended"): for os.exit, which ends it before the state closes. */
void lundi_lua_detach_current_run(lua_State *L);
/* Tells the finalisers how the script ended, before lua_close: a lundi.run{} object that
 * was never finished is ended with this status (see lrun.c). */
void lundi_lua_set_exit_status(lua_State *L, lundi_run_status st);

#endif
