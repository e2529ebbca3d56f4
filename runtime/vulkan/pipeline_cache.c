/* The VkPipelineCache on disk, so a new process skips the driver's shader compiles:
 * $XDG_CACHE_HOME/lundi/ (else ~/.cache/lundi/) vk-pipelines-<vendor>-<device>-<uuid>.bin,
 * the same directory rules as the MNIST cache (runtime/data/mnist.c).
 *
 * File: the driver's data (vkGetPipelineCacheData) followed by a 16-byte trailer, "lundiPC1"
 * and the FNV-1a 64 of the data, little-endian. The spec lets only data the driver itself
 * returned be handed back, so a file whose checksum, length or Vulkan header (version,
 * vendor, device, pipelineCacheUUID) does not match is ignored, never passed on, and the next
 * save replaces it.
 *
 * Saving: at a sync point (lundi_vk_sync, a download) after pipelines were created, the data
 * is snapshot into host memory and written atomically, at most every SAVE_INTERVAL seconds;
 * a snapshot still pending at exit is written by an atexit hook, which makes no Vulkan call
 * and skips a device whose lock is held, so it cannot crash or hang. Failures never fail an
 * op: they go to the debug log (LUNDI_VULKAN_DEBUG=1) and the thread's error is kept.
 * LUNDI_VULKAN_PIPELINE_CACHE=0 turns the file off. */
#include "vulkan/vk.h"

#include "core/atomic_file.h"
#include "core/file.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#define SAVE_INTERVAL 5.0
#define MAX_FILE ((size_t)256 << 20)
#define HEADER 32
#define TRAILER 16
static const char magic[8] = {'l', 'u', 'n', 'd', 'i', 'P', 'C', '1'};

void lundi_vk_debug(const vk_dev *d, const char *fmt, ...) {
  const char *e = getenv("LUNDI_VULKAN_DEBUG");
  if (!e || strcmp(e, "1")) return;
  va_list ap;
  va_start(ap, fmt);
  fprintf(stderr, "lundi: vulkan:%d: ", d->index);
  vfprintf(stderr, fmt, ap);
  fputc('\n', stderr);
  va_end(ap);
}

uint64_t lundi_vk_pcache_hash(const void *p, size_t n) {
  const unsigned char *s = p;
  uint64_t h = 0xcbf29ce484222325ull;
  for (size_t i = 0; i < n; i++) h = (h ^ s[i]) * 0x100000001b3ull;
  return h;
}

