/* lundi rerun RUN [--key=value ...]: runs a recorded script again, with its recorded params,
 * as a child `lundi run` (the same code path, recording a new run), then tags the new run
 * rerun_of=<uuid>. The script file is used when it still has the recorded sha256; else the
 * recorded text is written to a temporary directory under the same file name. */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli.h"
#include "lundi/image.h"
#include "lundi/lundi.h"

const char cli_rerun_help[] =
    "usage: lundi rerun RUN [--key=value ...]\n"
    "\n"
    "Runs the script of RUN again, as it was when RUN started, with RUN's params and\n"
    "device; --key=value after RUN overrides or adds a param. The new run is recorded\n"
    "like any 'lundi run' and tagged rerun_of=<RUN's uuid>. The recorded file is used\n"
    "when its sha256 still matches; otherwise the recorded text is run from a\n"
    "temporary copy with the same name. Exit status: the new run's.\n"
    "\n"
    "RUN as in 'lundi show': an id, a uuid or its start, a name, 'last' or -N.\n"
    "\n"
    "example:\n"
    "  lundi rerun last --steps=10\n";

static int valid_key(const char *k) {
  if (!(*k == '_' || (*k >= 'a' && *k <= 'z') || (*k >= 'A' && *k <= 'Z'))) return 0;
  for (; *k; k++)
    if (!(*k == '_' || *k == '-' || *k == '.' || (*k >= 'a' && *k <= 'z') || (*k >= 'A' && *k <= 'Z') ||
          (*k >= '0' && *k <= '9')))
      return 0;
  return 1;
}

/* The script to run: the recorded path when unchanged, else a temporary copy (*tmpdir set). */
static char *script_file(const lundi_run_record *r, char *tmpdir, size_t cap) {
  tmpdir[0] = 0;
  if (r->script_path && r->script_sha256) {
    uint8_t *d = NULL;
    size_t n = 0;
    if (lundi_file_read_all(r->script_path, &d, &n) == 0) {
      char sha[65];
      lundi_sha256_hex(d, n, sha);
      free(d);
      if (!strcmp(sha, r->script_sha256)) return strdup(r->script_path);
    }
  }
  if (!r->script_text) {
    cli_fail("run %lld recorded no script text, and %s is %s", (long long)r->id, r->script_path ? r->script_path : "its script",
             r->script_path ? "gone or changed" : "unknown");
    return NULL;
  }
  const char *tmp = getenv("TMPDIR");
  snprintf(tmpdir, cap, "%s/lundi-rerun-XXXXXX", tmp && *tmp ? tmp : "/tmp");
  if (!mkdtemp(tmpdir)) {
    cli_fail("cannot create a temporary directory %s: %s", tmpdir, strerror(errno));
    tmpdir[0] = 0;
    return NULL;
  }
  const char *base = r->script_path ? strrchr(r->script_path, '/') : NULL;
  base = base ? base + 1 : r->script_path && *r->script_path ? r->script_path : "script.lua";
  size_t n = strlen(tmpdir) + strlen(base) + 2;
  char *path = malloc(n);
  FILE *f = path ? (snprintf(path, n, "%s/%s", tmpdir, base), fopen(path, "wb")) : NULL;
  if (!f || fputs(r->script_text, f) < 0 || fclose(f) != 0) {
    if (f) fclose(f);
    cli_fail("cannot write the script to %s", path ? path : tmpdir);
    free(path);
    return NULL;
  }
  fprintf(stderr, "lundi: %s changed since run %lld; running the recorded text from %s\n",
          r->script_path ? r->script_path : "the script", (long long)r->id, path);
  return path;
}

static int64_t max_id(lundi_store *s) {
  lundi_runs_query q = {.order_by = "id desc", .columns = "id", .limit = 1, .include_deleted = 1};
  lundi_table t;
  int64_t id = 0;
  if (lundi_history_runs(s, &q, &t) == 0) {
    if (t.n_rows == 1 && t.cells[0].type == LUNDI_CELL_INT) id = t.cells[0].i;
    lundi_table_free(&t);
  }
  return id;
}

/* The run the child recorded: newer than before, with the child's pid. */
static int64_t child_run(lundi_store *s, int64_t before, pid_t pid) {
  char where[96];
  snprintf(where, sizeof where, "id > %lld", (long long)before);
  lundi_runs_query q = {.where = where, .columns = "id", .order_by = "id"};
  lundi_table t;
  int64_t id = -1;
  if (lundi_history_runs(s, &q, &t) != 0) return -1;
  for (int64_t i = 0; i < t.n_rows && id < 0; i++) {
    lundi_run_record *r = NULL;
    char ref[32];
    snprintf(ref, sizeof ref, "%lld", (long long)t.cells[i].i);
    if (lundi_history_run(s, ref, &r) == 0 && r->pid == (int64_t)pid) id = r->id;
    lundi_run_record_free(r);
  }
  lundi_table_free(&t);
  return id;
}

