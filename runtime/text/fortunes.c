/* Debian's fortunes as a corpus (lundi_dataset_fortunes, lundi_fortunes_text): the entries of
 * every fortune file, split into train and test by a hash of their text, so the split does
 * not move when files are added or reordered. */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/error.h"
#include "core/file.h"
#include "core/strbuf.h"
#include "lundi/text_data.h"
#include "text/corpus_internal.h"

#define DEFAULT_DIR "/usr/share/games/fortunes"
#define MAX_FILE ((size_t)64 << 20)

typedef enum { SPLIT_TRAIN, SPLIT_TEST, SPLIT_ALL } split_kind;

static int parse_split(const char *fn, const char *split, split_kind *out) {
  static const char *const names[] = {"train", "test", "all"};
  for (int i = 0; split && i < 3; i++)
    if (!strcmp(split, names[i])) return *out = (split_kind)i, 0;
  return lundi__err(LUNDI_EINVAL, "%s: split must be train, test or all, got '%s'", fn,
                    split ? split : "(NULL)");
}

/* FNV-1a, 64 bits: fixed on every machine. */
static uint64_t text_hash(const uint8_t *s, size_t n) {
  uint64_t h = 1469598103934665603ull;
  for (size_t i = 0; i < n; i++) h = (h ^ s[i]) * 1099511628211ull;
  return h;
}

static int in_split(split_kind k, const uint8_t *s, size_t n) {
  if (k == SPLIT_ALL) return 1;
  int test = text_hash(s, n) % 10 == 0;
  return k == SPLIT_TEST ? test : !test;
}

