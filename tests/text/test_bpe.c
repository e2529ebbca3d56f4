/* Trained BPE (runtime/text/bpe_train.c, bpe_encode.c, tokenizer_json.c): training and
 * encoding against plain reference implementations, determinism, round trips, save/load,
 * hostile JSON files and a mutation pass over the loader. */
#include <dirent.h>
#include <stdint.h>
#include <sys/stat.h>
#include <unistd.h>

#include "harness.h"
#include "lundi/file.h"
#include "lundi/tokenizer.h"
#include "text/tokenizer_internal.h"
#include "text_util.h"

static char tmpdir[] = "/tmp/lundi_bpe_XXXXXX";

static const char *tmp_path(const char *name) {
  static char buf[256];
  tu_tmpdir(tmpdir);
  snprintf(buf, sizeof buf, "%s/%s", tmpdir, name);
  return buf;
}

static lundi_tokenizer *train_on(const char *text, int vocab) {
  const char *texts[1] = {text};
  return lundi_tokenizer_train_bpe(texts, NULL, 1, vocab);
}

/* ---- the reference trainer: recount every pair over every word occurrence each step ---- */

typedef struct ref_word {
  int32_t *id;
  int n;
} ref_word;

static int split_words(const char *text, size_t n, ref_word **out) {
  int cap = 1024, k = 0;
  ref_word *w = malloc((size_t)cap * sizeof *w);
  for (size_t i = 0; i < n;) {
    size_t l = lundi__pretok_next(text + i, n - i);
    if (k == cap) w = realloc(w, (size_t)(cap *= 2) * sizeof *w);
    w[k].id = malloc(l * sizeof *w[k].id);
    w[k].n = (int)l;
    for (size_t j = 0; j < l; j++) w[k].id[j] = (unsigned char)text[i + j];
    k++;
    i += l;
  }
  *out = w;
  return k;
}

static void merge_all(ref_word *w, int32_t a, int32_t b, int32_t z) {
  int k = 0;
  for (int i = 0; i < w->n;) {
    if (i + 1 < w->n && w->id[i] == a && w->id[i + 1] == b) w->id[k++] = z, i += 2;
    else w->id[k++] = w->id[i++];
  }
  w->n = k;
}

static int ref_train(const char *text, int n_merges, int32_t (*merges)[2]) {
  ref_word *w;
  int nw = split_words(text, strlen(text), &w), V = 256 + n_merges, m = 0;
  int64_t *count = malloc((size_t)V * (size_t)V * sizeof *count);
  for (; m < n_merges; m++) {
    memset(count, 0, (size_t)V * (size_t)V * sizeof *count);
    for (int i = 0; i < nw; i++)
      for (int j = 0; j + 1 < w[i].n; j++) count[(size_t)w[i].id[j] * (size_t)V + (size_t)w[i].id[j + 1]]++;
    int64_t best = 0;
    int32_t ba = -1, bb = -1;
    for (int32_t a = 0; a < 256 + m; a++)
      for (int32_t b = 0; b < 256 + m; b++)
        if (count[(size_t)a * (size_t)V + (size_t)b] > best)
          best = count[(size_t)a * (size_t)V + (size_t)b], ba = a, bb = b;
    if (!best) break;
    merges[m][0] = ba;
    merges[m][1] = bb;
    for (int i = 0; i < nw; i++) merge_all(&w[i], ba, bb, 256 + m);
  }
  for (int i = 0; i < nw; i++) free(w[i].id);
  free(w);
  free(count);
  return m;
}

