/* Text corpora as datasets: a user's lines file and the fortunes directory (run against a
 * synthetic directory, so the test does not need the package), their layouts, the split
 * and the errors. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "harness.h"
#include "lundi/text_data.h"
#include "lundi/tokenizer.h"

typedef struct rows {
  int64_t n, L;
  int32_t *tok, *plen;
} rows;

/* Every row of ds, into host arrays (free both); ds released. */
static int read_rows(lundi_dataset *ds, rows *r) {
  memset(r, 0, sizeof *r);
  if (!ds) return -1;
  r->n = lundi_dataset_count(ds);
  int32_t *idx = malloc(sizeof *idx * (size_t)r->n);
  for (int64_t i = 0; i < r->n; i++) idx[i] = (int32_t)i;
  lundi_tensor *f[2] = {NULL, NULL};
  int rc = lundi_dataset_get(ds, idx, r->n, NULL, f);
  free(idx);
  lundi_dataset_release(ds);
  if (rc) return rc;
  r->L = lundi_dim(f[0], 1);
  r->tok = malloc(sizeof(int32_t) * (size_t)(r->n * r->L));
  r->plen = malloc(sizeof(int32_t) * (size_t)r->n);
  memcpy(r->tok, lundi_data(f[0]), sizeof(int32_t) * (size_t)(r->n * r->L));
  memcpy(r->plen, lundi_data(f[1]), sizeof(int32_t) * (size_t)r->n);
  lundi_release(f[0]);
  lundi_release(f[1]);
  return 0;
}

static void free_rows(rows *r) {
  free(r->tok);
  free(r->plen);
}

static void write_file(const char *path, const char *s, size_t n) {
  FILE *f = fopen(path, "wb");
  CHECK(f != NULL);
  if (!f) return;
  fwrite(s, 1, n, f);
  fclose(f);
}

/* The text of row i's ids [from, to) with the bytes tokenizer (ids < 256 as bytes, the
 * specials as '<'...'>' markers). */
static void row_text(const rows *r, int64_t i, int from, int to, char *out) {
  int k = 0;
  for (int j = from; j < to; j++) {
    int32_t id = r->tok[i * r->L + j];
    out[k++] = id < 256 ? (char)id : id == 256 ? 'M' : id == 257 ? 'E' : id == 258 ? 'P' : 'B';
  }
  out[k] = 0;
}

static void lines_layout(void) {
  lundi_tokenizer *tok = lundi_tokenizer_bytes();
  const char *path = "corpus_lines.txt";
  const char text[] = "hello world\n\nq?\tanswer\r\n\r\n\tno prompt\nlast";
  write_file(path, text, sizeof text - 1);
  rows r;
  CHECK(read_rows(lundi_dataset_text_lines(tok, path, 16), &r) == 0);
  CHECK(r.n == 4 && r.L == 16);
  if (r.n == 4) {
    char s[32];
    row_text(&r, 0, 0, 16, s);
    CHECK(!strcmp(s, "Bhello worldEEEE"));
    CHECK(r.plen[0] == 1);
    row_text(&r, 1, 0, 16, s);
    CHECK(!strcmp(s, "q?answerEEEEEEEE")); /* the TAB and the CR are not tokens */
    CHECK(r.plen[1] == 2);
    row_text(&r, 2, 0, 16, s);
    CHECK(!strcmp(s, "Bno promptEEEEEE"));
    CHECK(r.plen[2] == 1);
    row_text(&r, 3, 0, 16, s);
    CHECK(!strcmp(s, "BlastEEEEEEEEEEE"));
  }
  free_rows(&r);
  /* exactly full: BOS + 11 bytes + one EOS fits 13, not 12 */
  CHECK(read_rows(lundi_dataset_text_lines(tok, path, 13), &r) == 0 && r.n == 4);
  free_rows(&r);
  CHECK_ERR(lundi_dataset_text_lines(tok, path, 12),
            "corpus_lines.txt:1: the line is 13 tokens with its BOS and EOS, more than seq_len 12");
  remove(path);
  lundi_tokenizer_free(tok);
  CHECK(lundi_live_tensors() == 0);
}

static void lines_errors(void) {
  lundi_tokenizer *tok = lundi_tokenizer_bytes();
  CHECK_ERR(lundi_dataset_text_lines(tok, "no_such_file.txt", 16), "no_such_file.txt");
  write_file("corpus_empty.txt", "\n\r\n\n", 4);
  CHECK_ERR(lundi_dataset_text_lines(tok, "corpus_empty.txt", 16), "no non-empty line");
  CHECK_ERR(lundi_dataset_text_lines(tok, "corpus_empty.txt", 1), "seq_len must be at least 2");
  CHECK_ERR(lundi_dataset_text_lines(NULL, "corpus_empty.txt", 16), "no tokenizer");
  /* random bytes (invalid UTF-8, NULs, TABs) with a byte and a BPE tokenizer: rows or a
   * clear error, never a crash */
  const char *corpus[] = {"the cat sat on the mat and the dog sat on the log"};
  size_t lens[] = {strlen(corpus[0])};
  lundi_tokenizer *bpe = lundi_tokenizer_train_bpe(corpus, lens, 1, 300);
  CHECK(bpe != NULL);
  uint64_t s = 99;
  char buf[600];
  for (int round = 0; round < 200; round++) {
    int n = (int)(s % 600);
    for (int i = 0; i < n; i++) {
      s = s * 6364136223846793005ULL + 1442695040888963407ULL;
      int k = (int)(s >> 58);
      buf[i] = k < 4 ? '\n' : k < 6 ? '\t' : (char)(s >> 33);
    }
    write_file("corpus_fuzz.txt", buf, (size_t)n);
    for (int t = 0; t < 2; t++) {
      lundi_tokenizer *k = t ? bpe : tok;
      int32_t eos = lundi_tokenizer_special(k, LUNDI_TOKEN_EOS);
      lundi_dataset *ds = lundi_dataset_text_lines(k, "corpus_fuzz.txt", 64);
      if (ds) {
        rows r;
        CHECK(read_rows(ds, &r) == 0);
        for (int64_t i = 0; i < r.n; i++) CHECK(r.tok[i * r.L + r.L - 1] == eos);
        free_rows(&r);
      } else {
        CHECK(strstr(lundi_last_error(), "corpus_fuzz.txt") != NULL);
      }
    }
  }
  remove("corpus_fuzz.txt");
  remove("corpus_empty.txt");
  lundi_tokenizer_free(bpe);
  lundi_tokenizer_free(tok);
  CHECK(lundi_live_tensors() == 0);
}

