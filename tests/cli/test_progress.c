/* The progress bar's formatting (pure) and its plain-line output to a file. */
#include <stdlib.h>

#include "harness.h"
#include "lundi/progress.h"

static const char *fmt(const lundi_progress_view *v) {
  static char buf[512];
  lundi_progress_format(buf, sizeof buf, v);
  return buf;
}

#define CHECK_STR(got, want)                                                                  \
  do {                                                                                        \
    const char *g_ = (got), *w_ = (want);                                                     \
    if (strcmp(g_, w_)) {                                                                     \
      t_failures++;                                                                           \
      fprintf(stderr, "%s:%d: got \"%s\"\n%*swant \"%s\"\n", __FILE__, __LINE__, g_,          \
              (int)strlen(__FILE__) + 6, "", w_);                                             \
    }                                                                                         \
  } while (0)

static const char *dur(double s) {
  static char buf[32];
  lundi_progress_format_duration(buf, sizeof buf, s);
  return buf;
}

static void durations(void) {
  CHECK_STR(dur(0), "0s");
  CHECK_STR(dur(59.9), "59s");
  CHECK_STR(dur(61), "1m01s");
  CHECK_STR(dur(3599), "59m59s");
  CHECK_STR(dur(3700), "1h01m");
  CHECK_STR(dur(90000), "1d01h");
  CHECK_STR(dur(-1), "?");
  CHECK_STR(dur(NAN), "?");
  CHECK_STR(dur(INFINITY), "?");
}

static lundi_progress_view train(void) {
  return (lundi_progress_view){.label = "train", .step = 120, .total = 2000, .elapsed = 9.7,
                               .rate = 12.3, .extra = "loss 0.0412"};
}

static void plain_line(void) {
  lundi_progress_view v = train();
  CHECK_STR(fmt(&v), "train 120/2000 (6%) 12.3 it/s 9s eta 2m32s loss 0.0412");
  v.label = NULL;
  v.extra = NULL;
  CHECK_STR(fmt(&v), "120/2000 (6%) 12.3 it/s 9s eta 2m32s");
  v.step = 2500; /* past the end: clamped percentage, no negative ETA */
  CHECK_STR(fmt(&v), "2500/2000 (100%) 12.3 it/s 9s eta 0s");
}

static void final_line(void) {
  lundi_progress_view v = train();
  v.step = 2000, v.elapsed = 162.6, v.final = 1;
  CHECK_STR(fmt(&v), "train 2000/2000 (100%) 12.3 it/s 2m42s loss 0.0412");
}

static void unknown_total(void) {
  lundi_progress_view v = train();
  v.total = 0;
  CHECK_STR(fmt(&v), "train 120 12.3 it/s 9s loss 0.0412");
  v.width = 80; /* no bar either on a terminal */
  CHECK_STR(fmt(&v), "train 120 12.3 it/s 9s loss 0.0412");
}

static void rates(void) {
  lundi_progress_view v = {.step = 5, .total = 10, .elapsed = 1, .rate = 0.25};
  CHECK_STR(fmt(&v), "5/10 (50%) 4.0 s/it 1s eta 20s");
  v.rate = 0.001;
  CHECK_STR(fmt(&v), "5/10 (50%) 1000 s/it 1s eta 1h23m");
  v.rate = 250;
  CHECK_STR(fmt(&v), "5/10 (50%) 250 it/s 1s eta 0s");
  v.rate = 0; /* not known yet */
  CHECK_STR(fmt(&v), "5/10 (50%) ? it/s 1s eta ?");
}

static void tty_line(void) {
  lundi_progress_view v = train();
  v.width = 80;
  const char *s = fmt(&v);
  /* the bar takes a quarter of the width */
  CHECK_STR(s, "train 120/2000 [=>                  ]   6% 12.3 it/s 9s eta 2m32s loss 0.0412");
  v.extra = "loss 0.0412 lr 0.0001 grad_norm 1.234";
  s = fmt(&v); /* the extra text is cut, not the bar; never the last column (it would wrap) */
  CHECK_STR(s, "train 120/2000 [=>                  ]   6% 12.3 it/s 9s eta 2m32s loss 0.0412 l");
  CHECK(strlen(s) == 79);
  v.extra = "loss 0.0412";
  v.width = 200; /* the bar stops growing at 30 */
  CHECK_STR(fmt(&v), "train 120/2000 [=>                            ]   6% 12.3 it/s 9s eta 2m32s loss 0.0412");
  v.step = 2000, v.final = 1;
  CHECK_STR(fmt(&v), "train 2000/2000 [==============================] 100% 12.3 it/s 9s loss 0.0412");
  v.step = 0, v.final = 0;
  CHECK(strstr(fmt(&v), "[>       ") != NULL);
}