static int by_name(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The fortune files of dir (regular files without a '.': the .dat indexes and .u8 links are
 * not text), sorted, as malloc'd full paths. */
static int list_files(const char *dir, char ***out, int *n_out) {
  DIR *d = opendir(dir);
  if (!d)
    return lundi__err(LUNDI_EIO,
                      "fortunes: cannot open %s (install Debian's fortunes package: apt-get "
                      "install fortunes, or give dir)",
                      dir);
  char **names = NULL;
  int n = 0, cap = 0, rc = 0;
  for (struct dirent *e; rc == 0 && (e = readdir(d));) {
    if (e->d_name[0] == '.' || strchr(e->d_name, '.')) continue;
    size_t len = strlen(dir) + strlen(e->d_name) + 2;
    char *path = malloc(len);
    if (!path) {
      rc = lundi__err(LUNDI_ENOMEM, "fortunes: out of memory");
      break;
    }
    snprintf(path, len, "%s/%s", dir, e->d_name);
    struct stat st;
    if (lstat(path, &st) || !S_ISREG(st.st_mode)) {
      free(path);
      continue;
    }
    if (n == cap) {
      cap = cap ? 2 * cap : 64;
      char **grown = realloc(names, sizeof *names * (size_t)cap);
      if (!grown) {
        free(path);
        rc = lundi__err(LUNDI_ENOMEM, "fortunes: out of memory");
        break;
      }
      names = grown;
    }
    names[n++] = path;
  }
  closedir(d);
  if (rc == 0 && n == 0)
    rc = lundi__err(LUNDI_EIO, "fortunes: %s holds no fortune files (install Debian's fortunes "
                               "package: apt-get install fortunes)", dir);
  if (rc) {
    for (int i = 0; i < n; i++) free(names[i]);
    free(names);
    return rc;
  }
  qsort(names, (size_t)n, sizeof *names, by_name);
  *out = names;
  *n_out = n;
  return 0;
}

typedef int (*entry_fn)(void *ctx, const uint8_t *s, size_t n);

/* Calls fn on each non-empty entry of the split, in file then file-order. Entries end at a
 * line holding only '%'; the entry's final newline is not part of it. */
static int each_entry(const char *dir, split_kind split, entry_fn fn, void *ctx) {
  char **files = NULL;
  int n_files = 0, rc;
  if ((rc = list_files(dir ? dir : DEFAULT_DIR, &files, &n_files))) return rc;
  for (int f = 0; f < n_files && rc == 0; f++) {
    uint8_t *data = NULL;
    size_t size = 0;
    if ((rc = lundi__read_file(files[f], MAX_FILE, &data, &size, NULL))) break;
    size_t start = 0;
    for (size_t at = 0; at <= size && rc == 0;) {
      const uint8_t *nl = at < size ? memchr(data + at, '\n', size - at) : NULL;
      size_t end = nl ? (size_t)(nl - data) : size;
      size_t len = end - at;
      if (len && data[end - 1] == '\r') len--;
      int sep = len == 1 && data[at] == '%';
      if (sep || end == size) {
        size_t stop = sep ? at : size;
        while (stop > start && (data[stop - 1] == '\n' || data[stop - 1] == '\r')) stop--;
        if (stop > start && in_split(split, data + start, stop - start))
          rc = fn(ctx, data + start, stop - start);
        start = end + 1;
      }
      at = end + 1;
    }
    free(data);
  }
  for (int f = 0; f < n_files; f++) free(files[f]);
  free(files);
  return rc;
}

/* ---- windows of tokens ---- */

typedef struct windows {
  const lundi_tokenizer *tok;
  lundi__rows rows;
  int32_t *row; /* the window being filled, or NULL */
  int fill;
  int32_t bos, eos;
} windows;

static int push_id(windows *w, int32_t id) {
  if (!w->row) {
    if (!(w->row = lundi__rows_add(&w->rows))) return lundi__err(LUNDI_ENOMEM, "fortunes: out of memory");
    w->row[0] = w->bos;
    w->rows.plen[w->rows.n - 1] = 1;
    w->fill = 1;
  }
  w->row[w->fill++] = id;
  if (w->fill == w->rows.seq_len) w->row = NULL;
  return 0;
}

static int window_entry(void *ctx, const uint8_t *s, size_t n) {
  windows *w = ctx;
  int32_t *ids = NULL;
  int64_t k = 0;
  int rc = lundi_tokenizer_encode(w->tok, (const char *)s, n, &ids, &k);
  for (int64_t i = 0; i < k && rc == 0; i++) rc = push_id(w, ids[i]);
  if (rc == 0) rc = push_id(w, w->eos);
  free(ids);
  return rc;
}

lundi_dataset *lundi_dataset_fortunes(const lundi_tokenizer *tok, const char *dir,
                                      const char *split, int seq_len) {
  split_kind k = SPLIT_ALL;
  if (!tok) return lundi__errp(LUNDI_EINVAL, "fortunes: no tokenizer (NULL)");
  if (parse_split("fortunes", split, &k)) return NULL;
  if (seq_len < 2)
    return lundi__errp(LUNDI_EINVAL, "fortunes: seq_len must be at least 2, got %d", seq_len);
  windows w = {.tok = tok, .rows = {.seq_len = seq_len},
               .bos = lundi_tokenizer_special(tok, LUNDI_TOKEN_BOS),
               .eos = lundi_tokenizer_special(tok, LUNDI_TOKEN_EOS)};
  int rc = each_entry(dir, k, window_entry, &w);
  if (rc == 0 && w.row) w.rows.n--; /* the last partial window */
  if (rc == 0 && w.rows.n == 0)
    rc = lundi__err(LUNDI_EINVAL, "fortunes: the %s split is shorter than one window of %d tokens",
                    split, seq_len);
  lundi_dataset *ds = rc == 0 ? lundi__rows_dataset(&w.rows) : NULL;
  lundi__rows_free(&w.rows);
  return ds;
}

/* ---- raw text ---- */

static int append_entry(void *ctx, const uint8_t *s, size_t n) {
  lundi__strbuf *b = ctx;
  if (b->n) lundi__strbuf_put(b, "\n", 1);
  lundi__strbuf_put(b, (const char *)s, n);
  return b->oom ? lundi__err(LUNDI_ENOMEM, "fortunes_text: out of memory") : 0;
}

int lundi_fortunes_text(const char *dir, const char *split, char **text, size_t *len) {
  split_kind k = SPLIT_ALL;
  if (!text || !len) return lundi__err(LUNDI_EINVAL, "fortunes_text: text and len are required");
  if (parse_split("fortunes_text", split, &k)) return lundi_last_error_code();
  lundi__strbuf b = {0};
  int rc = each_entry(dir, k, append_entry, &b);
  if (rc) {
    free(b.s);
    return rc;
  }
  *len = b.n;
  *text = lundi__strbuf_take(&b);
  return *text ? 0 : lundi__err(LUNDI_ENOMEM, "fortunes_text: out of memory");
}
