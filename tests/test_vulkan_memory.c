/* The Vulkan backend's memory, pipeline cache and submission (runtime/vulkan/memory.c,
 * pipeline_cache.c, submit.c): sub-allocation from shared blocks, flat memory under a
 * training-like loop, kernels and transfers at non-zero offsets inside blocks, out-of-memory
 * errors, the pipeline cache file across processes, and submission that does not wait.
 * Cases exit 77 (skip) without a Vulkan device. */
#include "vulkan_pair.h"
#include "lundi/image.h" /* lundi_file_read_all */

#include "vulkan/vk.h" /* lundi_vk_memory_stats, vk_buf */

#include <dirent.h>
#include <errno.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static lundi_vk_stats stats(lundi_device *d) {
  lundi_vk_stats s;
  lundi_vk_memory_stats(d, &s);
  return s;
}

static vk_buf *buf_of(lundi_tensor *t) {
  return t->storage->data;
}

static lundi_tensor *dev_tensor(lundi_device *d, int64_t n, float v) {
  lundi_tensor *t = lundi_empty(1, &n, LUNDI_F32, d);
  CHECK(t != NULL);
  if (t) CHECK(lundi_fill_(t, v) == 0);
  return t;
}

/* All n elements of t equal v. */
static int all_equal(lundi_tensor *t, float v) {
  float *x = t_read(t);
  int64_t n = lundi_numel(t), bad = 0;
  for (int64_t i = 0; x && i < n; i++) bad += x[i] != v;
  free(x);
  return x && !bad;
}

/* ---- many small tensors share blocks; big ones get their own; trim gives all back ---- */

static int by_offset(const void *a, const void *b) {
  const vk_buf *x = *(vk_buf *const *)a, *y = *(vk_buf *const *)b;
  if (x->buf != y->buf) return x->buf < y->buf ? -1 : 1;
  return x->offset < y->offset ? -1 : x->offset > y->offset;
}

static void suballocation(void) {
  lundi_device *d = need_device();
  lundi_vk_stats s0 = stats(d);
  enum { N = 300 };
  lundi_tensor *t[N];
  vk_buf *b[N];
  for (int i = 0; i < N; i++) {
    int64_t n = i == N / 2 ? 1025 : 1 + (int64_t)(lcg() % 16384); /* up to 64 KiB each */
    t[i] = dev_tensor(d, n, (float)i);
    b[i] = t[i] ? buf_of(t[i]) : NULL;
    if (!t[i]) return;
  }
  lundi_vk_stats s1 = stats(d);
  printf("%d tensors: %llu VkDeviceMemory (%llu MiB), alignment %llu, block %llu MiB\n", N,
         (unsigned long long)(s1.n_memory - s0.n_memory),
         (unsigned long long)(s1.device_bytes >> 20), (unsigned long long)s1.alignment,
         (unsigned long long)(s1.block_size >> 20));
  CHECK(s1.n_memory - s0.n_memory <= 2); /* 300 tensors of <= 64 KiB: one 64 MiB block */
  CHECK(s1.n_live - s0.n_live == N);
  /* Aligned, in-bounds and disjoint within each shared buffer. */
  qsort(b, N, sizeof *b, by_offset);
  int distinct = 1;
  for (int i = 0; i < N; i++) {
    CHECK(b[i]->offset % s1.alignment == 0);
    CHECK(b[i]->size >= 4 && b[i]->csize >= b[i]->size);
    if (i && b[i]->buf == b[i - 1]->buf)
      CHECK(b[i - 1]->offset + b[i - 1]->csize <= b[i]->offset);
    else if (i)
      distinct++;
  }
  CHECK(distinct <= 2);
  CHECK(b[N - 1]->offset > 0);
  for (int i = 0; i < N; i++) CHECK(all_equal(t[i], (float)i)); /* nobody wrote over a neighbour */
  /* A hole between live tensors takes a slightly larger request: sizes round up to classes
   * (8 per power of two), so a step whose sizes drift a little reuses the same chunks.
   * t[N / 2] holds 1025 floats: 4100 bytes is no class size for any granule of 16 to 256. */
  vk_buf *hb = buf_of(t[N / 2]);
  VkDeviceSize A = s1.alignment, exact = (hb->size + A - 1) / A * A, hole = hb->offset;
  VkBuffer hole_buf = hb->buf;
  CHECK(hb->csize > exact);
  lundi_release(t[N / 2]);
  CHECK(lundi_device_sync(d) == 0); /* the free waited for the fill */
  CHECK(stats(d).n_live == s1.n_live - 1);
  t[N / 2] = dev_tensor(d, (int64_t)(exact + A) / 4, (float)(N / 2));
  CHECK(t[N / 2] && buf_of(t[N / 2])->offset == hole && buf_of(t[N / 2])->buf == hole_buf);
  /* Larger than half a block: an allocation of its own, kept for reuse once freed. */
  int64_t big = (int64_t)(s1.block_size / 2 / 4 + 1000);
  lundi_tensor *g = dev_tensor(d, big, 3.0f);
  lundi_vk_stats s2 = stats(d);
  CHECK(g && s2.n_dedicated == s1.n_dedicated + 1);
  CHECK(g && buf_of(g)->offset == 0 && all_equal(g, 3.0f));
  lundi_release(g);
  lundi_vk_stats s3 = stats(d);
  CHECK(s3.n_dedicated == s2.n_dedicated && s3.cached_bytes >= (uint64_t)big * 4);
  g = dev_tensor(d, big - 100, 4.0f); /* a nearby size takes the cached block */
  lundi_vk_stats s4 = stats(d);
  CHECK(g && s4.n_memory_allocs == s3.n_memory_allocs && all_equal(g, 4.0f));
  lundi_release(g);
  for (int i = 0; i < N; i++) lundi_release(t[i]);
  CHECK(lundi_vk_memory_trim(d) == 0);
  lundi_vk_stats s5 = stats(d);
  CHECK(s5.n_live == s0.n_live && s5.live_bytes == s0.live_bytes);
  CHECK(s5.device_bytes == s0.device_bytes && s5.n_memory == s0.n_memory && s5.cached_bytes == 0);
}