/* A fortunes directory: two files of n entries each ("entry K\nline two" ...), with a .dat
 * index and a .u8 link beside them that must be ignored. */
static void make_fortunes(const char *dir, int n) {
  mkdir(dir, 0755);
  for (int f = 0; f < 2; f++) {
    char path[256], *text = malloc((size_t)n * 48 + 16);
    size_t k = 0;
    for (int i = 0; i < n; i++)
      k += (size_t)sprintf(text + k, "entry %d of %c\n%s%%\n", i, 'a' + f, i % 3 ? "line two\n" : "");
    snprintf(path, sizeof path, "%s/%c", dir, 'a' + f);
    write_file(path, text, k);
    free(text);
  }
  char dat[256], u8[256];
  snprintf(dat, sizeof dat, "%s/a.dat", dir);
  write_file(dat, "\x00\x00\x00\x02garbage", 11);
  snprintf(u8, sizeof u8, "%s/a.u8", dir);
  if (symlink("a", u8)) CHECK(0);
}

static void remove_fortunes(const char *dir) {
  char p[256];
  const char *names[] = {"a", "b", "a.dat", "a.u8"};
  for (int i = 0; i < 4; i++) {
    snprintf(p, sizeof p, "%s/%s", dir, names[i]);
    remove(p);
  }
  rmdir(dir);
}

static int count_entries(const char *text, size_t len) {
  int n = 0;
  for (size_t i = 0; i + 5 < len; i++) n += !memcmp(text + i, "entry", 5);
  return n;
}

static void fortunes_split(void) {
  const char *dir = "fortunes_synthetic";
  make_fortunes(dir, 500);
  char *train, *test, *all;
  size_t ntrain, ntest, nall;
  CHECK(lundi_fortunes_text(dir, "train", &train, &ntrain) == 0);
  CHECK(lundi_fortunes_text(dir, "test", &test, &ntest) == 0);
  CHECK(lundi_fortunes_text(dir, "all", &all, &nall) == 0);
  int a = count_entries(train, ntrain), b = count_entries(test, ntest), c = count_entries(all, nall);
  CHECK(c == 1000 && a + b == c);
  CHECK(b > 60 && b < 140); /* about 1 in 10 */
  CHECK(!memcmp(all, "entry 0 of a\nentry 1 of a\nline two\nentry 2", 42)); /* no '%', no final \n */
  CHECK(all[nall - 1] != '\n' && !strchr(all, '%'));
  /* the split is by content: the same entry goes the same way when the files move */
  char *again;
  size_t nagain;
  CHECK(lundi_fortunes_text(dir, "test", &again, &nagain) == 0 && nagain == ntest &&
        !memcmp(again, test, ntest));
  free(again);
  lundi_tokenizer *tok = lundi_tokenizer_bytes();
  rows r;
  CHECK(read_rows(lundi_dataset_fortunes(tok, dir, "test", 32), &r) == 0);
  /* windows: BOS + 31 tokens of the stream of entries, each followed by EOS */
  size_t pos = 0;
  for (int64_t i = 0; i < r.n; i++) {
    CHECK(r.tok[i * r.L] == 259 && r.plen[i] == 1);
    for (int j = 1; j < 32; j++, pos++) {
      int32_t id = r.tok[i * r.L + j];
      CHECK(pos < ntest + 1);
      if (pos < ntest) CHECK(id == (test[pos] == '\n' && !memcmp(test + pos + 1, "entry", 5) ? 257 : (uint8_t)test[pos]));
    }
  }
  CHECK(r.n == (int64_t)((ntest + 1) / 31)); /* the last partial window dropped */
  free_rows(&r);
  CHECK_ERR(lundi_dataset_fortunes(tok, dir, "dev", 32), "split must be train, test or all, got 'dev'");
  CHECK_ERR(lundi_dataset_fortunes(tok, dir, "test", 1 << 20), "shorter than one window");
  CHECK_ERR(lundi_dataset_fortunes(tok, dir, "test", 1), "seq_len must be at least 2");
  CHECK_ERR(lundi_dataset_fortunes(tok, "no_such_dir", "test", 32), "install Debian's fortunes package");
  free(train);
  free(test);
  free(all);
  lundi_tokenizer_free(tok);
  remove_fortunes(dir);
  mkdir(dir, 0755);
  CHECK_ERR(lundi_fortunes_text(dir, "all", &all, &nall), "holds no fortune files");
  rmdir(dir);
  CHECK(lundi_live_tensors() == 0);
}

static const test_case TESTS[] = {
    {"lines_layout", lines_layout},
    {"lines_errors", lines_errors},
    {"fortunes_split", fortunes_split},
};
TEST_MAIN(TESTS)
