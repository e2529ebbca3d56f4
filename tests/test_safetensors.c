/* safetensors checkpoints: round trips, hand-written f16/bf16 files, metadata, atomic
 * saves, module load checks, a table of malformed files and a deterministic fuzz pass. */
#include "harness.h"

#include <dirent.h>
#include <signal.h>
#include <stdint.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

static lundi_rng rng = {2024, 0};

/* 8-byte little-endian length, the header text, then dlen bytes of data. */
static uint8_t *mk(const char *json, const uint8_t *data, size_t dlen, size_t *n) {
  size_t h = strlen(json);
  *n = 8 + h + dlen;
  uint8_t *b = malloc(*n);
  for (int i = 0; i < 8; i++) b[i] = (uint8_t)((uint64_t)h >> (8 * i));
  memcpy(b + 8, json, h);
  if (dlen) memcpy(b + 8 + h, data, dlen);
  return b;
}

static int write_file(const char *path, const uint8_t *b, size_t n) {
  FILE *f = fopen(path, "wb");
  if (!f) return -1;
  size_t w = fwrite(b, 1, n, f);
  return fclose(f) || w != n ? -1 : 0;
}

static uint8_t *read_file(const char *path, size_t *n) {
  FILE *f = fopen(path, "rb");
  if (!f) return NULL;
  fseek(f, 0, SEEK_END);
  *n = (size_t)ftell(f);
  fseek(f, 0, SEEK_SET);
  uint8_t *b = malloc(*n ? *n : 1);
  if (fread(b, 1, *n, f) != *n) {
    free(b);
    b = NULL;
  }
  fclose(f);
  return b;
}

/* A load that must fail with needle in the message and leave out untouched. */
static void expect_fail(const uint8_t *b, size_t n, const char *needle, const char *what) {
  int64_t one = 1;
  lundi_tensor *keep = lundi_zeros(1, &one);
  lundi_param_list out = {0};
  lundi_param_list_push(&out, "keep", keep);
  lundi_clear_error();
  int rc = lundi_safetensors_load_mem(b, n, &out);
  if (rc == 0 || !strstr(lundi_last_error(), needle) || out.n != 1) {
    t_failures++;
    fprintf(stderr, "[%s] rc %d, %d entries, expected \"%s\", got \"%s\"\n", what, rc, out.n, needle, lundi_last_error());
  }
  lundi_param_list_free(&out);
  lundi_release(keep);
}

static void expect_fail_json(const char *json, size_t dlen, const char *needle) {
  uint8_t zeros[64] = {0};
  size_t n;
  uint8_t *b = mk(json, zeros, dlen, &n);
  expect_fail(b, n, needle, json);
  free(b);
}

static char tmpdir[64];

static void make_tmpdir(void) {
  if (tmpdir[0]) return;
  strcpy(tmpdir, "/tmp/lundi_st_XXXXXX");
  CHECK(mkdtemp(tmpdir) != NULL);
}

static void tmp_path(char *buf, size_t n, const char *name) {
  make_tmpdir();
  snprintf(buf, n, "%s/%s", tmpdir, name);
}

/* Files in tmpdir whose name starts with prefix (leftover temp files). */
static int count_prefixed(const char *prefix) {
  DIR *d = opendir(tmpdir);
  int c = 0;
  for (struct dirent *e; d && (e = readdir(d));)
    if (!strncmp(e->d_name, prefix, strlen(prefix))) c++;
  if (d) closedir(d);
  return c;
}

static void cleanup_tmpdir(void) {
  DIR *d = opendir(tmpdir);
  char p[512];
  for (struct dirent *e; d && (e = readdir(d));)
    if (e->d_name[0] != '.') {
      snprintf(p, sizeof p, "%s/%s", tmpdir, e->d_name);
      unlink(p);
    }
  if (d) closedir(d);
  rmdir(tmpdir);
  tmpdir[0] = 0;
}

/* ---- round trip ---- */

static int same_tensor(lundi_tensor *a, lundi_tensor *b) {
  if (!a || !b || lundi_ndim(a) != lundi_ndim(b) || lundi_tensor_dtype(a) != lundi_tensor_dtype(b)) return 0;
  for (int i = 0; i < lundi_ndim(a); i++)
    if (lundi_dim(a, i) != lundi_dim(b, i)) return 0;
  if (lundi_tensor_dtype(a) == LUNDI_F32 || lundi_tensor_dtype(a) == LUNDI_I32) return t_max_abs_diff(a, b) == 0;
  lundi_tensor *fa = lundi_to_dtype(a, LUNDI_F32), *fb = lundi_to_dtype(b, LUNDI_F32); /* u8 / f16 / bf16 */
  int same = fa && fb && t_max_abs_diff(fa, fb) == 0;
  lundi_release(fa);
  lundi_release(fb);
  return same;
}