/* ---- 1,000 steps of alloc / compute / free with varied sizes: memory stays flat ---- */

/* One "training step": tensors of sizes that vary with the step, a chain of ops, a loss read. */
static int step(lundi_device *d, int it, int read) {
  static const int64_t base[] = {1000, 4096, 777, 3000, 12, 6553, 2500, 20000};
  lundi_tensor *x = NULL;
  int ok = 1;
  for (int k = 0; k < 8; k++) {
    int64_t n = base[k] * (1 + (it + k) % 5) + (it % 3);
    lundi_tensor *a = dev_tensor(d, n, 1.0f), *b = a ? lundi_mul_scalar(a, 2.0f) : NULL;
    lundi_tensor *c = b ? lundi_add(a, b) : NULL; /* 3 */
    lundi_tensor *s = c ? lundi_sum(c, 0, NULL, 0) : NULL;
    lundi_tensor *acc = s ? (x ? lundi_add(x, s) : lundi_retain(s)) : NULL;
    ok &= acc != NULL;
    lundi_release(x);
    x = acc;
    lundi_release(a);
    lundi_release(b);
    lundi_release(c);
    lundi_release(s);
    if (!ok) break;
  }
  int64_t m = 24 + it % 7;
  lundi_tensor *A = dev_tensor(d, m * 40, 0.5f), *B = dev_tensor(d, 40 * m, 0.25f);
  lundi_tensor *A2 = A ? lundi_reshape(A, 2, (int64_t[]){m, 40}) : NULL,
               *B2 = B ? lundi_reshape(B, 2, (int64_t[]){40, m}) : NULL;
  lundi_tensor *C = A2 && B2 ? lundi_matmul(A2, B2) : NULL;
  ok &= C != NULL;
  if (read && ok) {
    float v = 0, want = 0, cv = 0;
    for (int k = 0; k < 8; k++) want += 3.0f * (float)(base[k] * (1 + (it + k) % 5) + (it % 3));
    ok &= lundi_item(x, &v) == 0 && v == want;
    float *cm = t_read(C);
    cv = cm ? cm[m * m - 1] : 0;
    free(cm);
    ok &= cv == 40 * 0.125f;
  }
  lundi_release(x);
  lundi_release(A);
  lundi_release(B);
  lundi_release(A2);
  lundi_release(B2);
  lundi_release(C);
  return ok;
}

