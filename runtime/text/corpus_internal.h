/* Rows of token ids being gathered for a text dataset (tokens [n, seq_len], prompt_len [n]),
 * grown as lines or windows arrive, then handed to lundi_dataset_from_tensors. */
#ifndef LUNDI_TEXT_CORPUS_INTERNAL_H
#define LUNDI_TEXT_CORPUS_INTERNAL_H

#include <stdint.h>

#include "lundi/data.h"

typedef struct lundi__rows {
  int seq_len;
  int64_t n, cap;
  int32_t *tokens; /* n * seq_len */
  int32_t *plen;   /* n */
} lundi__rows;

/* A new row at the end (seq_len ids to fill; its plen entry is 0), or NULL out of memory. */
int32_t *lundi__rows_add(lundi__rows *r);
/* The rows as a dataset (fields tokens, prompt_len); r keeps its buffers. */
lundi_dataset *lundi__rows_dataset(const lundi__rows *r);
void lundi__rows_free(lundi__rows *r);

#endif