static void bpe_train_matches_reference(void) {
  tu_state = 11;
  char *text = tu_corpus(30000);
  /* some random bytes too, so byte-level pairs of every kind take part */
  for (int i = 0; i < 400; i++) text[tu_next() % 30000] = (char)(1 + tu_next() % 255);
  const int n = 300;
  int32_t(*want)[2] = malloc(n * sizeof *want);
  int got_n = ref_train(text, n, want);
  lundi_tokenizer *t = train_on(text, 260 + n);
  CHECK(t != NULL && got_n == n);
  if (t) {
    CHECK(t->n_merges == got_n);
    int first_bad = -1;
    for (int i = 0; i < got_n && i < t->n_merges && first_bad < 0; i++)
      if (t->merge_list[i][0] != want[i][0] || t->merge_list[i][1] != want[i][1]) first_bad = i;
    if (first_bad >= 0)
      fprintf(stderr, "merge %d: lundi [%d, %d], reference [%d, %d]\n", first_bad,
              t->merge_list[first_bad][0], t->merge_list[first_bad][1], want[first_bad][0],
              want[first_bad][1]);
    CHECK(first_bad < 0);
  }
  lundi_tokenizer_free(t);
  free(want);
  free(text);
}

/* ---- the reference encoder: lowest-rank pair, every occurrence, repeat ---- */

static void bpe_encode_matches_reference(void) {
  tu_state = 12;
  char *text = tu_corpus(100000);
  lundi_tokenizer *t = train_on(text, 1200);
  CHECK(t != NULL);
  free(text);
  if (!t) return;
  int V = t->vocab;
  int32_t *rank = malloc((size_t)V * (size_t)V * sizeof *rank);
  for (size_t i = 0; i < (size_t)V * (size_t)V; i++) rank[i] = -1;
  for (int i = 0; i < t->n_merges; i++) rank[(size_t)t->merge_list[i][0] * (size_t)V + (size_t)t->merge_list[i][1]] = i;
  tu_state = 99; /* other text than the training corpus */
  text = tu_corpus(20000);
  for (int i = 0; i < 100; i++) text[tu_next() % 20000] = (char)tu_next();
  size_t n = strlen(text);
  int32_t *ids;
  int64_t k;
  CHECK(lundi_tokenizer_encode(t, text, n, &ids, &k) == 0);
  ref_word *w;
  int nw = split_words(text, n, &w);
  int64_t at = 0, mismatch = -1;
  for (int i = 0; i < nw; i++) {
    for (;;) {
      int32_t best = -1, ba = 0, bb = 0;
      for (int j = 0; j + 1 < w[i].n; j++) {
        int32_t r = rank[(size_t)w[i].id[j] * (size_t)V + (size_t)w[i].id[j + 1]];
        if (r >= 0 && (best < 0 || r < best)) best = r, ba = w[i].id[j], bb = w[i].id[j + 1];
      }
      if (best < 0) break;
      merge_all(&w[i], ba, bb, 256 + best);
    }
    for (int j = 0; j < w[i].n; j++, at++)
      if (mismatch < 0 && (at >= k || ids[at] != w[i].id[j])) mismatch = at;
    free(w[i].id);
  }
  CHECK(mismatch < 0 && at == k);
  if (mismatch >= 0) fprintf(stderr, "first different id at %lld\n", (long long)mismatch);
  free(w);
  free(ids);
  free(rank);
  free(text);
  lundi_tokenizer_free(t);
}