static void narrow_terminal(void) {
  lundi_progress_view v = train();
  v.width = 40; /* no room for a bar: the plain fields, cut at column 39 */
  CHECK_STR(fmt(&v), "train 120/2000 (6%) 12.3 it/s 9s eta 2m");
  v.width = 1;
  CHECK(strlen(fmt(&v)) <= 1);
}

static void truncation(void) {
  lundi_progress_view v = train();
  char small[10];
  CHECK(lundi_progress_format(small, sizeof small, &v) == 9);
  CHECK_STR(small, "train 120");
  char one[1] = {'x'};
  CHECK(lundi_progress_format(one, 1, &v) == 0 && one[0] == 0);
  CHECK(lundi_progress_format(NULL, 0, &v) == 0);
}

/* The extra text from pairs: sorted by key, integers, %.4g numbers, texts; truncated. */
static void extra_pairs(void) {
  lundi_progress_pair p[] = {
    {.key = "lr", .d = 1e-4}, {.key = "loss", .d = 0.041234}, {.key = "epoch", .is_int = 1, .i = 3},
    {.key = "phase", .text = "warmup"},
  };
  char buf[64];
  CHECK(lundi_progress_format_pairs(buf, sizeof buf, p, 4) == strlen(buf));
  CHECK_STR(buf, "epoch 3 loss 0.04123 lr 0.0001 phase warmup");
  char small[12];
  CHECK(lundi_progress_format_pairs(small, sizeof small, p, 4) == 11);
  CHECK_STR(small, "epoch 3 los");
  CHECK(lundi_progress_format_pairs(buf, sizeof buf, p, 0) == 0 && buf[0] == 0);
}

/* Reads f from the start into lines; returns the count. */
static int read_lines(FILE *f, char lines[][256], int max) {
  rewind(f);
  int n = 0;
  while (n < max && fgets(lines[n], 256, f)) n++;
  return n;
}

static int starts(const char *s, const char *p) { return !strncmp(s, p, strlen(p)); }

static void object_plain(void) {
  unsetenv("LUNDI_PROGRESS");
  setenv("LUNDI_PROGRESS_INTERVAL", "0", 1); /* a line at every update */
  FILE *f = tmpfile();
  CHECK(f != NULL);
  if (!f) return;
  lundi_progress *p = lundi_progress_new("t", 3, f);
  CHECK(p != NULL);
  lundi_progress_update(p, 1, "a");
  lundi_progress_update(p, 2, NULL);
  lundi_progress_update(p, 3, "c");
  lundi_progress_finish(p);
  lundi_progress_finish(p);     /* idempotent */
  lundi_progress_update(p, 4, "late"); /* ignored after finish */
  lundi_progress_free(p);
  char lines[8][256];
  int n = read_lines(f, lines, 8);
  CHECK(n == 4);
  CHECK(starts(lines[0], "t 1/3 (33%) ") && strstr(lines[0], " eta ") && strstr(lines[0], " a\n"));
  CHECK(starts(lines[1], "t 2/3 (66%) ") && strstr(lines[1], " eta "));
  CHECK(starts(lines[2], "t 3/3 (100%) ") && strstr(lines[2], " c\n"));
  CHECK(starts(lines[3], "t 3/3 (100%) ") && !strstr(lines[3], " eta ") && strstr(lines[3], " c\n"));
  fclose(f);

  unsetenv("LUNDI_PROGRESS_INTERVAL"); /* default 10 s: only the final line in a quick loop */
  f = tmpfile();
  if (!f) return;
  p = lundi_progress_new(NULL, 0, f);
  for (int i = 1; i <= 100; i++) lundi_progress_update(p, i, NULL);
  lundi_progress_free(p); /* finishes */
  n = read_lines(f, lines, 8);
  CHECK(n == 1);
  CHECK(starts(lines[0], "100 "));
  fclose(f);
  lundi_progress_update(NULL, 1, NULL); /* NULL is ignored */
  lundi_progress_finish(NULL);
  lundi_progress_free(NULL);
}

static void object_disabled(void) {
  setenv("LUNDI_PROGRESS", "0", 1);
  setenv("LUNDI_PROGRESS_INTERVAL", "0", 1);
  FILE *f = tmpfile();
  if (!f) return;
  lundi_progress *p = lundi_progress_new("quiet", 10, f);
  CHECK(p != NULL);
  for (int i = 1; i <= 10; i++) lundi_progress_update(p, i, "x");
  lundi_progress_free(p);
  CHECK(ftell(f) == 0);
  fclose(f);
  unsetenv("LUNDI_PROGRESS");
}

static const test_case tests[] = {
  {"durations", durations},       {"plain_line", plain_line},   {"final_line", final_line},
  {"unknown_total", unknown_total}, {"rates", rates},           {"tty_line", tty_line},
  {"narrow_terminal", narrow_terminal}, {"truncation", truncation},
  {"object_plain", object_plain}, {"object_disabled", object_disabled}, {"extra_pairs", extra_pairs},
};
TEST_MAIN(tests)
