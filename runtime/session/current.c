/* The current run of each thread, and the record of the plugins it used: an instance
 * observer (lundi/plugin_observer.h), installed once, writes each new (kind, name, params)
 * of the thread's current run to plugins_used. */
#include "lundi/plugin_observer.h"
#include "session/session_internal.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The (kind, name, params) keys recorded for the current run: a small open list, compared
 * by hash first. A run uses few distinct instances; a loop making the same one is the case
 * to be fast. */
typedef struct noted {
  uint64_t hash;
  char *key;
} noted;

typedef struct current {
  lundi_run *run;
  noted *keys;
  size_t n, cap;
} current;

static _Thread_local current cur;

static pthread_once_t observer_once = PTHREAD_ONCE_INIT;
static int observer_rc;

static uint64_t fnv1a(const char *s) {
  uint64_t h = UINT64_C(0xcbf29ce484222325);
  for (; *s; s++) h = (h ^ (unsigned char)*s) * UINT64_C(0x100000001b3);
  return h;
}

static void forget_keys(void) {
  for (size_t i = 0; i < cur.n; i++) free(cur.keys[i].key);
  free(cur.keys);
  cur.keys = NULL;
  cur.n = cur.cap = 0;
}

/* 1 when key was recorded already; else remembers it (when memory allows) and returns 0. */
static int seen_before(const char *key) {
  uint64_t h = fnv1a(key);
  for (size_t i = 0; i < cur.n; i++)
    if (cur.keys[i].hash == h && !strcmp(cur.keys[i].key, key)) return 1;
  if (cur.n == cur.cap) {
    size_t cap = cur.cap ? 2 * cur.cap : 16;
    noted *k = realloc(cur.keys, cap * sizeof *k);
    if (!k) return 0;
    cur.keys = k;
    cur.cap = cap;
  }
  char *copy = strdup(key);
  if (copy) cur.keys[cur.n++] = (noted){h, copy};
  return 0;
}

static void record_instance(const lundi_instance *inst, void *user) {
  (void)user;
  if (!cur.run) return;
  const lundi_plugin *p = lundi_instance_plugin(inst);
  const lundi_plugin_desc *d = lundi_plugin_info(p);
  const char *kind = lundi_plugin_kind_name(d->kind);
  char *json = lundi_params_to_json(lundi_instance_params(inst));
  size_t n = strlen(kind) + strlen(d->name) + (json ? strlen(json) : 0) + 3;
  char *key = malloc(n);
  if (key) snprintf(key, n, "%s\n%s\n%s", kind, d->name, json ? json : "");
  if (!key || !seen_before(key)) {
    if (lundi_run_plugin(cur.run, kind, d->name, d->version, json, lundi_plugin_origin(p)) != 0)
      fprintf(stderr, "lundi: warning: could not record the %s '%s' in the run: %s\n", kind, d->name,
              lundi_last_error());
  }
  free(key);
  free(json);
}

static void install_observer(void) { observer_rc = lundi_instance_observe(record_instance, NULL); }

int lundi_session_set_current(lundi_run *run) {
  if (run) {
    pthread_once(&observer_once, install_observer);
    if (observer_rc != 0)
      return lundi_set_error(observer_rc, "lundi_session_set_current: cannot observe plugin instances "
                             "(%d observers are installed already)", LUNDI_INSTANCE_OBSERVERS_MAX);
  }
  if (run != cur.run) forget_keys();
  cur.run = run;
  return 0;
}

lundi_run *lundi_session_current(void) { return cur.run; }

lundi_run *lundi__session_run(lundi_run *run, const char *fn) {
  if (run) return run;
  if (cur.run) return cur.run;
  lundi_set_error(LUNDI_ESTATE, "%s: no run given and none is current (lundi_session_set_current)", fn);
  return NULL;
}