/* Same merges however the corpus is cut into texts and ordered, and twice in a row. */
static void bpe_train_deterministic(void) {
  tu_state = 13;
  char *text = tu_corpus(300000);
  lundi_tokenizer *a = train_on(text, 1000), *b = train_on(text, 1000);
  /* the same lines as separate texts, shuffled */
  int n = 0;
  for (char *p = text; *p; p++) n += *p == '\n';
  const char **lines = malloc((size_t)n * sizeof *lines);
  size_t *lens = malloc((size_t)n * sizeof *lens);
  int k = 0;
  for (char *p = text, *q; *p; p = q) {
    q = strchr(p, '\n') + 1;
    lines[k] = p;
    lens[k++] = (size_t)(q - p);
  }
  for (int i = n - 1; i > 0; i--) {
    int j = (int)(tu_next() % (uint32_t)(i + 1));
    const char *tl = lines[i];
    size_t tn = lens[i];
    lines[i] = lines[j], lens[i] = lens[j];
    lines[j] = tl, lens[j] = tn;
  }
  lundi_tokenizer *c = lundi_tokenizer_train_bpe(lines, lens, n, 1000);
  CHECK(a && b && c);
  if (a && b && c) {
    CHECK(a->n_merges == 1000 - 260);
    CHECK(a->n_merges == b->n_merges && a->n_merges == c->n_merges);
    CHECK(!memcmp(a->merge_list, b->merge_list, (size_t)a->n_merges * sizeof *a->merge_list));
    CHECK(!memcmp(a->merge_list, c->merge_list, (size_t)a->n_merges * sizeof *a->merge_list));
    CHECK(lundi_tokenizer_save(a, tmp_path("a.json")) == 0);
    CHECK(lundi_tokenizer_save(b, tmp_path("b.json")) == 0);
    uint8_t *fa, *fb;
    size_t na, nb;
    CHECK(lundi_file_read_all(tmp_path("a.json"), &fa, &na) == 0);
    CHECK(lundi_file_read_all(tmp_path("b.json"), &fb, &nb) == 0);
    CHECK(na == nb && !memcmp(fa, fb, na));
    free(fa);
    free(fb);
  }
  lundi_tokenizer_free(a);
  lundi_tokenizer_free(b);
  lundi_tokenizer_free(c);
  free(lines);
  free(lens);
  free(text);
}

static void bpe_roundtrip(void) {
  tu_state = 14;
  char *text = tu_corpus(50000);
  for (int i = 0; i < 500; i++) text[tu_next() % 50000] = (char)tu_next(); /* bytes merge too */
  lundi_tokenizer *t = train_on(text, 800);
  CHECK(t != NULL);
  if (t) {
    CHECK(!strcmp(lundi_tokenizer_kind(t), "bpe"));
    tu_check_roundtrips(t, 600);
    /* real text compresses */
    int32_t *ids;
    int64_t k;
    CHECK(lundi_tokenizer_encode(t, text, strlen(text), &ids, &k) == 0);
    CHECK(k < (int64_t)strlen(text) / 2);
    char *back;
    size_t bl;
    CHECK(lundi_tokenizer_decode(t, ids, k, 0, &back, &bl) == 0);
    CHECK(bl == strlen(text) && !memcmp(back, text, bl));
    free(back);
    free(ids);
  }
  lundi_tokenizer_free(t);
  free(text);
}

static void bpe_specials(void) {
  lundi_tokenizer *t = train_on("ab ab ab abc abc", 270);
  CHECK(t != NULL);
  if (!t) return;
  int v = lundi_tokenizer_vocab_size(t);
  CHECK(v < 270 && v > 260); /* ran out of pairs: stops early */
  CHECK(lundi_tokenizer_special(t, LUNDI_TOKEN_MASK) == v - 4);
  CHECK(lundi_tokenizer_special(t, LUNDI_TOKEN_EOS) == v - 3);
  CHECK(lundi_tokenizer_special(t, LUNDI_TOKEN_PAD) == v - 2);
  CHECK(lundi_tokenizer_special(t, LUNDI_TOKEN_BOS) == v - 1);
  size_t len;
  const char *p = lundi_tokenizer_piece(t, 256, &len);
  CHECK(p && len == 2 && !memcmp(p, "ab", 2)); /* the most frequent pair comes first */
  int32_t ids[] = {v - 1, 256, v - 3, v - 2};
  char *s;
  CHECK(lundi_tokenizer_decode(t, ids, 4, 0, &s, &len) == 0);
  CHECK(s && !strcmp(s, "<|bos|>ab<|endoftext|><|pad|>"));
  free(s);
  CHECK(lundi_tokenizer_decode(t, ids, 4, 1, &s, &len) == 0);
  CHECK(s && !strcmp(s, "ab"));
  free(s);
  lundi_tokenizer_free(t);
}

