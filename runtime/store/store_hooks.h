/* The store's white-box hooks, shared by runtime/store and its tests (tests/store): the raw
 * connection, the migration entry point and the clock. The handle layout stays in
 * store_internal.h, which nothing outside runtime/store includes. */
#ifndef LUNDI_STORE_HOOKS_H
#define LUNDI_STORE_HOOKS_H

#include "lundi/store.h"

#include <sqlite3.h>

/* The open connection, for the query side (runs/show/sql). */
sqlite3 *lundi__store_db(lundi_store *s);

/* Migrates db from its user_version up to target (<= LUNDI_STORE_SCHEMA_VERSION), one step
 * per version, each step in its own IMMEDIATE transaction that also bumps user_version.
 * Returns 0 or a negative lundi status with the error set. Tests use target 1 to build
 * an old-version file. */
int lundi__store_migrate(sqlite3 *db, int target);

/* Wall-clock unix seconds with sub-second precision. */
double lundi__store_now(void);

#endif
