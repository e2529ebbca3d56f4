/* Helpers shared by the store tests: temporary directories, SQL one-liners, file hashes. */
#ifndef LUNDI_TEST_STORE_UTIL_H
#define LUNDI_TEST_STORE_UTIL_H

#include "harness.h"
#include "lundi/store.h"
#include "store/store_hooks.h"

#include <ftw.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char t_dir[256];

static inline int t_rm(const char *p, const struct stat *sb, int flag, struct FTW *f) {
  (void)sb, (void)flag, (void)f;
  chmod(p, 0700); /* tests make things read-only; make them removable again */
  return remove(p);
}

static inline void t_cleanup(void) {
  if (getenv("LUNDI_TEST_KEEP")) return; /* for debugging */
  if (!t_dir[0]) return;
  chmod(t_dir, 0700);
  nftw(t_dir, t_rm, 16, FTW_DEPTH | FTW_PHYS);
}

/* A fresh directory for this case; "<dir>/<name>" in out. Removed at exit. */
static inline const char *t_path(const char *name) {
  static char buf[8][512];
  static int next;
  if (!t_dir[0]) {
    snprintf(t_dir, sizeof t_dir, "/tmp/lundi-store-test-XXXXXX");
    if (!mkdtemp(t_dir)) {
      perror("mkdtemp");
      exit(2);
    }
    atexit(t_cleanup);
  }
  char *b = buf[next++ % 8];
  snprintf(b, 512, "%s/%s", t_dir, name);
  return b;
}

/* First column of the first row as int64 / double / malloc'd text (NULL when no row). */
static inline sqlite3_int64 q_int(sqlite3 *db, const char *sql) {
  sqlite3_stmt *st = NULL;
  sqlite3_int64 v = -999999;
  if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK) {
    fprintf(stderr, "q_int: %s: %s\n", sql, sqlite3_errmsg(db));
    t_failures++;
  } else if (sqlite3_step(st) == SQLITE_ROW) v = sqlite3_column_int64(st, 0);
  sqlite3_finalize(st);
  return v;
}

static inline double q_double(sqlite3 *db, const char *sql) {
  sqlite3_stmt *st = NULL;
  double v = -999999;
  if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK) {
    fprintf(stderr, "q_double: %s: %s\n", sql, sqlite3_errmsg(db));
    t_failures++;
  } else if (sqlite3_step(st) == SQLITE_ROW) v = sqlite3_column_double(st, 0);
  sqlite3_finalize(st);
  return v;
}

static inline char *q_text(sqlite3 *db, const char *sql) {
  sqlite3_stmt *st = NULL;
  char *v = NULL;
  if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK) {
    fprintf(stderr, "q_text: %s: %s\n", sql, sqlite3_errmsg(db));
    t_failures++;
  } else if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_text(st, 0))
    v = strdup((const char *)sqlite3_column_text(st, 0));
  sqlite3_finalize(st);
  return v;
}

static inline int q_text_is(sqlite3 *db, const char *sql, const char *want) {
  char *v = q_text(db, sql);
  int ok = v && want && strcmp(v, want) == 0;
  if (!ok) fprintf(stderr, "  %s -> %s (want %s)\n", sql, v ? v : "NULL", want ? want : "NULL");
  free(v);
  return ok;
}

/* A plain SQLite connection to a store file, independent of lundi. */
static inline sqlite3 *raw_open(const char *path) {
  sqlite3 *db = NULL;
  if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL) != SQLITE_OK) {
    fprintf(stderr, "raw_open %s: %s\n", path, db ? sqlite3_errmsg(db) : "?");
    t_failures++;
  }
  sqlite3_busy_timeout(db, 10000);
  return db;
}

static inline unsigned char *read_all(const char *path, size_t *n) {
  FILE *f = fopen(path, "rb");
  if (!f) return NULL;
  fseek(f, 0, SEEK_END);
  long sz = ftell(f);
  fseek(f, 0, SEEK_SET);
  unsigned char *b = malloc((size_t)sz + 1);
  *n = fread(b, 1, (size_t)sz, f);
  fclose(f);
  return b;
}

static inline void file_sha(const char *path, char out[65]) {
  size_t n = 0;
  unsigned char *b = read_all(path, &n);
  if (!b) {
    strcpy(out, "missing");
    return;
  }
  lundi_sha256_hex(b, n, out);
  free(b);
}

static inline void write_file(const char *path, const void *data, size_t n) {
  FILE *f = fopen(path, "wb");
  fwrite(data, 1, n, f);
  fclose(f);
}

#endif
