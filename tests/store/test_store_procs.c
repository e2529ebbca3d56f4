/* Real processes against one store: a writer killed with SIGKILL mid-run, and two writers
 * at once. Children fork before any SQLite handle exists in the parent. */
#include "store_util.h"

#include <signal.h>
#include <sys/wait.h>
#include <time.h>

static void sleep_ms(int ms) {
  struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
  nanosleep(&ts, NULL);
}

/* Logs forever, flushing every 500 values, and writes the number flushed so far to fd. */
static void killed_child(const char *p, int fd) {
  lundi_store *s = lundi_store_open(p, 0);
  lundi_run *r = s ? lundi_run_begin(s, NULL) : NULL;
  if (!r) _exit(3);
  for (int64_t i = 0;; i++) {
    if (lundi_run_log(r, "loss", i, (double)i) != 0) _exit(4);
    if ((i + 1) % 500 == 0) {
      if (lundi_run_flush(r) != 0) _exit(5);
      int64_t done = i + 1;
      if (write(fd, &done, sizeof done) != sizeof done) _exit(6);
    }
    if (i % 100 == 0) sleep_ms(1);
  }
}

static void sigkill_keeps_flushed(void) {
  const char *p = t_path("kill.db");
  int fds[2];
  CHECK(pipe(fds) == 0);
  pid_t pid = fork();
  if (pid == 0) {
    close(fds[0]);
    killed_child(p, fds[1]);
  }
  close(fds[1]);
  int64_t flushed = 0, v;
  while (flushed < 2000 && read(fds[0], &v, sizeof v) == sizeof v) flushed = v;
  CHECK(flushed >= 2000);
  kill(pid, SIGKILL);
  int st = 0;
  waitpid(pid, &st, 0);
  CHECK(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);
  /* Values flushed after our last read may be there too, never fewer. */
  while (read(fds[0], &v, sizeof v) == sizeof v) flushed = v;
  close(fds[0]);

  lundi_store *s = lundi_store_open(p, 0); /* the next invocation reaps the run */
  CHECK(s != NULL);
  if (!s) return;
  sqlite3 *db = lundi__store_db(s);
  char want[80];
  snprintf(want, sizeof want, "failed|crashed (process %d is gone)", (int)pid);
  CHECK(q_text_is(db, "SELECT status || '|' || exit_message FROM runs", want));
  sqlite3_int64 n = q_int(db, "SELECT count(*) FROM metrics");
  CHECK(n >= flushed);
  CHECK(n % 500 == 0); /* whole transactions only */
  /* No gaps: steps 0..n-1, each once, and the summary agrees. */
  CHECK(q_int(db, "SELECT count(DISTINCT step) FROM metrics") == n);
  CHECK(q_int(db, "SELECT max(step) FROM metrics") == n - 1);
  CHECK(q_int(db, "SELECT count FROM metric_summary") == n);
  CHECK_NEAR(q_double(db, "SELECT end_time FROM runs"), q_double(db, "SELECT max(wall_time) FROM metrics"), 1e-6);
  fprintf(stderr, "flushed before the kill: %lld, present: %lld\n", (long long)flushed, (long long)n);
  lundi_store_close(s);
}

static void writer(const char *p, const char *key, int n) {
  lundi_store *s = lundi_store_open(p, 0);
  lundi_run *r = s ? lundi_run_begin(s, NULL) : NULL;
  if (!r) {
    fprintf(stderr, "writer %s: %s\n", key, lundi_last_error());
    _exit(3);
  }
  /* Both runs are open before either logs, so their writes overlap. */
  sqlite3 *db = raw_open(p);
  for (int tries = 0; q_int(db, "SELECT count(*) FROM runs") < 2 && tries < 5000; tries++) sleep_ms(1);
  sqlite3_close(db);
  /* Small flushes so the two processes interleave many transactions. */
  for (int i = 0; i < n; i++) {
    if (lundi_run_log(r, key, i, i * 0.5) != 0) {
      fprintf(stderr, "writer %s: %s\n", key, lundi_last_error());
      _exit(4);
    }
    if (i % 250 == 249 && lundi_run_flush(r) != 0) {
      fprintf(stderr, "writer %s: %s\n", key, lundi_last_error());
      _exit(5);
    }
  }
  int rc = lundi_run_end(r, LUNDI_RUN_FINISHED, NULL);
  lundi_store_close(s);
  _exit(rc == 0 ? 0 : 6);
}

static void two_writers(void) {
  const char *p = t_path("two.db"); /* created by whichever writer comes first */
  int fds[2];
  CHECK(pipe(fds) == 0);
  pid_t a = fork();
  if (a == 0) {
    char c;
    close(fds[1]);
    if (read(fds[0], &c, 1) != 1) _exit(7); /* start together */
    writer(p, "a", 10000);
  }
  pid_t b = fork();
  if (b == 0) {
    char c;
    close(fds[1]);
    if (read(fds[0], &c, 1) != 1) _exit(7);
    writer(p, "b", 10000);
  }
  close(fds[0]);
  CHECK(write(fds[1], "go", 2) == 2);
  close(fds[1]);
  int sa = 0, sb = 0;
  waitpid(a, &sa, 0);
  waitpid(b, &sb, 0);
  CHECK(WIFEXITED(sa) && WEXITSTATUS(sa) == 0);
  CHECK(WIFEXITED(sb) && WEXITSTATUS(sb) == 0);
  lundi_store *s = lundi_store_open(p, LUNDI_STORE_READONLY);
  CHECK(s != NULL);
  if (!s) return;
  sqlite3 *db = lundi__store_db(s);
  CHECK(q_int(db, "SELECT count(*) FROM runs WHERE status = 'finished'") == 2);
  CHECK(q_int(db, "SELECT count(*) FROM metrics") == 20000);
  CHECK(q_int(db, "SELECT count(DISTINCT run_id || key || step) FROM metrics") == 20000);
  CHECK(q_int(db, "SELECT count(*) FROM metric_summary WHERE count = 10000") == 2);
  CHECK_NEAR(q_double(db, "SELECT sum(value) FROM metrics"), 2 * 0.5 * 9999.0 * 10000 / 2, 1e-6);
  /* Did they really overlap? The runs' lifetimes must intersect. */
  CHECK(q_int(db, "SELECT count(*) FROM runs a JOIN runs b ON a.id < b.id"
                  " WHERE a.start_time < b.end_time AND b.start_time < a.end_time") == 1);
  lundi_store_close(s);
}

static const test_case cases[] = {
    {"sigkill_keeps_flushed", sigkill_keeps_flushed},
    {"two_writers", two_writers},
};
TEST_MAIN(cases)