static uint32_t le32(const unsigned char *p) {
  return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

/* The reason the file cannot be used, or NULL. */
static const char *check(const vk_dev *d, const unsigned char *f, size_t n) {
  if (n < HEADER + TRAILER) return "too short";
  size_t len = n - TRAILER;
  if (memcmp(f + len, magic, sizeof magic)) return "no lundi trailer";
  uint64_t h = 0;
  for (int i = 7; i >= 0; i--) h = h << 8 | f[len + 8 + i];
  if (h != lundi_vk_pcache_hash(f, len)) return "checksum mismatch";
  if (le32(f) < HEADER || le32(f) > len) return "bad header size";
  if (le32(f + 4) != VK_PIPELINE_CACHE_HEADER_VERSION_ONE) return "unknown header version";
  if (le32(f + 8) != d->props.vendorID || le32(f + 12) != d->props.deviceID)
    return "another device's";
  if (memcmp(f + 16, d->props.pipelineCacheUUID, VK_UUID_SIZE))
    return "pipelineCacheUUID mismatch (another driver)";
  return NULL;
}

static char *cache_path(const vk_dev *d) {
  char uuid[2 * VK_UUID_SIZE + 1], rel[128], buf[4096];
  for (unsigned i = 0; i < VK_UUID_SIZE; i++) snprintf(uuid + 2 * i, 3, "%02x", d->props.pipelineCacheUUID[i]);
  snprintf(rel, sizeof rel, "vk-pipelines-%08x-%08x-%s.bin", d->props.vendorID, d->props.deviceID, uuid);
  char saved[1024]; /* no cache directory is no error for the op that opened the device */
  int code = lundi_last_error_code();
  snprintf(saved, sizeof saved, "%s", lundi_last_error());
  if (!lundi__cache_file(buf, sizeof buf, rel, "pipeline cache")) return strdup(buf);
  if (code) lundi_set_error(code, "%s", saved);
  else lundi_clear_error();
  return NULL;
}

/* The cache file, or NULL when it is absent, unreadable or too big: the caller starts an
 * empty cache then, so the reader's error is dropped and the one already set kept. */
static unsigned char *read_file(const char *path, size_t *n) {
  char saved[1024];
  int code = lundi_last_error_code();
  snprintf(saved, sizeof saved, "%s", lundi_last_error());
  uint8_t *p = NULL;
  if (lundi__read_file(path, MAX_FILE, &p, n, NULL)) {
    if (code) lundi_set_error(code, "%s", saved);
    else lundi_clear_error();
    return NULL;
  }
  return p;
}

/* ---- devices to save at exit ---- */

static vk_dev *registered[LUNDI_VK_MAX_DEVICES];
static pthread_mutex_t reg_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_once_t hook_once = PTHREAD_ONCE_INIT;

static int write_pending(vk_dev *d);

static void at_exit(void) {
  if (pthread_mutex_trylock(&reg_lock)) return;
  for (int i = 0; i < LUNDI_VK_MAX_DEVICES; i++) {
    vk_dev *d = registered[i];
    if (!d || pthread_mutex_trylock(&d->lock)) continue; /* busy in another thread: skip */
    if (d->pc_pending) write_pending(d);
    pthread_mutex_unlock(&d->lock);
  }
  pthread_mutex_unlock(&reg_lock);
}

static void install_hook(void) {
  atexit(at_exit);
}

void lundi_vk_pcache_init(vk_dev *d) {
  VkPipelineCacheCreateInfo ci = {.sType = VK_STRUCTURE_TYPE_PIPELINE_CACHE_CREATE_INFO};
  const char *off = getenv("LUNDI_VULKAN_PIPELINE_CACHE");
  d->pc_status = VK_PC_DISABLED;
  d->pc_note = "turned off (LUNDI_VULKAN_PIPELINE_CACHE=0)";
  if (!(off && !strcmp(off, "0"))) {
    d->pc_path = cache_path(d);
    d->pc_note = d->pc_path ? "no file yet" : "no cache directory (set HOME or XDG_CACHE_HOME)";
    d->pc_status = d->pc_path ? VK_PC_NONE : VK_PC_DISABLED;
  }
  size_t n = 0;
  unsigned char *f = d->pc_path ? read_file(d->pc_path, &n) : NULL;
  if (f) {
    const char *why = check(d, f, n);
    d->pc_status = why ? VK_PC_REJECTED : VK_PC_LOADED;
    d->pc_note = why ? why : "";
    if (!why) {
      ci.initialDataSize = n - TRAILER;
      ci.pInitialData = f;
    }
    lundi_vk_debug(d, "pipeline cache %s: %s%s", d->pc_path, why ? "ignored: " : "loaded",
                   why ? why : "");
  }
  VkResult r = vkCreatePipelineCache(d->device, &ci, NULL, &d->pcache);
  if (r != VK_SUCCESS && ci.pInitialData) { /* the driver refused the data after all: start empty */
    d->pc_status = VK_PC_REJECTED;
    d->pc_note = "refused by the driver";
    ci.initialDataSize = 0;
    ci.pInitialData = NULL;
    r = vkCreatePipelineCache(d->device, &ci, NULL, &d->pcache);
  }
  if (r != VK_SUCCESS) { /* pipelines are then compiled without a cache */
    d->pcache = VK_NULL_HANDLE;
    d->pc_status = VK_PC_DISABLED;
    d->pc_note = "vkCreatePipelineCache failed";
  } else if (d->pc_status == VK_PC_LOADED) {
    d->pc_size = d->pc_loaded = ci.initialDataSize;
  }
  free(f);
  if (d->pcache && d->pc_path) {
    pthread_once(&hook_once, install_hook);
    pthread_mutex_lock(&reg_lock);
    if (d->index >= 0 && d->index < LUNDI_VK_MAX_DEVICES) registered[d->index] = d;
    pthread_mutex_unlock(&reg_lock);
  }
}

/* Writes the pending snapshot; keeps the caller's error state either way. */
static int write_pending(vk_dev *d) {
  char saved[1024];
  int code = lundi_last_error_code();
  snprintf(saved, sizeof saved, "%s", lundi_last_error());
  int rc = lundi__make_parents(d->pc_path, "pipeline cache");
  if (rc)
    lundi_vk_debug(d, "pipeline cache not saved: cannot create the directory of %s: %s", d->pc_path,
                   strerror(errno));
  else if ((rc = lundi__write_file_atomic(d->pc_path, d->pc_pending, d->pc_pending_len,
                                          "vulkan pipeline cache")))
    lundi_vk_debug(d, "pipeline cache not saved: %s", lundi_last_error());
  else
    lundi_vk_debug(d, "pipeline cache saved: %s (%zu bytes)", d->pc_path, d->pc_pending_len);
  if (code)
    lundi_set_error(code, "%s", saved);
  else
    lundi_clear_error();
  free(d->pc_pending);
  d->pc_pending = NULL;
  d->pc_pending_len = 0;
  d->pc_last_write = now();
  d->pc_saves += !rc;
  return rc;
}

void lundi_vk_pcache_point(vk_dev *d) {
  if (!d->pcache || !d->pc_path || (!d->pc_dirty && !d->pc_pending)) return;
  if (d->pc_dirty) {
    d->pc_dirty = 0;
    size_t n = 0;
    /* Unchanged size: the pipelines were hits in the loaded data; nothing to save. */
    if (vkGetPipelineCacheData(d->device, d->pcache, &n, NULL) != VK_SUCCESS || n < HEADER ||
        n == d->pc_size)
      return;
    unsigned char *p = malloc(n + TRAILER);
    if (!p) return;
    VkResult r = vkGetPipelineCacheData(d->device, d->pcache, &n, p);
    if (r != VK_SUCCESS) { /* VK_INCOMPLETE when it grew in between: the next point retries */
      free(p);
      d->pc_dirty = r == VK_INCOMPLETE;
      return;
    }
    uint64_t h = lundi_vk_pcache_hash(p, n);
    memcpy(p + n, magic, sizeof magic);
    for (int i = 0; i < 8; i++) p[n + 8 + i] = (unsigned char)(h >> (8 * i));
    free(d->pc_pending);
    d->pc_pending = p;
    d->pc_pending_len = n + TRAILER;
    d->pc_size = n;
  }
  if (d->pc_pending && (d->pc_last_write == 0 || now() - d->pc_last_write >= SAVE_INTERVAL))
    write_pending(d);
}