static void reuse_flat(void) {
  lundi_device *d = need_device();
  lundi_vk_stats s0 = stats(d), warm = s0;
  int bad = 0;
  uint64_t peak = 0;
  for (int it = 0; it < 1000; it++) {
    bad += !step(d, it, 1);
    lundi_vk_stats s = stats(d);
    if (it == 99) warm = s;
    if (it >= 100 && s.device_bytes > peak) peak = s.device_bytes;
  }
  lundi_vk_stats s1 = stats(d);
  printf("after warm-up: %llu bytes in %llu VkDeviceMemory, %llu vkAllocateMemory calls; after "
         "1000 steps: %llu bytes, "
         "%llu calls\n",
         (unsigned long long)warm.device_bytes, (unsigned long long)warm.n_memory,
         (unsigned long long)warm.n_memory_allocs, (unsigned long long)s1.device_bytes,
         (unsigned long long)s1.n_memory_allocs);
  CHECK(bad == 0);
  CHECK(peak <= warm.device_bytes);                  /* flat */
  CHECK(s1.n_memory_allocs == warm.n_memory_allocs); /* no trips to the driver after warm-up */
  CHECK(s1.n_live == s0.n_live && s1.live_bytes == s0.live_bytes);
  /* The same without a host read per step: frees wait for the work in flight, yet memory
   * stays bounded and comes back at the sync. */
  for (int it = 0; it < 300; it++) bad += !step(d, it, 0);
  CHECK(bad == 0);
  CHECK(lundi_device_sync(d) == 0);
  lundi_vk_stats s2 = stats(d);
  printf("300 steps without reads: %llu bytes, %llu deferred\n",
         (unsigned long long)s2.device_bytes, (unsigned long long)s2.n_deferred);
  CHECK(s2.n_deferred == 0 && s2.n_live == s0.n_live && s2.live_bytes == s0.live_bytes);
  CHECK(s2.device_bytes <= warm.device_bytes + 512ull * 1048576);
  CHECK(lundi_live_tensors() == 0);
}

/* ---- kernels and transfers on buffers at non-zero offsets inside shared blocks ---- */