static void test_roundtrip(void) {
  char path[256];
  tmp_path(path, sizeof path, "rt.safetensors");
  int64_t s[2] = {3, 4}, s0[2] = {0, 5}, s4 = 4, s5 = 5;
  lundi_tensor *w = t_randn(&rng, 2, s, 1, 1), *wt = lundi_transpose(w, 0, 1), *sc = lundi_scalar(-2.5f);
  lundi_tensor *empty = lundi_zeros(2, s0);
  int32_t iv[4] = {-7, 0, 123456789, 2147483647};
  lundi_tensor *ids = lundi_from_i32(1, &s4, iv);
  float bv[5] = {0, 1, 254, 255, 17};
  lundi_tensor *bf = lundi_from_f32(1, &s5, bv), *bytes = lundi_to_dtype(bf, LUNDI_U8);
  lundi_tensor *half = lundi_to_dtype(w, LUNDI_F16), *bhalf = lundi_to_dtype(w, LUNDI_BF16);
  lundi_param_list l = {0}, in = {0};
  lundi_param_list_push(&l, "layer.w", w);
  lundi_param_list_push(&l, "layer.wt", wt);
  lundi_param_list_push(&l, "scalar", sc);
  lundi_param_list_push(&l, "empty", empty);
  lundi_param_list_push(&l, "empty2", empty); /* two zero-size tensors at one offset */
  lundi_param_list_push(&l, "ids", ids);
  lundi_param_list_push(&l, "bytes", bytes);
  lundi_param_list_push(&l, "half", half);
  lundi_param_list_push(&l, "bhalf", bhalf);
  lundi_param_list_push(&l, "name with \"quotes\" and \\ and \xc3\xa9", sc);
  CHECK(lundi_safetensors_save(path, &l, "{\"epoch\":\"3\",\"note\":\"a \\\"quoted\\\" word\"}") == 0);
  CHECK(lundi_safetensors_load(path, &in) == 0);
  CHECK(in.n == l.n);
  for (int i = 0; i < l.n && i < in.n; i++) CHECK(!strcmp(in.names[i], l.names[i])); /* file order = list order */
  CHECK(same_tensor(lundi_param_list_find(&in, "layer.w"), w));
  lundi_tensor *wtc = lundi_contiguous(wt);
  CHECK(same_tensor(lundi_param_list_find(&in, "layer.wt"), wtc)); /* logical order */
  CHECK(same_tensor(lundi_param_list_find(&in, "scalar"), sc));
  CHECK(same_tensor(lundi_param_list_find(&in, "empty"), empty));
  CHECK(same_tensor(lundi_param_list_find(&in, "ids"), ids));
  CHECK(same_tensor(lundi_param_list_find(&in, "bytes"), bytes));
  CHECK(lundi_param_list_find(&in, "name with \"quotes\" and \\ and \xc3\xa9") != NULL);
  /* f16/bf16 come back as f32 holding the rounded values */
  lundi_tensor *h32 = lundi_to_dtype(half, LUNDI_F32), *b32 = lundi_to_dtype(bhalf, LUNDI_F32);
  CHECK(same_tensor(lundi_param_list_find(&in, "half"), h32));
  CHECK(same_tensor(lundi_param_list_find(&in, "bhalf"), b32));
  CHECK(lundi_tensor_dtype(lundi_param_list_find(&in, "half")) == LUNDI_F32);
  /* loaded tensors are fresh, not sharing the saved ones */
  CHECK(!lundi_requires_grad(lundi_param_list_find(&in, "layer.w")));
  /* layout: header padded to 8 bytes, plain integer offsets */
  size_t n;
  uint8_t *raw = read_file(path, &n);
  uint64_t hlen = 0;
  for (int i = 7; raw && i >= 0; i--) hlen = (hlen << 8) | raw[i];
  CHECK(raw && hlen % 8 == 0 && raw[8] == '{');
  char *hdr = raw ? strndup((char *)raw + 8, hlen) : NULL;
  CHECK(hdr && strstr(hdr, "\"layer.w\":{\"dtype\":\"F32\",\"shape\":[3,4],\"data_offsets\":[0,48]}"));
  CHECK(hdr && strstr(hdr, "\"half\":{\"dtype\":\"F16\""));
  CHECK(hdr && strstr(hdr, "\"ids\":{\"dtype\":\"I32\",\"shape\":[4]"));
  CHECK(hdr && strstr(hdr, "\"scalar\":{\"dtype\":\"F32\",\"shape\":[]"));
  /* metadata */
  char *meta = NULL;
  CHECK(lundi_safetensors_metadata(path, &meta) == 0);
  CHECK(meta && !strcmp(meta, "{\"epoch\":\"3\",\"note\":\"a \\\"quoted\\\" word\"}"));
  free(meta);
  lundi_param_list none = {0};
  lundi_param_list_push(&none, "x", sc);
  CHECK(lundi_safetensors_save(path, &none, NULL) == 0);
  CHECK(lundi_safetensors_metadata(path, &meta) == 0);
  CHECK(meta && !strcmp(meta, "{}"));
  free(meta);
  /* an empty list is a valid file */
  lundi_param_list nothing = {0}, back = {0};
  CHECK(lundi_safetensors_save(path, &nothing, NULL) == 0);
  CHECK(lundi_safetensors_load(path, &back) == 0 && back.n == 0);
  free(raw);
  free(hdr);
  lundi_param_list_free(&l);
  lundi_param_list_free(&in);
  lundi_param_list_free(&none);
  lundi_param_list_free(&back);
  lundi_release(w); lundi_release(wt); lundi_release(wtc); lundi_release(sc); lundi_release(empty); lundi_release(ids);
  lundi_release(bf); lundi_release(bytes); lundi_release(half); lundi_release(bhalf); lundi_release(h32); lundi_release(b32);
  cleanup_tmpdir();
}

