/* lundi rerun RUN [--allow-changed] [--key=value ...]: runs a recorded script again, with
 * its recorded params, as a child `lundi run` (the same code path, recording a new run) in
 * the recorded working directory with the recorded plugin files, then tags the new run
 * rerun_of=<uuid>. The script file is used when it still has the recorded sha256; else the
 * recorded text goes to a temporary file that the child runs as the script's path
 * (lundi run --script-text), so paths it derives from its own location still resolve. */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli.h"
#include "lundi/image.h"
#include "lundi/lundi.h"

const char cli_rerun_help[] =
    "usage: lundi rerun RUN [--allow-changed] [--key=value ...]\n"
    "\n"
    "Runs the script of RUN again, as it was when RUN started, with RUN's params and\n"
    "device; --key=value after RUN overrides or adds a param. The new run is recorded\n"
    "like any 'lundi run' and tagged rerun_of=<RUN's uuid>.\n"
    "\n"
    "It runs in RUN's working directory, so relative paths resolve as they did. The\n"
    "script file is used when its sha256 still matches; otherwise the recorded text\n"
    "runs in its place (under the script's name, so files it finds next to itself\n"
    "are found), and the new run is tagged rerun_script=recorded_text (else file).\n"
    "The plugin files RUN loaded (--plugin, LUNDI_PLUGIN_PATH) are loaded again, and\n"
    "only those: LUNDI_PLUGIN_PATH is not read. If one of them or of the Lua files\n"
    "the script loaded is gone or its sha256 changed, rerun names it with both\n"
    "hashes and stops, unless --allow-changed (rerun's own option, wherever it\n"
    "appears) says to warn and go on with the files as they are now. Exit status:\n"
    "the new run's.\n"
    "\n"
    "RUN as in 'lundi show': an id, a uuid or its start, a name, 'last' or -N.\n"
    "\n"
    "examples:\n"
    "  lundi rerun last --steps=10\n"
    "  lundi rerun 12 --allow-changed\n";

static int valid_key(const char *k) {
  if (!(*k == '_' || (*k >= 'a' && *k <= 'z') || (*k >= 'A' && *k <= 'Z'))) return 0;
  for (; *k; k++)
    if (!(*k == '_' || *k == '-' || *k == '.' || (*k >= 'a' && *k <= 'z') || (*k >= 'A' && *k <= 'Z') ||
          (*k >= '0' && *k <= '9')))
      return 0;
  return 1;
}

/* The script to run: the recorded path when unchanged. Else the recorded text in a
 * temporary file (*tmpdir set), returned in *text_file while the script stays the recorded
 * path (the child runs the text under that name); without a recorded path, the copy is the
 * script. */
static char *script_file(const lundi_run_record *r, char *tmpdir, size_t cap, char **text_file) {
  tmpdir[0] = 0;
  *text_file = NULL;
  char sha[65];
  if (r->script_path && r->script_sha256 && lundi_sha256_file(r->script_path, sha) == 0 &&
      !strcmp(sha, r->script_sha256))
    return strdup(r->script_path);
  if (!r->script_text) {
    cli_fail("run %lld recorded no script text, and %s is %s", (long long)r->id, r->script_path ? r->script_path : "its script",
             r->script_path ? "gone or changed" : "unknown");
    return NULL;
  }
  const char *tmp = getenv("TMPDIR");
  char tmpl[4096];
  snprintf(tmpl, sizeof tmpl, "%s/lundi-rerun-XXXXXX", tmp && *tmp ? tmp : "/tmp");
  char *made = mkdtemp(tmpl), *abs = made ? realpath(made, NULL) : NULL;
  if (!abs) { /* the child may run elsewhere (the run's directory): keep the path absolute */
    cli_fail("cannot create a temporary directory %s: %s", tmpl, strerror(errno));
    if (made) rmdir(made);
    return NULL;
  }
  snprintf(tmpdir, cap, "%s", abs);
  free(abs);
  const char *base = r->script_path ? strrchr(r->script_path, '/') : NULL;
  base = base ? base + 1 : r->script_path && *r->script_path ? r->script_path : "script.lua";
  size_t n = strlen(tmpdir) + strlen(base) + 2;
  char *path = malloc(n);
  FILE *f = path ? (snprintf(path, n, "%s/%s", tmpdir, base), fopen(path, "wb")) : NULL;
  if (!f || fputs(r->script_text, f) < 0 || fclose(f) != 0) {
    if (f) fclose(f);
    cli_fail("cannot write the script to %s", path ? path : tmpdir);
    if (path) unlink(path);
    rmdir(tmpdir);
    tmpdir[0] = 0;
    free(path);
    return NULL;
  }
  if (!r->script_path) {
    fprintf(stderr, "lundi: run %lld recorded no script path; running the recorded text from %s\n", (long long)r->id, path);
    return path;
  }
  fprintf(stderr, "lundi: %s changed since run %lld; running the recorded text in its place\n", r->script_path,
          (long long)r->id);
  *text_file = path;
  return strdup(r->script_path);
}

