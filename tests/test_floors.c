/* What the floors split moved (docs/internals.md, "Floors"): the CPU fallback in the op
 * layer over a dispatcher that only routes, the kernel-level copies below autograd, the one
 * dimension-coalescing helper, the one whole-file reader, and tensors dropping their
 * autograd node without calling up. */
#include "harness.h"

#include "core/file.h"
#include "core/strbuf.h"
#include "lundi/file.h"
#include "tensor/tensor_internal.h"

#include <errno.h>
#include <unistd.h>

/* A device whose storage is host memory but which is not the host: it runs copy, fill, cast
 * and binary (the kernels the tensor and autograd floors run directly) with the CPU's
 * kernels, and nothing else. */
static void *fake_alloc(lundi_device *dev, size_t n) { (void)dev; return calloc(1, n); }
static void fake_free(lundi_device *dev, void *p, size_t n) { (void)dev, (void)n; free(p); }
static int fake_upload(lundi_device *dev, void *dst, size_t off, const void *src, size_t n) {
  (void)dev;
  memcpy((char *)dst + off, src, n);
  return 0;
}
static int fake_download(lundi_device *dev, const void *src, size_t off, void *dst, size_t n) {
  (void)dev;
  memcpy(dst, (const char *)src + off, n);
  return 0;
}
static int fake_sync(lundi_device *dev) { (void)dev; return 0; }
static lundi_backend fake_backend = {.name = "fake", .alloc = fake_alloc, .free = fake_free,
                                     .upload = fake_upload, .download = fake_download, .sync = fake_sync};
static lundi_device fake = {.backend = &fake_backend, .name = "fake:0", .is_host = 0};

static void fake_init(void) {
  const lundi_backend *cpu = lundi_cpu()->backend;
  int keep[] = {LUNDI_K_COPY, LUNDI_K_FILL, LUNDI_K_CAST, LUNDI_K_BINARY};
  for (int i = 0; i < 4; i++) fake_backend.kernels[keep[i]] = cpu->kernels[keep[i]];
}

static void test_fallback_in_ops(void) {
  fake_init();
  lundi_set_cpu_fallback(0);
  float v[6] = {1, 2, 3, 4, 5, 6};
  int64_t s[2] = {2, 3};
  lundi_tensor *h = lundi_from_f32(2, s, v), *x = lundi_to_device(h, &fake);
  CHECK(x && lundi_tensor_device(x) == &fake);
  /* Kernels of the tensor floor run on the device itself, fallback or not. */
  lundi_tensor *y = x ? lundi_add(x, x) : NULL;
  float got[6] = {0};
  CHECK(y && lundi_tensor_device(y) == &fake && lundi_read_f32(y, got, 6) == 0 && got[5] == 12.0f);
  lundi_release(y);
  /* A missing kernel is an error naming it... */
  int ax = 1;
  CHECK_ERR(x ? lundi_sum(x, 1, &ax, 0) : NULL, "op 'reduce' is not implemented on the fake backend");
  CHECK(lundi_last_error_code() == LUNDI_EUNSUPPORTED);
  /* ...until the op layer is told to fall back: then it runs on the CPU, on copies. */
  lundi_set_cpu_fallback(1);
  CHECK(lundi_cpu_fallback() == 1);
  int64_t host0 = lundi_kernel_calls(1);
  lundi_tensor *r = x ? lundi_sum(x, 1, &ax, 0) : NULL;
  float rs[2] = {0};
  CHECK(r && lundi_tensor_device(r) == &fake && lundi_read_f32(r, rs, 2) == 0 && rs[0] == 6.0f && rs[1] == 15.0f);
  CHECK(lundi_kernel_calls(1) > host0);
  lundi_release(r);
  /* The dispatcher itself only routes: no fallback there. */
  int64_t ks[2] = {2, 1};
  lundi_tensor *o = lundi_empty(2, ks, LUNDI_F32, &fake);
  lundi_kcall c = {.id = LUNDI_K_REDUCE, .n_in = 1, .n_out = 1, .in = {x}, .out = {o}, .i = {LUNDI_RED_SUM}};
  CHECK(o && lundi__dispatch(&c) == LUNDI_EUNSUPPORTED);
  lundi_set_cpu_fallback(0);
  lundi_release(o);
  lundi_release(x);
  lundi_release(h);
}