/* ---- hand-written f16 / bf16 ---- */

static void put16(uint8_t *p, uint16_t v) {
  p[0] = (uint8_t)v;
  p[1] = (uint8_t)(v >> 8);
}

static void test_read_half(void) {
  /* f16: 1, -2, 0.5, 65504 (max), 2^-24 (smallest subnormal), +inf */
  const uint16_t f16[6] = {0x3C00, 0xC000, 0x3800, 0x7BFF, 0x0001, 0x7C00};
  const float f16v[6] = {1, -2, 0.5f, 65504, 5.9604644775390625e-8f, INFINITY};
  /* bf16: 1, -3, 0.15625, 2^100, -0 */
  const uint16_t bf16[5] = {0x3F80, 0xC040, 0x3E20, 0x7180, 0x8000};
  const float bf16v[5] = {1, -3, 0.15625f, 1.2676506002282294e30f, -0.0f};
  uint8_t data[12 + 10 + 4];
  for (int i = 0; i < 6; i++) put16(data + 2 * i, f16[i]);
  for (int i = 0; i < 5; i++) put16(data + 12 + 2 * i, bf16[i]);
  float f = 0.25f;
  memcpy(data + 22, &f, 4);
  const char *json =
      "{\"__metadata__\":{\"format\":\"pt\"},"
      "\"h\":{\"dtype\":\"F16\",\"shape\":[2,3],\"data_offsets\":[0,12]},"
      "\"b\":{\"dtype\":\"BF16\",\"shape\":[5],\"data_offsets\":[12,22]},"
      "\"s\":{\"dtype\":\"F32\",\"shape\":[],\"data_offsets\":[22,26]}}   ";
  size_t n;
  uint8_t *buf = mk(json, data, sizeof data, &n);
  lundi_param_list l = {0};
  CHECK(lundi_safetensors_load_mem(buf, n, &l) == 0);
  CHECK(l.n == 3);
  lundi_tensor *h = lundi_param_list_find(&l, "h"), *b = lundi_param_list_find(&l, "b"), *s = lundi_param_list_find(&l, "s");
  CHECK(h && lundi_tensor_dtype(h) == LUNDI_F32 && lundi_ndim(h) == 2 && lundi_dim(h, 1) == 3);
  float v[6];
  if (h && !lundi_read_f32(h, v, 6))
    for (int i = 0; i < 6; i++) CHECK(v[i] == f16v[i]);
  if (b && !lundi_read_f32(b, v, 5))
    for (int i = 0; i < 5; i++) CHECK(v[i] == bf16v[i] && signbit(v[i]) == signbit(bf16v[i]));
  CHECK(s && lundi_ndim(s) == 0 && lundi_item(s, v) == 0 && v[0] == 0.25f);
  /* tensors come back in header order, whatever the data order */
  const char *rev = "{\"z\":{\"dtype\":\"U8\",\"shape\":[2],\"data_offsets\":[4,6]},"
                    "\"y\":{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[4,4]},"
                    "\"x\":{\"dtype\":\"BF16\",\"shape\":[2],\"data_offsets\":[0,4]}}";
  size_t rn;
  uint8_t *rb = mk(rev, data, 6, &rn);
  lundi_param_list r = {0};
  CHECK(lundi_safetensors_load_mem(rb, rn, &r) == 0 && r.n == 3);
  CHECK(r.n == 3 && !strcmp(r.names[0], "z") && !strcmp(r.names[1], "y") && !strcmp(r.names[2], "x"));
  CHECK(r.n == 3 && lundi_tensor_dtype(r.tensors[0]) == LUNDI_U8 && lundi_numel(r.tensors[1]) == 0);
  lundi_param_list_free(&r);
  free(rb);
  /* a file on disk gives the same, and the f16 data survive a save as F32 */
  char path[256];
  tmp_path(path, sizeof path, "half.safetensors");
  CHECK(write_file(path, buf, n) == 0);
  lundi_param_list d = {0};
  CHECK(lundi_safetensors_load(path, &d) == 0 && d.n == 3);
  float *dv = d.n == 3 ? t_read(d.tensors[0]) : NULL, *hv = h ? t_read(h) : NULL;
  CHECK(dv && hv && !memcmp(dv, hv, 6 * sizeof(float)) && !strcmp(d.names[0], "h"));
  free(dv);
  free(hv);
  char *meta = NULL;
  CHECK(lundi_safetensors_metadata(path, &meta) == 0 && meta && !strcmp(meta, "{\"format\":\"pt\"}"));
  free(meta);
  free(buf);
  lundi_param_list_free(&l);
  lundi_param_list_free(&d);
  cleanup_tmpdir();
}

/* ---- save errors and atomicity ---- */