/* Each recorded file as it is now: 0 when all match; else each difference is printed
 * (naming the file and both hashes) as an error, or as a warning with allow, and the count
 * returned. gone[i] is set for a file that can no longer be read. */
static int check_files(const lundi_run_record *r, int allow, char *gone) {
  int bad = 0;
  const char *lead = allow ? "lundi: warning: " : "lundi: ";
  for (int i = 0; i < r->n_files; i++) {
    const lundi_plugin_file *f = &r->files[i];
    char now[65];
    gone[i] = lundi_sha256_file(f->path, now) != 0;
    if (gone[i]) {
      fprintf(stderr, "%s%s file %s of run %lld is gone (%s); recorded sha256 %s\n", lead, f->role, f->path,
              (long long)r->id, lundi_last_error(), f->sha256);
      bad++;
    } else if (strcmp(now, f->sha256)) {
      fprintf(stderr, "%s%s file %s changed since run %lld: recorded sha256 %s, now %s\n", lead, f->role, f->path,
              (long long)r->id, f->sha256, now);
      bad++;
    }
  }
  if (bad && !allow)
    fprintf(stderr, "lundi: not rerunning run %lld with different files; restore %s, or pass --allow-changed to "
            "rerun with the files as they are now\n", (long long)r->id, bad == 1 ? "it" : "them");
  return bad;
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

/* The child: in dir (when not NULL), without LUNDI_PLUGIN_PATH when only_recorded. */
static int spawn(char **args, const char *dir, int only_recorded) {
  pid_t pid = fork();
  if (pid < 0) return cli_fail("cannot start the rerun: %s", strerror(errno)), -1;
  if (pid == 0) {
    if (dir && chdir(dir) != 0) {
      fprintf(stderr, "lundi: cannot enter %s: %s\n", dir, strerror(errno));
      _exit(127);
    }
    if (only_recorded) unsetenv("LUNDI_PLUGIN_PATH");
    execv("/proc/self/exe", args);
    fprintf(stderr, "lundi: cannot run /proc/self/exe: %s\n", strerror(errno));
    _exit(127);
  }
  return pid;
}

/* The run's working directory when it still exists (else a warning, and NULL: here). */
static const char *run_dir(const lundi_run_record *r) {
  struct stat sb;
  if (!r->cwd) return NULL;
  if (stat(r->cwd, &sb) == 0 && S_ISDIR(sb.st_mode)) return r->cwd;
  fprintf(stderr, "lundi: warning: the working directory %s of run %lld is gone; rerunning in the current one\n",
          r->cwd, (long long)r->id);
  return NULL;
}

/* An absolute path for the child, which may run in another directory; NULL out of memory. */
static char *absolute(const char *path) {
  char *a = realpath(path, NULL);
  return a ? a : strdup(path);
}

/* Strings the argument list points at, freed together. */
typedef struct owned_strs {
  char **v;
  int n;
} owned_strs;

static char *own(owned_strs *o, char *s) {
  if (s) o->v[o->n++] = s;
  return s;
}

/* The child's command line: lundi --db DB [--plugin F ...] [options] run [--script-text T]
 * SCRIPT --key=value ... (recorded params, then the overrides). NULL out of memory. */
static char **child_args(const cli_opts *o, lundi_store *s, const lundi_run_record *r, const char *gone,
                         const char *script, const char *text_file, char **overrides, int n_over, owned_strs *keep) {
  size_t cap = (size_t)(2 * (CLI_MAX_PLUGINS + r->n_files) + 20 + r->n_params + n_over);
  char **a = calloc(cap, sizeof *a);
  keep->v = calloc(cap, sizeof *keep->v);
  keep->n = 0;
  if (!a || !keep->v) return free(a), NULL;
  int n = 0;
  a[n++] = "lundi";
  a[n++] = "--db";
  if (!(a[n++] = own(keep, absolute(lundi_store_path(s))))) return free(a), NULL;
  for (int i = 0; i < r->n_files; i++) /* the plugin files, in the order they were loaded */
    if (strcmp(r->files[i].role, "lua") && !gone[i]) a[n++] = "--plugin", a[n++] = r->files[i].path;
  for (int i = 0; i < o->n_plugins; i++) {
    a[n++] = "--plugin";
    if (!(a[n++] = own(keep, absolute(o->plugins[i])))) return free(a), NULL;
  }
  const char *dev = o->device ? o->device : r->device;
  if (dev && strcmp(dev, "cpu")) a[n++] = "--device", a[n++] = (char *)dev;
  if (o->quiet) a[n++] = "--quiet";
  if (o->threads > 0) {
    char t[16];
    snprintf(t, sizeof t, "%d", o->threads);
    a[n++] = "--threads";
    if (!(a[n++] = own(keep, strdup(t)))) return free(a), NULL;
  }
  a[n++] = "run";
  if (text_file) a[n++] = "--script-text", a[n++] = (char *)text_file;
  a[n++] = (char *)script;
  for (int i = 0; i < r->n_params; i++) {
    const lundi_kv *p = &r->params[i];
    if (!valid_key(p->key)) {
      fprintf(stderr, "lundi: warning: param '%s' cannot be passed as --key=value; skipped\n", p->key);
      continue;
    }
    size_t len = strlen(p->key) + strlen(p->value ? p->value : "") + 4;
    char *kv = own(keep, malloc(len));
    if (!kv) return free(a), NULL;
    snprintf(kv, len, "--%s=%s", p->key, p->value ? p->value : "");
    a[n++] = kv;
  }
  for (int i = 0; i < n_over; i++) a[n++] = overrides[i];
  a[n] = NULL;
  return a;
}

/* Runs args as a child lundi in dir, waits, and tags the run it recorded. */
static int run_child(lundi_store *s, const lundi_run_record *r, char **args, const char *dir, int recorded_text) {
  int64_t before = max_id(s);
  fflush(NULL);
  /* the child handles Ctrl-C (it marks its run interrupted); we wait for it */
  struct sigaction ign = {0}, old;
  ign.sa_handler = SIG_IGN;
  sigaction(SIGINT, &ign, &old);
  /* A run recorded with its files (it has a cwd) reloads exactly those files. */
  pid_t pid = spawn(args, dir, r->cwd != NULL);
  int status = 0, rc = CLI_FAIL;
  if (pid > 0) {
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    rc = WIFEXITED(status) ? WEXITSTATUS(status) : WIFSIGNALED(status) ? 128 + WTERMSIG(status) : CLI_FAIL;
    int64_t id = child_run(s, before, pid);
    if (id < 0) fprintf(stderr, "lundi: warning: the rerun recorded no run in %s\n", lundi_store_path(s));
    else if (lundi_history_set_tag(s, id, "rerun_of", r->uuid) != 0 ||
             lundi_history_set_tag(s, id, "rerun_script", recorded_text ? "recorded_text" : "file") != 0)
      fprintf(stderr, "lundi: warning: cannot tag run %lld: %s\n", (long long)id, lundi_last_error());
    else fprintf(stderr, "lundi: run %lld reran run %lld (%s)\n", (long long)id, (long long)r->id, r->uuid);
  }
  sigaction(SIGINT, &old, NULL);
  return rc;
}

int cli_cmd_rerun(cli_opts *o, int argc, char **argv, int at) {
  /* --allow-changed is rerun's own wherever it stands; the rest parses as before */
  char **av = calloc((size_t)argc + 1, sizeof *av);
  if (!av) return cli_fail("out of memory");
  int ac = 0, allow = 0;
  for (int i = 0; i < argc; i++) {
    if (i > at && !strcmp(argv[i], "--allow-changed")) allow = 1;
    else av[ac++] = argv[i];
  }
  const char *ref = NULL;
  int first_override = ac, rc = CLI_FAIL;
  for (int i = at + 1; i < ac && first_override == ac;) {
    if (cli_is_help(av[i])) {
      cli_print_help(stdout, cli_find_command("rerun"));
      return free(av), CLI_OK;
    }
    if (ref) {
      if (strncmp(av[i], "--", 2) || !strchr(av[i], '=')) {
        if (av[i][0] == '-' && av[i][1] == '-' && valid_key(av[i] + 2)) {
          first_override = i;
          break;
        }
        rc = cli_usage_error("rerun", "unexpected argument '%s' after the run (params look like --key=value)", av[i]);
        return free(av), rc;
      }
      first_override = i;
    } else if (av[i][0] == '-' && !(av[i][1] >= '0' && av[i][1] <= '9')) {
      int r = cli_global_option(o, ac, av, &i, "rerun");
      if (r == 0) cli_usage_error("rerun", "unknown option '%s' before the run", av[i]);
      if (r <= 0) return free(av), CLI_USAGE;
    } else {
      ref = av[i++];
    }
  }
  if (!ref) return free(av), cli_usage_error("rerun", "which run? (lundi rerun RUN)");
  lundi_store *s = cli_open_store(o, 0);
  lundi_run_record *r = NULL;
  if (!s || lundi_history_run(s, ref, &r) != 0) {
    if (s) cli_fail("%s", lundi_last_error());
    lundi_store_close(s);
    return free(av), CLI_FAIL;
  }
  char *gone = calloc((size_t)r->n_files + 1, 1);
  char tmpdir[4096] = "", *text_file = NULL, *script = NULL;
  if (!gone) cli_fail("out of memory");
  else if (check_files(r, allow, gone) == 0 || allow)
    script = script_file(r, tmpdir, sizeof tmpdir, &text_file);
  if (script) {
    owned_strs keep = {0};
    char **args = child_args(o, s, r, gone, script, text_file, av + first_override, ac - first_override, &keep);
    if (args) rc = run_child(s, r, args, run_dir(r), text_file != NULL);
    else cli_fail("out of memory");
    for (int i = 0; i < keep.n; i++) free(keep.v[i]);
    free(keep.v), free(args);
  }
  if (tmpdir[0]) {
    unlink(text_file ? text_file : script);
    rmdir(tmpdir);
  }
  free(text_file), free(script), free(gone), free(av);
  lundi_run_record_free(r);
  lundi_store_close(s);
  return rc;
}