static void bpe_train_errors(void) {
  const char *texts[2] = {"hello", NULL};
  CHECK_ERR(lundi_tokenizer_train_bpe(texts, NULL, 1, 259), "vocab_size 259 is outside 260..");
  CHECK_ERR(lundi_tokenizer_train_bpe(texts, NULL, -1, 300), "negative number of texts");
  CHECK_ERR(lundi_tokenizer_train_bpe(NULL, NULL, 1, 300), "texts is NULL");
  size_t lens[2] = {5, 3};
  CHECK_ERR(lundi_tokenizer_train_bpe(texts, lens, 2, 300), "text 1 is NULL");
  lundi_tokenizer *t = lundi_tokenizer_train_bpe(NULL, NULL, 0, 1000); /* empty corpus */
  CHECK(t && lundi_tokenizer_vocab_size(t) == 260);
  if (t) tu_check_roundtrips(t, 30);
  lundi_tokenizer_free(t);
}

/* A megabyte-long word neither makes training nor encoding quadratic (the test's timeout
 * would catch it) and round-trips. */
static void bpe_long_word(void) {
  size_t n = 1 << 20;
  char *big = malloc(n + 1);
  for (size_t i = 0; i < n; i++) big[i] = "abcab"[i % 5];
  big[n] = 0;
  lundi_tokenizer *t = train_on(big, 400);
  CHECK(t != NULL);
  if (t) {
    int32_t *ids;
    int64_t k;
    CHECK(lundi_tokenizer_encode(t, big, n, &ids, &k) == 0);
    CHECK(k > 0 && k < (int64_t)n / 20);
    char *back;
    size_t bl;
    CHECK(lundi_tokenizer_decode(t, ids, k, 0, &back, &bl) == 0);
    CHECK(bl == n && !memcmp(back, big, n));
    free(back);
    free(ids);
  }
  lundi_tokenizer_free(t);
  free(big);
}

static int leftover_temporaries(void) {
  DIR *d = opendir(tmpdir);
  int n = 0;
  for (struct dirent *e; d && (e = readdir(d));) n += strstr(e->d_name, ".tmp") != NULL;
  if (d) closedir(d);
  return n;
}

static void bpe_save_load(void) {
  tu_state = 15;
  char *text = tu_corpus(40000);
  lundi_tokenizer *t = train_on(text, 600);
  CHECK(t != NULL);
  const char *path = tmp_path("tok.json");
  CHECK(lundi_tokenizer_save(t, path) == 0);
  CHECK(lundi_tokenizer_save(t, path) == 0); /* replaces */
  CHECK(leftover_temporaries() == 0);
  lundi_tokenizer *u = lundi_tokenizer_load(path);
  CHECK(u != NULL);
  if (t && u) {
    CHECK(!strcmp(lundi_tokenizer_kind(u), "bpe"));
    CHECK(lundi_tokenizer_vocab_size(u) == lundi_tokenizer_vocab_size(t));
    for (int s = 0; s < LUNDI_TOKEN_SPECIAL_COUNT; s++)
      CHECK(lundi_tokenizer_special(u, (lundi_special_token)s) ==
            lundi_tokenizer_special(t, (lundi_special_token)s));
    int same = 1;
    for (int id = 0; id < lundi_tokenizer_vocab_size(t); id++) {
      size_t la, lb;
      const char *pa = lundi_tokenizer_piece(t, id, &la), *pb = lundi_tokenizer_piece(u, id, &lb);
      same &= pa && pb && la == lb && !memcmp(pa, pb, la);
    }
    CHECK(same);
    int32_t *ia, *ib;
    int64_t ka, kb;
    CHECK(lundi_tokenizer_encode(t, text, strlen(text), &ia, &ka) == 0);
    CHECK(lundi_tokenizer_encode(u, text, strlen(text), &ib, &kb) == 0);
    CHECK(ka == kb && !memcmp(ia, ib, (size_t)ka * sizeof *ia));
    free(ia);
    free(ib);
  }
  lundi_tokenizer_free(u);
  lundi_tokenizer_free(t);
  free(text);
  /* bytes saves as its kind */
  lundi_tokenizer *b = lundi_tokenizer_bytes();
  CHECK(lundi_tokenizer_save(b, tmp_path("bytes.json")) == 0);
  lundi_tokenizer_free(b);
  b = lundi_tokenizer_load(tmp_path("bytes.json"));
  CHECK(b && !strcmp(lundi_tokenizer_kind(b), "bytes") && lundi_tokenizer_vocab_size(b) == 260);
  CHECK_ERR(lundi_tokenizer_save(b, "/nonexistent-dir/x.json"), "tokenizer_save");
  CHECK_ERR(lundi_tokenizer_save(NULL, "x.json"), "tokenizer is NULL");
  lundi_tokenizer_free(b);
}