static void offsets_vs_cpu(void) {
  lundi_device *d = need_device();
  /* Spacers of odd sizes so the operands land at offsets other than 0. */
  lundi_tensor *sp[5];
  for (int i = 0; i < 5; i++) sp[i] = dev_tensor(d, 3 + 17 * i, -7.0f);
  lundi_rng rng = lundi_rng_make(5);
  int64_t sa[2] = {37, 53}, sb[2] = {53, 29}, sv[1] = {1001};
  lundi_tensor *ha = t_randn(&rng, 2, sa, 1, 0), *hb = t_randn(&rng, 2, sb, 1, 0);
  lundi_tensor *hx = t_randn(&rng, 1, sv, 1, 0), *hy = t_randn(&rng, 1, sv, 1, 0);
  lundi_tensor *da = lundi_to_device(ha, d), *g1 = dev_tensor(d, 5, -7.0f),
               *db = lundi_to_device(hb, d);
  lundi_tensor *g2 = dev_tensor(d, 9, -7.0f), *dx = lundi_to_device(hx, d),
               *dy = lundi_to_device(hy, d);
  CHECK(da && db && dx && dy && g1 && g2);
  if (!da || !db || !dx || !dy || !g1 || !g2) return;
  CHECK(buf_of(da)->offset && buf_of(db)->offset && buf_of(dx)->offset && buf_of(dy)->offset);
  CHECK(buf_of(da)->buf == buf_of(dy)->buf); /* one block */
  /* binary ops: exact */
  lundi_tensor *hs = lundi_add(hx, hy), *ds = lundi_add(dx, dy), *hm = lundi_mul(hx, hy),
               *dm = lundi_mul(dx, dy);
  CHECK(ds && dm && t_max_abs_diff(hs, ds) == 0 && t_max_abs_diff(hm, dm) == 0);
  /* GEMM */
  lundi_tensor *hc = lundi_matmul(ha, hb), *dc = lundi_matmul(da, db);
  CHECK(dc && t_max_abs_diff(hc, dc) < 1e-4);
  /* Neighbours untouched. */
  CHECK(all_equal(g1, -7.0f) && all_equal(g2, -7.0f));
  for (int i = 0; i < 5; i++) CHECK(all_equal(sp[i], -7.0f));
  /* Transfers at odd byte offsets and lengths, straight through the backend. */
  const lundi_backend *be = lundi_tensor_device(dx)->backend;
  vk_buf *bx = buf_of(dx);
  size_t nb = 1001 * 4;
  unsigned char *want = malloc(nb), *got = malloc(nb), src[4004];
  CHECK(be->download(d, bx, 0, want, nb) == 0);
  const size_t offs[][2] = {{3, 13}, {1, 4003}, {4003, 1}, {0, 4004}, {2001, 777}};
  for (size_t k = 0; k < sizeof offs / sizeof *offs; k++) {
    size_t off = offs[k][0], n = offs[k][1];
    for (size_t i = 0; i < n; i++) src[i] = (unsigned char)(lcg() >> 24);
    CHECK(be->upload(d, bx, off, src, n) == 0);
    memcpy(want + off, src, n);
    memset(got, 0, nb);
    CHECK(be->download(d, bx, off, got, n) == 0 && !memcmp(got, src, n));
    CHECK(be->download(d, bx, 0, got, nb) == 0 && !memcmp(got, want, nb));
  }
  CHECK_ERR(be->upload(d, bx, bx->size - 2, src, 3), "overruns");
  CHECK(all_equal(g2, -7.0f));
  lundi_tensor *hy2 = lundi_to_device(dy, lundi_cpu());
  CHECK(hy2 && t_max_abs_diff(hy2, hy) == 0); /* the next tensor in the block kept its bytes */
  free(want);
  free(got);
  lundi_tensor *all[] = {ha, hb, hx, hy, da, db, dx, dy, g1, g2, hs, ds, hm, dm, hc, dc, hy2};
  for (size_t i = 0; i < sizeof all / sizeof *all; i++) lundi_release(all[i]);
  for (int i = 0; i < 5; i++) lundi_release(sp[i]);
  CHECK(lundi_live_tensors() == 0);
  /* The same through staging buffers and copy commands, in a fresh process. */
  if (!getenv("LUNDI_TEST_CHILD")) {
    const char *env[] = {"LUNDI_VULKAN_STAGING", "1", NULL};
    CHECK(run_child("offsets_vs_cpu", env) == 0);
  }
}

/* ---- out of memory: a clear error with the sizes; the device keeps working ---- */

static void out_of_memory(void) {
  lundi_device *d = need_device();
  lundi_device_info info;
  CHECK(lundi_device_get_info(0, &info) == 0);
  lundi_vk_stats s0 = stats(d);
  int64_t huge = (int64_t)1 << 38; /* f32: 1 TiB */
  lundi_clear_error();
  CHECK(lundi_empty(1, &huge, LUNDI_F32, d) == NULL);
  CHECK(lundi_last_error_code() == LUNDI_ENOMEM);
  const char *m = lundi_last_error();
  printf("1 TiB: %s\n", m);
  CHECK(strstr(m, "1099511627776 bytes") && strstr(m, " free (") &&
        strstr(m, "maxMemoryAllocationSize"));
  vk_dev *v = lundi_vk_dev(d);
  if (v->max_range < v->max_alloc) {
    int64_t n = (int64_t)(v->max_range / 4 + 4);
    CHECK_ERR(lundi_empty(1, &n, LUNDI_F32, d), "maxStorageBufferRange");
    CHECK(strstr(lundi_last_error(), " free (") != NULL);
  }
  /* Fill the heap with the largest buffers allowed until it refuses. */
  uint64_t heap = v->mem.memoryHeaps[v->mem.memoryTypes[v->mem_type].heapIndex].size;
  if (heap <= (16ull << 30)) {
    uint64_t chunk = v->max_range < v->max_alloc ? v->max_range : v->max_alloc;
    if (chunk > (256ull << 20)) chunk = 256ull << 20;
    int64_t n = (int64_t)(chunk / 4);
    lundi_tensor *hold[256];
    int k = 0;
    lundi_clear_error();
    while (k < 256 && (hold[k] = lundi_empty(1, &n, LUNDI_F32, d))) k++;
    m = lundi_last_error();
    printf("after %d buffers of %llu MiB: %s\n", k, (unsigned long long)(chunk >> 20), m);
    char want[64];
    snprintf(want, sizeof want, "requested %llu bytes", (unsigned long long)(n * 4));
    CHECK(k < 256 && lundi_last_error_code() == LUNDI_ENOMEM && strstr(m, want) &&
          strstr(m, " free ("));
    CHECK((uint64_t)k * chunk >= heap / 2); /* it was the heap that ran out */
    for (int i = 0; i < k; i++) lundi_release(hold[i]);
  }
  /* Still works, and gives everything back. */
  lundi_tensor *a = dev_tensor(d, 1000, 2.0f), *b = a ? lundi_add(a, a) : NULL;
  CHECK(b && all_equal(b, 4.0f));
  lundi_release(a);
  lundi_release(b);
  CHECK(lundi_vk_memory_trim(d) == 0);
  lundi_vk_stats s1 = stats(d);
  CHECK(s1.device_bytes == s0.device_bytes && s1.n_live == s0.n_live);
}