static void test_save_atomic(void) {
  char path[256], bad[300];
  tmp_path(path, sizeof path, "ck.safetensors");
  int64_t s = 20000; /* 80 KB */
  lundi_tensor *a = t_randn(&rng, 1, &s, 1, 0), *b = t_randn(&rng, 1, &s, 1, 0);
  lundi_param_list la = {0}, lb = {0}, in = {0};
  lundi_param_list_push(&la, "x", a);
  lundi_param_list_push(&lb, "x", b);
  CHECK(lundi_safetensors_save(path, &la, NULL) == 0);
  /* errors before writing */
  CHECK_ERR(lundi_safetensors_save(path, &lb, "[1]"), "metadata must be a flat JSON object of strings");
  CHECK_ERR(lundi_safetensors_save(path, &lb, "{\"k\":1}"), "metadata must be a flat JSON object of strings");
  lundi_param_list dup = {0};
  lundi_param_list_push(&dup, "x", a);
  lundi_param_list_push(&dup, "x", b);
  CHECK_ERR(lundi_safetensors_save(path, &dup, NULL), "duplicate tensor name 'x'");
  lundi_param_list_free(&dup);
  lundi_param_list_push(&dup, "__metadata__", a);
  CHECK_ERR(lundi_safetensors_save(path, &dup, NULL), "is reserved or empty");
  lundi_param_list_free(&dup);
  snprintf(bad, sizeof bad, "%s/no/such/dir/f.safetensors", tmpdir);
  CHECK_ERR(lundi_safetensors_save(bad, &la, NULL), "cannot create a file in its directory");
  /* a write that fails half-way (file size limit, as a full disk would) */
  struct rlimit old, lim;
  getrlimit(RLIMIT_FSIZE, &old);
  lim = old;
  lim.rlim_cur = 16384;
  void (*prev)(int) = signal(SIGXFSZ, SIG_IGN);
  CHECK(setrlimit(RLIMIT_FSIZE, &lim) == 0);
  lundi_clear_error();
  int rc = lundi_safetensors_save(path, &lb, NULL);
  setrlimit(RLIMIT_FSIZE, &old);
  signal(SIGXFSZ, prev);
  CHECK(rc == LUNDI_EIO && strstr(lundi_last_error(), "write failed") && strstr(lundi_last_error(), path));
  /* the old checkpoint is intact and no temp file is left behind */
  CHECK(count_prefixed("ck.safetensors.tmp") == 0);
  CHECK(lundi_safetensors_load(path, &in) == 0 && in.n == 1 && t_max_abs_diff(in.tensors[0], a) == 0);
  lundi_param_list_free(&in);
  /* overwriting works and replaces the contents */
  CHECK(lundi_safetensors_save(path, &lb, NULL) == 0);
  CHECK(lundi_safetensors_load(path, &in) == 0 && in.n == 1 && t_max_abs_diff(in.tensors[0], b) == 0);
  CHECK(count_prefixed("ck.safetensors.tmp") == 0);
  struct stat st;
  mode_t mask = umask(0);
  umask(mask);
  CHECK(stat(path, &st) == 0 && (st.st_mode & 0777) == (0666 & ~mask)); /* like fopen, not mkstemp's 0600 */
  /* loader errors name the file */
  char missing[300];
  snprintf(missing, sizeof missing, "%s/missing.safetensors", tmpdir);
  CHECK_ERR(lundi_safetensors_load(missing, &in), "safetensors '");
  CHECK_ERR(lundi_safetensors_load(missing, &in), "missing.safetensors': cannot open");
  CHECK_ERR(lundi_safetensors_load(tmpdir, &in), "not a regular file");
  uint8_t junk[5] = {1, 2, 3, 4, 5};
  snprintf(bad, sizeof bad, "%s/junk.safetensors", tmpdir);
  CHECK(write_file(bad, junk, sizeof junk) == 0);
  CHECK_ERR(lundi_safetensors_load(bad, &in), "junk.safetensors': truncated: 5 bytes");
  CHECK(write_file(bad, junk, 0) == 0);
  CHECK_ERR(lundi_safetensors_load(bad, &in), "truncated: 0 bytes");
  lundi_param_list_free(&in);
  lundi_param_list_free(&la);
  lundi_param_list_free(&lb);
  lundi_release(a);
  lundi_release(b);
  cleanup_tmpdir();
}

/* ---- module checkpoints ---- */

static lundi_module *small_net(int head_out, int extra) {
  lundi_module *m = lundi_module_new("Net");
  lundi_module_add_child(m, "body", lundi_linear_new(3, 4, 1, &rng));
  lundi_module_add_child(m, "head", lundi_linear_new(4, head_out, 1, &rng));
  if (extra) {
    int64_t s = 2;
    lundi_tensor *t = lundi_zeros(1, &s);
    lundi_module_add_param(m, "extra", t);
    lundi_release(t);
  }
  return m;
}