static void bpe_json_corrupt(void) {
  static const char *const cases[][2] = {
      {"", "is not valid JSON"},
      {"{\"kind\": \"bpe\", \"merges\": [[1, 2]", "is not valid JSON"},
      {"{\"kind\": \"bpe\", \"merges\": []}}", "is not valid JSON"},
      {"[]", "should hold a JSON object"},
      {"{}", "has no \"kind\" string"},
      {"{\"kind\": 3}", "has no \"kind\" string"},
      {"{\"kind\": \"wordpiece\"}", "unknown kind \"wordpiece\""},
      {"{\"kind\": \"bpe\", \"format\": 2, \"merges\": []}", "has format 2; this lundi reads format 1"},
      {"{\"kind\": \"bpe\", \"format\": \"1\", \"merges\": []}", "format should be an integer"},
      {"{\"kind\": \"bpe\"}", "\"merges\" should be an array"},
      {"{\"kind\": \"bpe\", \"merges\": {}}", "\"merges\" should be an array"},
      {"{\"kind\": \"bpe\", \"merges\": [1]}", "merges[0] should be a pair"},
      {"{\"kind\": \"bpe\", \"merges\": [[1, 2], [1, 2, 3]]}", "merges[1] should be a pair"},
      {"{\"kind\": \"bpe\", \"merges\": [[1, 256]]}", "merges[0][1] should be an integer in 0..255"},
      {"{\"kind\": \"bpe\", \"merges\": [[1, 2], [257, 3]]}", "merges[1][0] should be an integer in 0..256"},
      {"{\"kind\": \"bpe\", \"merges\": [[-1, 2]]}", "merges[0][0] should be an integer"},
      {"{\"kind\": \"bpe\", \"merges\": [[1.5, 2]]}", "merges[0][0] should be an integer"},
      {"{\"kind\": \"bpe\", \"merges\": [[1e300, 2]]}", "merges[0][0] should be an integer"},
      {"{\"kind\": \"bpe\", \"merges\": [[\"a\", 2]]}", "merges[0][0] should be an integer"},
      {"{\"kind\": \"bpe\", \"merges\": [[1, 2], [3, 4], [1, 2]]}", "merge 2 repeats merge 0"},
      {"{\"kind\": \"bpe\", \"vocab_size\": 300, \"merges\": [[1, 2]]}", "vocab_size is 300 but"},
      {"{\"kind\": \"bpe\", \"specials\": {\"eos\": 5}, \"merges\": [[1, 2]]}", "specials.eos is 5"},
      {"{\"kind\": \"bpe\", \"specials\": [], \"merges\": []}", "\"specials\" should be an object"},
      {"{\"kind\": \"gpt2\", \"package\": \"other@1\"}", "package should be"},
  };
  const char *path = tmp_path("bad.json");
  for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
    CHECK(tu_write(path, cases[i][0], strlen(cases[i][0])) == 0);
    lundi_clear_error();
    lundi_tokenizer *t = lundi_tokenizer_load(path);
    const char *e = lundi_last_error();
    if (t || !strstr(e, cases[i][1]) || !strstr(e, path)) {
      t_failures++;
      fprintf(stderr, "case %zu (%s): %s, error \"%s\"\n", i, cases[i][0], t ? "loaded" : "failed", e);
    }
    lundi_tokenizer_free(t);
  }
  /* nesting far past what a parser could recurse into */
  size_t deep = 200000;
  char *d = malloc(deep);
  memset(d, '[', deep);
  CHECK(tu_write(path, d, deep) == 0);
  free(d);
  CHECK_ERR(lundi_tokenizer_load(path), "is not valid JSON");
  CHECK_ERR(lundi_tokenizer_load(tmp_path("missing.json")), "cannot open");
  CHECK_ERR(lundi_tokenizer_load(tmpdir), "it is a directory");
  CHECK_ERR(lundi_tokenizer_load(NULL), "path is NULL");
  /* the smallest valid files */
  const char *ok = "{\"kind\": \"bpe\", \"merges\": []}";
  CHECK(tu_write(path, ok, strlen(ok)) == 0);
  lundi_tokenizer *t = lundi_tokenizer_load(path);
  CHECK(t && lundi_tokenizer_vocab_size(t) == 260);
  lundi_tokenizer_free(t);
}