/* ---- pipeline cache on disk ---- */

/* The file's bytes (lundi_file_read_all), or NULL. */
static unsigned char *slurp(const char *path, size_t *n) {
  uint8_t *p = NULL;
  return lundi_file_read_all(path, &p, n) ? NULL : p;
}

static void spit(const char *path, const void *p, size_t n) {
  FILE *f = fopen(path, "wb");
  CHECK(f && fwrite(p, 1, n, f) == n);
  if (f) fclose(f);
}

/* Re-seals data + trailer after the test edits the data (FNV-1a 64, as pipeline_cache.c). */
static void reseal(unsigned char *p, size_t n) {
  uint64_t h = lundi_vk_pcache_hash(p, n - 16);
  for (int i = 0; i < 8; i++) p[n - 8 + i] = (unsigned char)(h >> (8 * i));
}

/* In a child: runs a handful of ops (each a pipeline), syncs, and checks what the cache says
 * against LUNDI_PC_EXPECT (none, loaded, rejected:<note part>). */
static void pipeline_cache_child(void) {
  lundi_device *d = need_device();
  CHECK(lundi_last_error()[0] == 0); /* a bad file is no error */
  lundi_vk_stats s = stats(d);
  const char *expect = getenv("LUNDI_PC_EXPECT");
  printf("pipeline cache: status %d, note '%s', %llu bytes loaded, path %s\n", s.pcache_status,
         s.pcache_note, (unsigned long long)s.pcache_loaded_bytes,
         s.pcache_path ? s.pcache_path : "(none)");
  CHECK(s.pcache_path &&
        !strncmp(s.pcache_path, getenv("XDG_CACHE_HOME"), strlen(getenv("XDG_CACHE_HOME"))));
  if (!strcmp(expect, "none"))
    CHECK(s.pcache_status == VK_PC_NONE);
  else if (!strcmp(expect, "loaded"))
    CHECK(s.pcache_status == VK_PC_LOADED && s.pcache_loaded_bytes >= 32);
  else
    CHECK(s.pcache_status == VK_PC_REJECTED && strstr(s.pcache_note, strchr(expect, ':') + 1));
  lundi_tensor *a = dev_tensor(d, 100, 1.5f), *b = a ? lundi_mul(a, a) : NULL,
               *c = b ? lundi_exp(b) : NULL;
  lundi_tensor *e = c ? lundi_sum(c, 0, NULL, 0) : NULL;
  float v = 0;
  CHECK(e && lundi_item(e, &v) == 0 && fabsf(v - 100 * expf(2.25f)) < 1e-2f);
  CHECK(lundi_device_sync(d) == 0 && lundi_last_error()[0] == 0);
  s = stats(d);
  const char *saves = getenv("LUNDI_PC_SAVES"); /* how many writes the sync point makes */
  if (saves)
    CHECK(s.pcache_saves == (uint64_t)atoi(saves));
  else if (strcmp(expect, "loaded"))
    CHECK(s.pcache_saves == 1);  /* written at the first sync point */
  if (getenv("LUNDI_PC_MORE")) { /* more pipelines right after: this snapshot waits for exit */
    /* Drivers whose data does not grow (lavapipe's is a bare header) would take it as
     * unchanged: forget the size saved, and remove the file, so only the exit writes it. */
    vk_dev *v = lundi_vk_dev(d);
    v->pc_size = 0;
    CHECK(unlink(s.pcache_path) == 0);
    lundi_tensor *f = lundi_reshape(a, 2, (int64_t[]){10, 10}),
                 *g = f ? lundi_matmul(f, f) : NULL; /* GEMM: new */
    CHECK(g && lundi_device_sync(d) == 0);
    CHECK(stats(d).pcache_saves == s.pcache_saves && v->pc_pending != NULL);
    CHECK(access(s.pcache_path, F_OK) != 0);
    lundi_release(f);
    lundi_release(g);
  }
  lundi_release(a);
  lundi_release(b);
  lundi_release(c);
  lundi_release(e);
}