static void test_contiguous_copy_no_tape(void) {
  float v[12];
  for (int i = 0; i < 12; i++) v[i] = (float)i;
  int64_t s[2] = {3, 4};
  lundi_tensor *x = lundi_from_f32(2, s, v);
  CHECK(lundi_set_requires_grad(x, 1) == 0);
  lundi_tensor *xt = lundi_transpose(x, 0, 1); /* recorded: a view with a node */
  CHECK(xt && !lundi_is_leaf(xt) && !lundi_is_contiguous(xt));
  lundi_tensor *c = xt ? lundi__contiguous_copy(xt) : NULL;
  CHECK(c && c != xt && lundi_is_contiguous(c) && lundi_is_leaf(c) && !lundi_requires_grad(c));
  float got[12] = {0};
  CHECK(c && lundi_read_f32(c, got, 12) == 0 && got[1] == 4.0f && got[3] == 1.0f && got[11] == 11.0f);
  /* A contiguous tensor comes back itself; lundi__copy_new always copies. */
  lundi_tensor *same = lundi__contiguous_copy(x), *fresh = lundi__copy_new(x);
  CHECK(same == x && fresh && fresh != x && fresh->storage != x->storage && lundi_is_leaf(fresh));
  lundi_release(fresh);
  lundi_release(same);
  lundi_release(c);
  lundi_release(xt);
  lundi_release(x);
}

static void test_coalesce_dims(void) {
  lundi_dims d;
  /* Contiguous operands collapse to one dim; size-1 dims vanish. */
  int64_t shape[4] = {2, 1, 3, 4}, st[4] = {12, 12, 4, 1};
  const int64_t *two[2] = {st, st};
  lundi__coalesce_dims(4, shape, 2, two, &d);
  CHECK(d.ndim == 1 && d.shape[0] == 24 && d.stride[0][0] == 1 && d.stride[1][0] == 1);
  /* A broadcast operand (stride 0 over dim 0) keeps that dim apart; the rest merge. */
  int64_t bst[4] = {0, 0, 4, 1};
  const int64_t *mixed[2] = {st, bst};
  lundi__coalesce_dims(4, shape, 2, mixed, &d);
  CHECK(d.ndim == 2 && d.shape[0] == 2 && d.shape[1] == 12 && d.stride[0][0] == 12 && d.stride[1][0] == 0 &&
        d.stride[0][1] == 1 && d.stride[1][1] == 1);
  /* A transposed operand merges nothing. */
  int64_t s2[2] = {3, 4}, c2[2] = {4, 1}, t2[2] = {1, 3};
  const int64_t *tr[2] = {c2, t2};
  lundi__coalesce_dims(2, s2, 2, tr, &d);
  CHECK(d.ndim == 2 && d.shape[0] == 3 && d.shape[1] == 4 && d.stride[1][0] == 1 && d.stride[1][1] == 3);
  /* All size-1: no dims at all. */
  int64_t ones[3] = {1, 1, 1};
  const int64_t *one[1] = {ones};
  lundi__coalesce_dims(3, ones, 1, one, &d);
  CHECK(d.ndim == 0);
  /* The tensor form reads shape and strides off the tensors. */
  lundi_tensor *x = lundi_zeros(4, shape), *ops[2] = {x, x};
  lundi__coalesce_tensors(ops, 2, &d);
  CHECK(d.ndim == 1 && d.shape[0] == 24);
  lundi_release(x);
}

static void test_read_file(void) {
  char path[] = "/tmp/lundi-floors-XXXXXX";
  int fd = mkstemp(path);
  CHECK(fd >= 0 && write(fd, "hello", 5) == 5);
  close(fd);
  uint8_t *data = NULL;
  size_t n = 0;
  int en = -1;
  CHECK(lundi__read_file(path, 5, &data, &n, &en) == 0 && n == 5 && !memcmp(data, "hello", 5) && en == 0);
  free(data);
  CHECK(lundi_file_read_all(path, &data, &n) == 0 && n == 5);
  free(data);
  /* Past the limit: refused, EFBIG. */
  CHECK(lundi__read_file(path, 4, &data, &n, &en) == LUNDI_EIO && en == EFBIG && !data && n == 0);
  CHECK(strstr(lundi_last_error(), "above the") != NULL);
  unlink(path);
  /* Missing: the system's reason comes back. */
  CHECK(lundi__read_file(path, 100, &data, &n, &en) == LUNDI_EIO && en == ENOENT);
  CHECK(strstr(lundi_last_error(), "cannot open") != NULL);
  CHECK(lundi__read_file("/tmp", 100, &data, &n, &en) == LUNDI_EIO && en == EISDIR);
  CHECK(strstr(lundi_last_error(), "it is a directory") != NULL);
}