/* Mutations of a saved file: the loader never crashes, and whatever it accepts works. */
static void bpe_fuzz_json(void) {
  /* a mutation that reaches "kind": "gpt2" must not start npm */
  setenv("XDG_CACHE_HOME", tmp_path("no-cache"), 1);
  setenv("LUNDI_NPM", "/nonexistent/npm", 1);
  tu_state = 16;
  char *text = tu_corpus(5000);
  lundi_tokenizer *t = train_on(text, 300);
  free(text);
  const char *path = tmp_path("seed.json");
  CHECK(t && lundi_tokenizer_save(t, path) == 0);
  lundi_tokenizer_free(t);
  uint8_t *seed;
  size_t n;
  CHECK(lundi_file_read_all(path, &seed, &n) == 0);
  if (!seed) return;
  char *m = malloc(2 * n + 64);
  int loaded = 0;
  for (int iter = 0; iter < 4000; iter++) {
    size_t k = n;
    memcpy(m, seed, n);
    int edits = 1 + (int)(tu_next() % 4);
    for (int e = 0; e < edits && k; e++) {
      size_t at = tu_next() % k;
      switch (tu_next() % 5) {
      case 0: m[at] = (char)tu_next(); break;                         /* any byte */
      case 1: m[at] = "[]{},:\"0123456789-.e "[tu_next() % 21]; break; /* a JSON byte */
      case 2: k = at; break;                                          /* truncate */
      case 3: memmove(m + at, m + at + 1, k - at - 1), k--; break;    /* delete */
      default:                                                        /* duplicate a span */
        if (k + 32 < 2 * n) {
          size_t l = tu_next() % 32;
          if (at + l > k) l = k - at;
          memmove(m + at + l, m + at, k - at);
          k += l;
        }
      }
    }
    lundi_tokenizer *u = lundi__tokenizer_parse(m, k, "fuzz");
    if (u) {
      loaded++;
      tu_check_roundtrips(u, 2);
    }
    lundi_tokenizer_free(u);
  }
  fprintf(stderr, "%d of 4000 mutations loaded\n", loaded);
  free(m);
  free(seed);
}

static const test_case TESTS[] = {
    {"train_matches_reference", bpe_train_matches_reference},
    {"encode_matches_reference", bpe_encode_matches_reference},
    {"train_deterministic", bpe_train_deterministic},
    {"roundtrip", bpe_roundtrip},
    {"specials", bpe_specials},
    {"train_errors", bpe_train_errors},
    {"long_word", bpe_long_word},
    {"save_load", bpe_save_load},
    {"json_corrupt", bpe_json_corrupt},
    {"fuzz_json", bpe_fuzz_json},
};
TEST_MAIN(TESTS)
