/* GPT-2's package install, callable on synthetic tarballs (tests/text). */
#ifndef LUNDI_TEXT_GPT2_INTERNAL_H
#define LUNDI_TEXT_GPT2_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "lundi/tokenizer.h"

/* Integrity (skipped when expected is NULL), gunzip, the two files out of the tar, atomic
 * writes to the two paths (directories created). what names the tarball in messages. */
int lundi__gpt2_install(const uint8_t *tgz, size_t n, const char *expected, const char *what,
                        const char *encoder_json, const char *vocab_bpe);

#endif