static int spawn(char **args) {
  pid_t pid = fork();
  if (pid < 0) return cli_fail("cannot start the rerun: %s", strerror(errno)), -1;
  if (pid == 0) {
    execv("/proc/self/exe", args);
    fprintf(stderr, "lundi: cannot run /proc/self/exe: %s\n", strerror(errno));
    _exit(127);
  }
  return pid;
}

int cli_cmd_rerun(cli_opts *o, int argc, char **argv, int at) {
  const char *ref = NULL;
  int first_override = argc;
  for (int i = at + 1; i < argc && first_override == argc;) {
    if (cli_is_help(argv[i])) {
      cli_print_help(stdout, cli_find_command("rerun"));
      return CLI_OK;
    }
    if (ref) {
      if (strncmp(argv[i], "--", 2) || !strchr(argv[i], '=')) {
        if (argv[i][0] == '-' && argv[i][1] == '-' && valid_key(argv[i] + 2)) {
          first_override = i;
          break;
        }
        return cli_usage_error("rerun", "unexpected argument '%s' after the run (params look like --key=value)", argv[i]);
      }
      first_override = i;
    } else if (argv[i][0] == '-' && !(argv[i][1] >= '0' && argv[i][1] <= '9')) {
      int r = cli_global_option(o, argc, argv, &i, "rerun");
      if (r < 0) return CLI_USAGE;
      if (r == 0) return cli_usage_error("rerun", "unknown option '%s' before the run", argv[i]);
    } else {
      ref = argv[i++];
    }
  }
  if (!ref) return cli_usage_error("rerun", "which run? (lundi rerun RUN)");
  lundi_store *s = cli_open_store(o, 0);
  if (!s) return CLI_FAIL;
  lundi_run_record *r = NULL;
  if (lundi_history_run(s, ref, &r) != 0) {
    lundi_store_close(s);
    return cli_fail("%s", lundi_last_error());
  }
  char tmpdir[4096];
  char *script = script_file(r, tmpdir, sizeof tmpdir);
  int n_args = 0, rc = CLI_FAIL;
  char **args = calloc((size_t)(2 * CLI_MAX_PLUGINS + 16 + r->n_params + argc), sizeof *args);
  char **owned = calloc((size_t)r->n_params + 1, sizeof *owned);
  if (script && args && owned) {
    args[n_args++] = "lundi";
    args[n_args++] = "--db";
    args[n_args++] = (char *)lundi_store_path(s);
    for (int i = 0; i < o->n_plugins; i++) args[n_args++] = "--plugin", args[n_args++] = (char *)o->plugins[i];
    const char *dev = o->device ? o->device : r->device;
    if (dev && strcmp(dev, "cpu")) args[n_args++] = "--device", args[n_args++] = (char *)dev;
    if (o->quiet) args[n_args++] = "--quiet";
    char threads[16];
    if (o->threads > 0) snprintf(threads, sizeof threads, "%d", o->threads), args[n_args++] = "--threads", args[n_args++] = threads;
    args[n_args++] = "run";
    args[n_args++] = script;
    for (int i = 0; i < r->n_params; i++) {
      const lundi_kv *p = &r->params[i];
      if (!valid_key(p->key)) {
        fprintf(stderr, "lundi: warning: param '%s' cannot be passed as --key=value; skipped\n", p->key);
        continue;
      }
      size_t n = strlen(p->key) + strlen(p->value ? p->value : "") + 4;
      if (!(owned[i] = malloc(n))) break;
      snprintf(owned[i], n, "--%s=%s", p->key, p->value ? p->value : "");
      args[n_args++] = owned[i];
    }
    for (int i = first_override; i < argc; i++) args[n_args++] = argv[i];
    args[n_args] = NULL;
    int64_t before = max_id(s);
    fflush(NULL);
    /* the child handles Ctrl-C (it marks its run interrupted); we wait for it */
    struct sigaction ign = {0}, old;
    ign.sa_handler = SIG_IGN;
    sigaction(SIGINT, &ign, &old);
    pid_t pid = spawn(args);
    int status = 0;
    if (pid > 0) {
      while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
      }
      rc = WIFEXITED(status) ? WEXITSTATUS(status) : WIFSIGNALED(status) ? 128 + WTERMSIG(status) : CLI_FAIL;
      int64_t id = child_run(s, before, pid);
      if (id < 0) fprintf(stderr, "lundi: warning: the rerun recorded no run in %s\n", lundi_store_path(s));
      else if (lundi_history_set_tag(s, id, "rerun_of", r->uuid) != 0)
        fprintf(stderr, "lundi: warning: cannot tag run %lld: %s\n", (long long)id, lundi_last_error());
      else fprintf(stderr, "lundi: run %lld reran run %lld (%s)\n", (long long)id, (long long)r->id, r->uuid);
    }
    sigaction(SIGINT, &old, NULL);
  } else if (script) {
    cli_fail("out of memory");
  }
  if (tmpdir[0]) {
    if (script) unlink(script);
    rmdir(tmpdir);
  }
  for (int i = 0; owned && i < r->n_params; i++) free(owned[i]);
  free(owned), free(args), free(script);
  lundi_run_record_free(r);
  lundi_store_close(s);
  return rc;
}