static void pipeline_cache(void) {
  if (getenv("LUNDI_PC_EXPECT")) {
    pipeline_cache_child();
    return;
  }
  lundi_device *d = need_device();
  vk_dev *v = lundi_vk_dev(d);
  char dir[] = "/tmp/lundi-pcache-XXXXXX";
  CHECK(mkdtemp(dir) != NULL);
  char path[512], uuid[33];
  for (int i = 0; i < 16; i++) snprintf(uuid + 2 * i, 3, "%02x", v->props.pipelineCacheUUID[i]);
  snprintf(path, sizeof path, "%s/lundi/vk-pipelines-%08x-%08x-%s.bin", dir, v->props.vendorID,
           v->props.deviceID, uuid);
  /* 1: no file; the first sync point writes one (into a directory it creates). */
  const char *env_none[] = {"XDG_CACHE_HOME", dir, "LUNDI_PC_EXPECT", "none", NULL};
  CHECK(run_child("pipeline_cache", env_none) == 0);
  size_t n = 0;
  unsigned char *f = slurp(path, &n);
  CHECK(f && n >= 48);
  if (!f || n < 48) return;
  uint32_t w[4];
  memcpy(w, f, 16); /* little-endian fields (this test runs on little-endian hosts) */
  CHECK(w[0] >= 32 && w[1] == 1 && w[2] == v->props.vendorID && w[3] == v->props.deviceID);
  CHECK(!memcmp(f + 16, v->props.pipelineCacheUUID, 16) && !memcmp(f + n - 16, "lundiPC1", 8));
  /* 2: a second process loads it. */
  const char *env_loaded[] = {"XDG_CACHE_HOME", dir, "LUNDI_PC_EXPECT", "loaded", NULL};
  CHECK(run_child("pipeline_cache", env_loaded) == 0);
  /* 3: garbage, a truncated file, a flipped payload byte, another driver's UUID, another
   * device: each ignored without error, then replaced by a valid file. */
  struct {
    const char *expect;
    size_t len;
    int at;
  } bad[] = {{"rejected:too short", 20, -1},
             {"rejected:no lundi trailer", 0, -2},
             {"rejected:checksum", 0, (int)n - 1},
             {"rejected:pipelineCacheUUID", 0, 16},
             {"rejected:another device", 0, 12}};
  for (size_t k = 0; k < sizeof bad / sizeof *bad; k++) {
    unsigned char *g = malloc(n);
    memcpy(g, f, n);
    size_t len = bad[k].len ? bad[k].len : n;
    if (bad[k].at == -2)
      memset(g + n - 16, 'x', 16);
    else if (bad[k].at >= 0) {
      g[bad[k].at] ^= 0x5a;
      if (bad[k].at < 32) reseal(g, n); /* a well-formed file for another driver or device */
      /* (a flipped checksum byte stands for a damaged payload: lavapipe's data is bare header) */
    }
    spit(path, g, len);
    free(g);
    const char *env[] = {"XDG_CACHE_HOME", dir, "LUNDI_PC_EXPECT", bad[k].expect, NULL};
    CHECK(run_child("pipeline_cache", env) == 0);
    size_t n2 = 0;
    unsigned char *h = slurp(path, &n2);
    CHECK(h && n2 >= 48 && !memcmp(h + 16, v->props.pipelineCacheUUID, 16)); /* replaced */
    free(h);
    CHECK(run_child("pipeline_cache", env_loaded) == 0);
  }
  /* 4: pipelines created after the last write are saved at exit (no Vulkan call there). */
  unlink(path);
  const char *env_exit[] = {
      "XDG_CACHE_HOME", dir, "LUNDI_PC_EXPECT", "none", "LUNDI_PC_MORE", "1", NULL};
  CHECK(run_child("pipeline_cache", env_exit) == 0);
  size_t n3 = 0;
  unsigned char *h = slurp(path, &n3);
  CHECK(h && n3 >= 48);
  free(h);
  /* 5: a cache directory that cannot be made (a file is in the way) fails nothing. */
  char blocked[600];
  snprintf(blocked, sizeof blocked, "%s/file", dir);
  spit(blocked, "x", 1);
  const char *env_blocked[] = {
      "XDG_CACHE_HOME", blocked, "LUNDI_PC_EXPECT", "none", "LUNDI_PC_SAVES", "0", NULL};
  CHECK(run_child("pipeline_cache", env_blocked) == 0);
  free(f);
  char cmd[700];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
  CHECK(system(cmd) == 0);
}