static void test_module_checkpoint(void) {
  char path[256];
  tmp_path(path, sizeof path, "net.safetensors");
  lundi_module *a = small_net(2, 0), *b = small_net(2, 0);
  CHECK(lundi_module_save(a, path) == 0);
  char *meta = NULL;
  CHECK(lundi_safetensors_metadata(path, &meta) == 0 && meta && strstr(meta, "\"format\":\"lundi\""));
  free(meta);
  CHECK(t_max_abs_diff(lundi_module_param(a, "head.weight"), lundi_module_param(b, "head.weight")) > 0);
  CHECK(lundi_module_load(b, path, 1) == 0);
  const char *names[4] = {"body.weight", "body.bias", "head.weight", "head.bias"};
  for (int i = 0; i < 4; i++) CHECK(t_max_abs_diff(lundi_module_param(a, names[i]), lundi_module_param(b, names[i])) == 0);
  CHECK(lundi_requires_grad(lundi_module_param(b, "head.weight"))); /* still a trainable leaf */
  /* a module with an extra param: strict fails naming it, non-strict loads the rest */
  lundi_module *c = small_net(2, 1);
  CHECK_ERR(lundi_module_load(c, path, 1), "1 missing parameter(s): 'extra'; 0 unexpected name(s)");
  CHECK(t_max_abs_diff(lundi_module_param(a, "body.weight"), lundi_module_param(c, "body.weight")) > 0);
  CHECK(lundi_module_load(c, path, 0) == 0);
  CHECK(t_max_abs_diff(lundi_module_param(a, "body.weight"), lundi_module_param(c, "body.weight")) == 0);
  /* a file with names the module lacks */
  CHECK(lundi_module_save(c, path) == 0);
  lundi_module *d = small_net(2, 0);
  CHECK_ERR(lundi_module_load(d, path, 1), "0 missing parameter(s); 1 unexpected name(s): 'extra'");
  CHECK(lundi_module_load(d, path, 0) == 0);
  /* shape mismatches fail even when not strict, and change nothing */
  lundi_module *e = small_net(3, 0);
  lundi_tensor *before = lundi_clone(lundi_module_param(e, "body.weight"));
  CHECK_ERR(lundi_module_load(e, path, 0), "'head.weight' is f32 [2,4] in the file but f32 [3,4] in the module");
  CHECK_ERR(lundi_module_load(e, path, 0), path);
  CHECK(t_max_abs_diff(before, lundi_module_param(e, "body.weight")) == 0);
  lundi_release(before);
  lundi_module_free(a); lundi_module_free(b); lundi_module_free(c); lundi_module_free(d); lundi_module_free(e);
  cleanup_tmpdir();
}

/* Bytes of the data overwritten with 0xff (NaN as f32), as a damaged disk or copy would:
 * refused by default naming the tensor, the module untouched; loaded when allowed. */
static void test_module_nonfinite(void) {
  char path[256];
  tmp_path(path, sizeof path, "bad.safetensors");
  lundi_module *a = small_net(2, 0), *b = small_net(2, 0);
  CHECK(lundi_module_save(a, path) == 0);
  FILE *f = fopen(path, "r+b");
  CHECK(f != NULL);
  if (!f) return;
  fseek(f, -8, SEEK_END); /* the last two floats: head.weight's or head.bias's, whichever is last */
  const unsigned char ff[8] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x80, 0x7f}; /* NaN, then +Inf */
  fwrite(ff, 1, sizeof ff, f);
  fclose(f);
  lundi_tensor *before = lundi_clone(lundi_module_param(b, "body.weight"));
  CHECK_ERR(lundi_module_load(b, path, LUNDI_LOAD_STRICT), "holds 2 NaN or Inf value(s) of");
  CHECK_ERR(lundi_module_load(b, path, LUNDI_LOAD_STRICT), "module_load '");
  CHECK_ERR(lundi_module_load(b, path, 0), "tensor 'head.");
  CHECK(t_max_abs_diff(before, lundi_module_param(b, "body.weight")) == 0); /* nothing copied */
  CHECK(lundi_module_load(b, path, LUNDI_LOAD_STRICT | LUNDI_LOAD_ALLOW_NONFINITE) == 0);
  CHECK(t_max_abs_diff(lundi_module_param(a, "body.weight"), lundi_module_param(b, "body.weight")) == 0);
  lundi_param_list l = {0};
  CHECK(lundi_module_parameters(b, &l) == 0);
  CHECK_ERR(lundi_param_list_check_finite(&l, "after"), "after: tensor 'head.");
  lundi_param_list_free(&l);
  CHECK(lundi_module_parameters(a, &l) == 0);
  CHECK(lundi_param_list_check_finite(&l, "clean") == 0);
  lundi_param_list_free(&l);
  lundi_release(before);
  lundi_module_free(a);
  lundi_module_free(b);
  cleanup_tmpdir();
}

/* lundi_module_load_opts (load_options.c): strict and nonfinite as options; "warn" loads the
 * damaged file and hands back the warning, naming the path and the tensor. */