static void test_strbuf(void) {
  lundi__strbuf b = {0};
  char *s = lundi__strbuf_take(&b); /* nothing appended: an empty string, not NULL */
  CHECK(s && !strcmp(s, "") && !b.s);
  free(s);
  lundi__strbuf_puts(&b, "steps");
  lundi__strbuf_put(&b, ": 50xx", 4);
  for (int i = 0; i < 100; i++) lundi__strbuf_printf(&b, ", %d", i); /* grows past 128 bytes */
  CHECK(b.n == strlen(b.s) && b.n > 128);
  CHECK(!strncmp(b.s, "steps: 50, 0, 1, 2", 18) && strstr(b.s, ", 98, 99") == b.s + b.n - 8);
  s = lundi__strbuf_take(&b);
  CHECK(s && !b.s && b.n == 0);
  free(s);
  b.oom = 1; /* after a failed allocation appends do nothing and take says so */
  lundi__strbuf_puts(&b, "lost");
  CHECK(!b.s && !lundi__strbuf_take(&b));
}

static void test_tensor_drops_node(void) {
  int64_t live0 = lundi_live_tensors();
  int64_t s[1] = {4};
  lundi_tensor *x = lundi_full(1, s, 1.0f);
  CHECK(lundi_set_requires_grad(x, 1) == 0);
  lundi_tensor *y = lundi_mul_scalar(x, 2.0f), *z = y ? lundi_exp(y) : NULL;
  CHECK(z && !lundi_is_leaf(z));
  /* z's node holds y, y's node holds x: releasing the handles frees the whole chain. */
  lundi_release(y);
  lundi_release(x);
  CHECK(lundi_live_tensors() > live0 + 1); /* z and what its graph holds */
  lundi_release(z);
  CHECK(lundi_live_tensors() == live0);
}

/* lundi_error_for (core/error_for.c): how a front-end names the failing call, once. */
static void test_error_for(void) {
  char b[64];
  lundi_clear_error();
  CHECK(!strcmp(lundi_error_for("step", b, sizeof b), "step: failed"));
  lundi_set_error(LUNDI_EINVAL, "reshape: 6 elements do not fit [4]");
  CHECK(!strcmp(lundi_error_for("reshape", b, sizeof b), "reshape: 6 elements do not fit [4]"));
  CHECK(!strcmp(lundi_error_for("view", b, sizeof b), "view: reshape: 6 elements do not fit [4]"));
  /* a prefix of the name is not the name */
  CHECK(!strcmp(lundi_error_for("resh", b, sizeof b), "resh: reshape: 6 elements do not fit [4]"));
  lundi_set_error(LUNDI_EIO, "load 'x.safetensors': cannot open");
  CHECK(!strcmp(lundi_error_for("load", b, sizeof b), "load 'x.safetensors': cannot open")); /* name then a space */
  CHECK(!strcmp(lundi_error_for(NULL, b, sizeof b), "load 'x.safetensors': cannot open"));
  CHECK(!strcmp(lundi_error_for("save", b, 8), "save: l")); /* truncated, terminated */
  lundi_clear_error();
}

static const test_case TESTS[] = {
    {"fallback_in_ops", test_fallback_in_ops},
    {"contiguous_copy_no_tape", test_contiguous_copy_no_tape},
    {"coalesce_dims", test_coalesce_dims},
    {"read_file", test_read_file},
    {"tensor_drops_node", test_tensor_drops_node},
    {"strbuf", test_strbuf},
    {"error_for", test_error_for},
};
TEST_MAIN(TESTS)