/* ---- submission without waiting ---- */

static void nonblocking_submit(void) {
  lundi_device *d = need_device();
  lundi_tensor *x = dev_tensor(d, 4096, 0.0f);
  CHECK(lundi_device_sync(d) == 0);
  lundi_vk_stats s0 = stats(d);
  int n = LUNDI_VK_MAX_DISPATCHES * 5 / 2;
  for (int i = 0; x && i < n; i++) { /* each step frees the tensor the last dispatch read */
    lundi_tensor *y = lundi_add_scalar(x, 1.0f);
    lundi_release(x);
    x = y;
  }
  lundi_vk_stats s1 = stats(d);
  printf("%d dispatches: %llu submits, %llu waits, %d in flight, %llu deferred frees\n", n,
         (unsigned long long)(s1.n_submits - s0.n_submits),
         (unsigned long long)(s1.n_waits - s0.n_waits), s1.in_flight,
         (unsigned long long)s1.n_deferred);
  CHECK(x != NULL);
  CHECK(s1.n_submits - s0.n_submits >= 2); /* bounded command buffers ... */
  CHECK(s1.n_waits == s0.n_waits);         /* ... submitted without blocking */
  CHECK(s1.n_deferred > 0);                /* the recording one still holds its frees */
  CHECK(x && all_equal(x, (float)n));
  lundi_release(x);
  /* Longer than the ring: the host waits only to reuse a command buffer. */
  x = dev_tensor(d, 4096, 0.0f);
  for (int i = 0; x && i < 4 * LUNDI_VK_MAX_DISPATCHES + 10; i++) {
    lundi_tensor *y = lundi_add_scalar(x, 1.0f);
    lundi_release(x);
    x = y;
  }
  CHECK(x && all_equal(x, (float)(4 * LUNDI_VK_MAX_DISPATCHES + 10)));
  lundi_release(x);
  CHECK(lundi_device_sync(d) == 0);
  lundi_vk_stats s2 = stats(d);
  CHECK(s2.n_deferred == 0 && s2.in_flight == 0);
  CHECK(s2.n_live == s0.n_live - 1 && s2.live_bytes < s0.live_bytes); /* only x was live at s0 */
  CHECK(s2.live_bytes == 0 && s2.n_live == 0);
  CHECK(lundi_live_tensors() == 0);
}

static const test_case cases[] = {
    {"suballocation", suballocation},   {"reuse_flat", reuse_flat},
    {"offsets_vs_cpu", offsets_vs_cpu}, {"out_of_memory", out_of_memory},
    {"pipeline_cache", pipeline_cache}, {"nonblocking_submit", nonblocking_submit},
};
TEST_MAIN(cases)