static void test_load_options(void) {
  char path[256];
  tmp_path(path, sizeof path, "opts.safetensors");
  lundi_module *a = small_net(2, 0), *b = small_net(2, 0), *c = small_net(2, 1);
  CHECK(lundi_module_save(a, path) == 0);
  lundi_load_options o = lundi_load_defaults();
  CHECK(o.strict == 1 && o.nonfinite == LUNDI_NONFINITE_ERROR);
  CHECK(!strcmp(lundi_nonfinite_names[LUNDI_NONFINITE_ERROR], "error"));
  CHECK(!strcmp(lundi_nonfinite_names[LUNDI_NONFINITE_WARN], "warn") && lundi_nonfinite_names[2] == NULL);
  char *warning = (char *)1;
  CHECK(lundi_module_load_opts(b, path, &o, &warning) == 0 && warning == NULL); /* clean file: no warning */
  CHECK(t_max_abs_diff(lundi_module_param(a, "head.bias"), lundi_module_param(b, "head.bias")) == 0);
  CHECK_ERR(lundi_module_load_opts(c, path, &o, &warning), "1 missing parameter(s): 'extra'");
  o.strict = 0;
  CHECK(lundi_module_load_opts(c, path, &o, &warning) == 0 && warning == NULL);
  o.nonfinite = LUNDI_NONFINITE_WARN;
  CHECK(lundi_module_load_opts(c, path, &o, &warning) == 0 && warning == NULL); /* warn, but clean */

  FILE *f = fopen(path, "r+b");
  CHECK(f != NULL);
  if (!f) return;
  fseek(f, -4, SEEK_END);
  const unsigned char nan[4] = {0xff, 0xff, 0xff, 0xff};
  fwrite(nan, 1, sizeof nan, f);
  fclose(f);
  o = lundi_load_defaults();
  CHECK_ERR(lundi_module_load_opts(b, path, &o, &warning), "module_load '");
  CHECK(warning == NULL);
  o.nonfinite = LUNDI_NONFINITE_WARN;
  CHECK(lundi_module_load_opts(b, path, &o, &warning) == 0);
  char want[512];
  snprintf(want, sizeof want, "load '%s': tensor 'head.", path);
  CHECK(warning && !strncmp(warning, want, strlen(want)) && strstr(warning, "holds 1 NaN or Inf value(s) of"));
  free(warning);
  CHECK_ERR(lundi_module_load_opts(b, path, NULL, &warning), "module_load: options and warning must be non-NULL");
  CHECK_ERR(lundi_module_load_opts(b, path, &o, NULL), "module_load: options and warning must be non-NULL");
  lundi_module_free(a);
  lundi_module_free(b);
  lundi_module_free(c);
  cleanup_tmpdir();
}

/* ---- malformed files ---- */

typedef struct bad_case {
  const char *json;
  size_t dlen;
  const char *needle;
} bad_case;

#define E(name, body) "\"" name "\":{" body "}"
static const bad_case bad_cases[] = {
    {"{\"a\": {\"dtype\": \"F32\", ", 0, "header is not valid JSON"},
    {"", 0, "header is not valid JSON"},
    {"{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}}", 4, "unexpected bytes after the JSON header"},
    {"{} x", 0, "unexpected bytes after the JSON header"},
    {"[1, 2]", 0, "header is not a JSON object"},
    {"\"hello\"", 0, "header is not a JSON object"},
    {"null", 0, "header is not a JSON object"},
    {"{" E("a", "\"dtype\":\"F99\",\"shape\":[1],\"data_offsets\":[0,4]") "}", 4, "tensor 'a': unknown dtype 'F99'"},
    {"{" E("a", "\"dtype\":\"F64\",\"shape\":[1],\"data_offsets\":[0,8]") "}", 8, "tensor 'a': dtype F64 is not supported"},
    {"{" E("a", "\"shape\":[1],\"data_offsets\":[0,4]") "}", 4, "tensor 'a': dtype is missing"},
    {"{" E("a", "\"dtype\":4,\"shape\":[1],\"data_offsets\":[0,4]") "}", 4, "dtype is missing or not a string"},
    {"{\"a\":5}", 0, "tensor 'a': entry is not a JSON object"},
    {"{" E("a", "\"dtype\":\"F32\",\"shape\":4,\"data_offsets\":[0,4]") "}", 4, "shape is missing or not an array"},
    {"{" E("a", "\"dtype\":\"F32\",\"shape\":[-1],\"data_offsets\":[0,4]") "}", 4, "shape entry 0 is not a non-negative integer"},
    {"{" E("a", "\"dtype\":\"F32\",\"shape\":[2,1.5],\"data_offsets\":[0,4]") "}", 4, "shape entry 1 is not a non-negative integer"},
    {"{" E("a", "\"dtype\":\"F32\",\"shape\":[\"2\"],\"data_offsets\":[0,8]") "}", 8, "shape entry 0 is not"},
    {"{" E("a", "\"dtype\":\"F32\",\"shape\":[1,1,1,1,1,1,1],\"data_offsets\":[0,4]") "}", 4, "7 dims, at most 6"},
    {"{" E("a", "\"dtype\":\"F32\",\"shape\":[4294967296,4294967296,4294967296],\"data_offsets\":[0,4]") "}", 4, "is too large"},
    {"{" E("a", "\"dtype\":\"F32\",\"shape\":[4294967296,4294967296,0],\"data_offsets\":[0,0]") "," E("b", "\"dtype\":\"U8\",\"shape\":[2],\"data_offsets\":[0,3]") "}", 3, "span 3 bytes but U8 [2] needs 2"},
    {"{" E("a", "\"dtype\":\"F32\",\"shape\":[1099511627777],\"data_offsets\":[0,4]") "}", 4, "shape [1099511627777] is too large"},
    {"{" E("a", "\"dtype\":\"F32\",\"shape\":[1e300],\"data_offsets\":[0,4]") "}", 4, "shape entry 0 is not"},
    {"{" E("a", "\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]") "}", 4, "tensor 'a': data_offsets [0, 8] are out of range (data is 4 bytes)"},
    {"{" E("a", "\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,0]") "}", 4, "data_offsets [4, 0] end before they begin"},
    {"{" E("a", "\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0]") "}", 4, "data_offsets must be [begin, end]"},
    {"{" E("a", "\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4,8]") "}", 4, "data_offsets must be [begin, end]"},
    {"{" E("a", "\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[-4,0]") "}", 4, "data_offsets must be [begin, end]"},
    {"{" E("a", "\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":{\"0\":0,\"1\":4}") "}", 4, "data_offsets must be [begin, end]"},
    {"{" E("a", "\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,1e300]") "}", 4, "data_offsets must be [begin, end]"},
    {"{" E("a", "\"dtype\":\"F32\",\"shape\":[1]") "}", 4, "data_offsets must be [begin, end]"},
    {"{" E("a", "\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,4]") "}", 4, "tensor 'a': size mismatch: data_offsets span 4 bytes but F32 [2] needs 8"},
    {"{" E("a", "\"dtype\":\"F16\",\"shape\":[3],\"data_offsets\":[0,8]") "}", 8, "span 8 bytes but F16 [3] needs 6"},
    {"{" E("a", "\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]") "," E("b", "\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]") "}", 12, "tensor 'b' [4, 12] overlaps tensor 'a' ending at 8"},
    {"{" E("a", "\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]") "," E("b", "\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]") "}", 8, "overlaps tensor"},
    {"{" E("a", "\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]") "," E("b", "\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[8,12]") "}", 12, "gap of 4 bytes before tensor 'b'"},
    {"{" E("a", "\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]") "}", 8, "gap of 4 bytes before tensor 'a'"},
    {"{" E("a", "\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]") "}", 8, "4 bytes after the last tensor are not covered"},
    {"{}", 4, "4 bytes after the last tensor are not covered"},
    {"{" E("a", "\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]") "," E("a", "\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]") "}", 8, "duplicate tensor name 'a'"},
    {"{\"__metadata__\":{},\"__metadata__\":{}}", 0, "duplicate tensor name '__metadata__'"},
    {"{\"__metadata__\":[1]}", 0, "__metadata__ is not a JSON object"},
    {"{\"__metadata__\":{\"k\":1}}", 0, "__metadata__ value 'k' is not a string"},
};

static void test_malformed(void) {
  for (size_t i = 0; i < sizeof bad_cases / sizeof *bad_cases; i++)
    expect_fail_json(bad_cases[i].json, bad_cases[i].dlen, bad_cases[i].needle);
  /* deep nesting stays within cJSON's limit and fails cleanly */
  char deep[4100];
  memset(deep, '[', 4000);
  deep[4000] = 0;
  expect_fail_json(deep, 0, "header is not valid JSON");
  /* header length fields */
  const char *ok = "{" E("a", "\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]") "," E("b", "\"dtype\":\"BF16\",\"shape\":[2],\"data_offsets\":[8,12]") "}";
  uint8_t data[12] = {0};
  size_t n;
  uint8_t *b = mk(ok, data, sizeof data, &n);
  lundi_param_list l = {0};
  CHECK(lundi_safetensors_load_mem(b, n, &l) == 0 && l.n == 2);
  lundi_param_list_free(&l);
  uint8_t *c = malloc(n);
  memcpy(c, b, n);
  memset(c, 0, 8);
  c[5] = 1; /* 2^40 */
  expect_fail(c, n, "header length 1099511627776 exceeds the 100000000-byte limit", "huge length");
  memcpy(c, b, n);
  uint64_t h = n - 8 + 1;
  for (int i = 0; i < 8; i++) c[i] = (uint8_t)(h >> (8 * i));
  expect_fail(c, n, "truncated: header length", "length one past the end");
  c[0] = 0xff, c[1] = 0xff, c[2] = 0xff, c[3] = 0xff, c[4] = 0xff, c[5] = 0xff, c[6] = 0xff, c[7] = 0xff;
  expect_fail(c, n, "exceeds the 100000000-byte limit", "length 2^64-1");
  /* truncated at every point */
  size_t hlen = strlen(ok);
  for (size_t cut = 0; cut < n; cut++) {
    const char *needle = cut < 8 ? "shorter than the 8-byte header length"
                         : cut < 8 + hlen ? "runs past the end of the file"
                                          : "are out of range";
    char what[32];
    snprintf(what, sizeof what, "cut at %zu", cut);
    expect_fail(b, cut, needle, what);
  }
  CHECK_ERR(lundi_safetensors_load_mem(NULL, 4, &l), "buffer and list must be non-NULL");
  free(b);
  free(c);
}

/* ---- deterministic fuzzing ---- */

static uint64_t xs_state = 0x9E3779B97F4A7C15ull;
static uint64_t xs(void) {
  xs_state ^= xs_state << 13;
  xs_state ^= xs_state >> 7;
  xs_state ^= xs_state << 17;
  return xs_state;
}

static void test_fuzz(void) {
  const char *json = "{\"__metadata__\":{\"step\":\"10\"}," E("w", "\"dtype\":\"F32\",\"shape\":[2,3],\"data_offsets\":[0,24]") ","
                     E("h", "\"dtype\":\"F16\",\"shape\":[4],\"data_offsets\":[24,32]") ","
                     E("b", "\"dtype\":\"BF16\",\"shape\":[2,1],\"data_offsets\":[32,36]") ","
                     E("i", "\"dtype\":\"I32\",\"shape\":[1],\"data_offsets\":[36,40]") "}";
  uint8_t data[40];
  for (int i = 0; i < 40; i++) data[i] = (uint8_t)(i * 37 + 11);
  size_t n0;
  uint8_t *base = mk(json, data, sizeof data, &n0);
  static const char interesting[] = "0123456789[]{}\",:-.eE \\u";
  uint8_t *buf = malloc(n0 * 2 + 64);
  int ok = 0, failed = 0;
  for (int iter = 0; iter < 20000; iter++) {
    size_t n = n0;
    memcpy(buf, base, n0);
    int muts = 1 + (int)(xs() % 4);
    for (int k = 0; k < muts && n > 0; k++) {
      size_t pos = (size_t)(xs() % n);
      switch (xs() % 6) {
      case 0: buf[pos] ^= (uint8_t)(1u << (xs() % 8)); break;
      case 1: buf[pos] = (uint8_t)interesting[xs() % (sizeof interesting - 1)]; break;
      case 2: buf[pos] = (uint8_t)xs(); break;
      case 3: n = (size_t)(xs() % n); break;
      case 4: { /* insert up to 8 bytes */
        size_t add = 1 + (size_t)(xs() % 8);
        if (n + add > n0 * 2 + 64) break;
        memmove(buf + pos + add, buf + pos, n - pos);
        for (size_t j = 0; j < add; j++) buf[pos + j] = (uint8_t)interesting[xs() % (sizeof interesting - 1)];
        n += add;
        break;
      }
      default: { /* delete up to 8 bytes */
        size_t del = 1 + (size_t)(xs() % 8);
        if (pos + del > n) del = n - pos;
        memmove(buf + pos, buf + pos + del, n - pos - del);
        n -= del;
      }
      }
    }
    lundi_param_list l = {0};
    lundi_clear_error();
    if (lundi_safetensors_load_mem(buf, n, &l) == 0) {
      ok++;
      int64_t bytes = 0;
      for (int i = 0; i < l.n; i++) bytes += lundi_numel(l.tensors[i]);
      CHECK(bytes <= (int64_t)n); /* never more values than the file has bytes */
    } else {
      failed++;
      CHECK(lundi_last_error()[0] != 0 && l.n == 0);
    }
    lundi_param_list_free(&l);
  }
  printf("fuzz: %d loaded, %d rejected\n", ok, failed);
  CHECK(ok > 0 && failed > 0);
  free(buf);
  free(base);
}

/* ---- metadata as string pairs (safetensors_meta.c) ---- */

static void test_metadata_pairs(void) {
  char path[256];
  tmp_path(path, sizeof path, "meta.safetensors");
  int64_t s2 = 2;
  lundi_tensor *w = lundi_zeros(1, &s2);
  lundi_param_list l = {0};
  CHECK(lundi_param_list_push(&l, "w", w) == 0);
  const char *keys[] = {"classes", "note"}, *values[] = {"10", "caf\xc3\xa9 \"q\""};
  CHECK(lundi_safetensors_save_meta(path, &l, keys, values, 2) == 0);
  char *json = NULL;
  CHECK(lundi_safetensors_metadata(path, &json) == 0);
  CHECK(json && !strcmp(json, "{\"classes\":\"10\",\"note\":\"caf\xc3\xa9 \\\"q\\\"\"}"));
  free(json);
  lundi_safetensors_meta m;
  CHECK(lundi_safetensors_read_meta(path, &m) == 0);
  CHECK(m.n == 2 && !strcmp(m.keys[0], "classes") && !strcmp(m.values[0], "10"));
  CHECK(m.n == 2 && !strcmp(m.keys[1], "note") && !strcmp(m.values[1], values[1]));
  lundi_safetensors_meta_free(&m);
  CHECK(m.n == 0 && !m.keys);
  CHECK(lundi_safetensors_save_meta(path, &l, NULL, NULL, 0) == 0); /* no __metadata__ */
  CHECK(lundi_safetensors_read_meta(path, &m) == 0 && m.n == 0);
  lundi_safetensors_meta_free(&m);
  CHECK(lundi_safetensors_save_meta(path, &l, keys, values, 0) == 0); /* an empty one */
  CHECK(lundi_safetensors_metadata(path, &json) == 0 && !strcmp(json, "{}"));
  free(json);
  CHECK_ERR(lundi_safetensors_read_meta("/nonexistent/x.safetensors", &m) != 0, "x.safetensors");
  CHECK(m.n == 0 && !m.keys);
  lundi_param_list_free(&l);
  lundi_release(w);
  cleanup_tmpdir();
}

static const test_case tests[] = {
    {"roundtrip", test_roundtrip},
    {"read_half", test_read_half},
    {"save_atomic", test_save_atomic},
    {"module_checkpoint", test_module_checkpoint},
    {"module_nonfinite", test_module_nonfinite},
    {"load_options", test_load_options},
    {"malformed", test_malformed},
    {"fuzz", test_fuzz},
    {"metadata_pairs", test_metadata_pairs},
};
TEST_MAIN(tests)
