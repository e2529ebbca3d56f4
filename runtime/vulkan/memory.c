/* Storage memory on a Vulkan device: a caching sub-allocator.
 *
 * A pool (one for storages, one for staging) carves buffers out of large blocks, each one
 * VkDeviceMemory with one VkBuffer over all of it; a vk_buf is (block, offset, size) and
 * descriptors and copies use that offset. Storage blocks start at 64 MiB and grow to 256 MiB
 * once the pool holds 256 MiB (staging: 16 and 64 MiB); they shrink to fit small heaps (at
 * most 1/8 of one) and maxMemoryAllocationSize. Requests above half a block get a block of
 * their own ("dedicated"). lundi never holds more than a heap's size.
 *
 * Sizes are rounded up to size classes: multiples of the alignment granule A below 8A, then
 * 8 classes per power of two (at most 12.5% slack). A free chunk sits in the bin of the
 * largest class it holds, so any chunk in a bin >= the request's class fits: allocation is
 * a bitmap scan and a split, free coalesces with free neighbours. A training loop that frees
 * and reallocates the same sizes every step gets the same chunks back, and memory stays flat.
 *
 * A block that becomes wholly empty is kept while the empty ones total at most cache_limit,
 * and given back to the driver otherwise (or on lundi_vk_memory_trim, or when an allocation
 * would fail). A free of a buffer that recorded or in-flight work uses waits (submit.c) until
 * that command buffer's fence has signalled; an allocation that finds nothing free waits for
 * in-flight work whose pending frees would cover it before it takes a new block, so memory
 * stays flat when the host records far ahead of the device.
 *
 * Where device memory is also host-visible (UMA, ReBAR, lavapipe) blocks stay mapped and
 * transfers are memcpy; elsewhere they go through staging buffers and copy commands. */
#include "vulkan/vk.h"

#include <stdlib.h>
#include <string.h>

#define HV VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT
#define HC VK_MEMORY_PROPERTY_HOST_COHERENT_BIT
#define DL VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT
#define MIB ((VkDeviceSize)1 << 20)

typedef struct vk_block {
  VkBuffer buf;
  VkDeviceMemory mem;
  VkDeviceSize size; /* usable bytes (the buffer's size) */
  VkDeviceSize alloc_size;
  uint32_t heap;
  void *map;
  vk_pool *pool;
  int dedicated;
  uint32_t n_used; /* chunks in use */
  vk_buf *chunks;  /* the first chunk, by address */
  struct vk_block *prev, *next;
} vk_block;

static int find_type(const vk_dev *d, uint32_t bits, VkMemoryPropertyFlags want) {
  for (uint32_t i = 0; i < d->mem.memoryTypeCount; i++)
    if ((bits & (1u << i)) && (d->mem.memoryTypes[i].propertyFlags & want) == want) return (int)i;
  return -1;
}

static VkDeviceSize pow2_floor(VkDeviceSize v) {
  VkDeviceSize p = 1;
  while (p <= v / 2) p *= 2;
  return p;
}

int lundi_vk_choose_memory(vk_dev *d) {
  VkDeviceSize biggest = 0;
  for (uint32_t i = 0; i < d->mem.memoryHeapCount; i++)
    if ((d->mem.memoryHeaps[i].flags & VK_MEMORY_HEAP_DEVICE_LOCAL_BIT) && d->mem.memoryHeaps[i].size > biggest)
      biggest = d->mem.memoryHeaps[i].size;
  int staging = find_type(d, ~0u, HV | HC | VK_MEMORY_PROPERTY_HOST_CACHED_BIT);
  if (staging < 0) staging = find_type(d, ~0u, HV | HC);
  if (staging < 0)
    return lundi__err(LUNDI_EUNSUPPORTED, "vulkan:%d: no host-visible coherent memory type", d->index);
  d->staging_type = (uint32_t)staging;
  /* Map storages directly only when the host-visible device-local heap is (nearly) all of
   * device memory: a 256 MiB BAR window must not hold tensors. */
  int direct = find_type(d, ~0u, DL | HV | HC);
  if (direct >= 0 && d->mem.memoryHeaps[d->mem.memoryTypes[direct].heapIndex].size < biggest / 2) direct = -1;
  if (direct < 0 && biggest == 0) direct = staging; /* no device-local heap: host memory it is */
  const char *force = getenv("LUNDI_VULKAN_STAGING"); /* tests the staging path on UMA devices */
  if (force && !strcmp(force, "1")) direct = -1;
  int local = direct >= 0 ? direct : find_type(d, ~0u, DL);
  if (local < 0) local = staging;
  d->direct = direct >= 0;
  d->mem_type = (uint32_t)local;
  /* Every offset is a multiple of the granule, so any chunk may be bound as a storage
   * buffer (the spec makes minStorageBufferOffsetAlignment a power of two). */
  VkDeviceSize a = d->props.limits.minStorageBufferOffsetAlignment;
  d->align = a > 16 ? pow2_floor(a) : 16;
  if (d->align < a) d->align *= 2;
  VkDeviceSize heap = d->mem.memoryHeaps[d->mem.memoryTypes[local].heapIndex].size;
  /* Empty blocks kept for reuse: a few blocks' worth, small next to the heap. */
  d->cache_limit = heap / 8 < 256 * MIB ? heap / 8 : 256 * MIB;
  d->pools[0] = (vk_pool){.what = "storage", .type = (uint32_t)local, .mapped = d->direct, .base = 64 * MIB};
  d->pools[1] = (vk_pool){.what = "staging", .type = (uint32_t)staging, .mapped = 1, .base = 16 * MIB};
  return 0;
}

/* ---- size classes ---- */

/* Class of u granules, rounded down (floor) or up. */
static int class_floor(uint64_t u) {
  if (u < 8) return (int)u;
  int b = 63 - __builtin_clzll(u);
  return 8 + (b - 3) * 8 + (int)((u >> (b - 3)) - 8);
}
static uint64_t class_units(int c) {
  if (c < 8) return (uint64_t)c;
  int b = (c - 8) / 8 + 3;
  return (uint64_t)(8 + (c - 8) % 8) << (b - 3);
}
static int class_ceil(uint64_t u) {
  int c = class_floor(u);
  return class_units(c) < u ? c + 1 : c;
}

static void bin_insert(vk_dev *d, vk_pool *p, vk_buf *c) {
  int bin = class_floor(c->csize / d->align);
  if (bin >= LUNDI_VK_BINS) bin = LUNDI_VK_BINS - 1;
  c->bin = bin;
  c->fprev = NULL;
  c->fnext = p->bins[bin];
  if (c->fnext) c->fnext->fprev = c;
  p->bins[bin] = c;
  p->mask[bin / 64] |= 1ull << (bin % 64);
}

static void bin_remove(vk_pool *p, vk_buf *c) {
  if (c->fprev) c->fprev->fnext = c->fnext;
  else p->bins[c->bin] = c->fnext;
  if (c->fnext) c->fnext->fprev = c->fprev;
  if (!p->bins[c->bin]) p->mask[c->bin / 64] &= ~(1ull << (c->bin % 64));
  c->fprev = c->fnext = NULL;
}

/* A free chunk of class >= c (so at least class_units(c) granules), or NULL. */
static vk_buf *bin_find(vk_pool *p, int c) {
  for (int w = c / 64; w < LUNDI_VK_BINS / 64; w++) {
    uint64_t m = p->mask[w];
    if (w == c / 64) m &= ~0ull << (c % 64);
    if (m) return p->bins[w * 64 + __builtin_ctzll(m)];
  }
  return NULL;
}

/* ---- blocks ---- */

static VkDeviceSize heap_size(const vk_dev *d, uint32_t heap) { return d->mem.memoryHeaps[heap].size; }

/* Free bytes on the heap: the driver's budget when VK_EXT_memory_budget is enabled, else the
 * heap's size less what lundi holds. */
static VkDeviceSize heap_free(vk_dev *d, uint32_t heap, int *from_budget) {
  *from_budget = 0;
  if (d->has_budget) {
    VkPhysicalDeviceMemoryBudgetPropertiesEXT b = {.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_MEMORY_BUDGET_PROPERTIES_EXT};
    VkPhysicalDeviceMemoryProperties2 m = {.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_MEMORY_PROPERTIES_2, .pNext = &b};
    vkGetPhysicalDeviceMemoryProperties2(d->pd, &m);
    if (b.heapBudget[heap]) {
      *from_budget = 1;
      return b.heapBudget[heap] > b.heapUsage[heap] ? b.heapBudget[heap] - b.heapUsage[heap] : 0;
    }
  }
  VkDeviceSize size = heap_size(d, heap);
  return size > d->heap_used[heap] ? size - d->heap_used[heap] : 0;
}

/* Next shared block's size for pool p. */
static VkDeviceSize block_size(const vk_dev *d, const vk_pool *p) {
  VkDeviceSize b = p->block_bytes >= 4 * p->base ? 4 * p->base : p->base;
  VkDeviceSize heap = heap_size(d, d->mem.memoryTypes[p->type].heapIndex);
  while (b > MIB && (b > heap / 8 || b > d->max_alloc)) b /= 2;
  return b;
}

/* A block of `size` bytes (at least `min` when the heap is short); NULL with *vr set. */
static vk_block *block_new(vk_dev *d, vk_pool *p, VkDeviceSize size, VkDeviceSize min, int dedicated, VkResult *vr) {
  *vr = VK_ERROR_OUT_OF_DEVICE_MEMORY;
  uint32_t heap = d->mem.memoryTypes[p->type].heapIndex;
  /* lundi keeps itself within the heap: past it drivers fail late or page. */
  VkDeviceSize room = heap_size(d, heap) > d->heap_used[heap] ? heap_size(d, heap) - d->heap_used[heap] : 0;
  if (size > room) size = room / d->align * d->align;
  if (size < min || !size) return NULL;
  vk_block *k = calloc(1, sizeof *k);
  vk_buf *c = calloc(1, sizeof *c);
  if (!k || !c) {
    free(k);
    free(c);
    *vr = VK_ERROR_OUT_OF_HOST_MEMORY;
    return NULL;
  }
  VkBufferCreateInfo bi = {.sType = VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO, .size = size,
                           .usage = VK_BUFFER_USAGE_STORAGE_BUFFER_BIT | VK_BUFFER_USAGE_TRANSFER_SRC_BIT |
                                    VK_BUFFER_USAGE_TRANSFER_DST_BIT,
                           .sharingMode = VK_SHARING_MODE_EXCLUSIVE};
  VkResult r = vkCreateBuffer(d->device, &bi, NULL, &k->buf);
  if (r != VK_SUCCESS) goto fail;
  VkMemoryRequirements req;
  vkGetBufferMemoryRequirements(d->device, k->buf, &req);
  VkMemoryPropertyFlags props = d->mem.memoryTypes[p->type].propertyFlags & (DL | HV | HC);
  int type = (req.memoryTypeBits & (1u << p->type)) ? (int)p->type : find_type(d, req.memoryTypeBits, props);
  r = VK_ERROR_FEATURE_NOT_PRESENT;
  if (type < 0) goto fail;
  k->heap = d->mem.memoryTypes[type].heapIndex;
  VkMemoryAllocateInfo ai = {.sType = VK_STRUCTURE_TYPE_MEMORY_ALLOCATE_INFO, .allocationSize = req.size,
                             .memoryTypeIndex = (uint32_t)type};
  r = vkAllocateMemory(d->device, &ai, NULL, &k->mem);
  d->n_memory_allocs++;
  if (r != VK_SUCCESS) {
    k->mem = VK_NULL_HANDLE;
    goto fail;
  }
  r = vkBindBufferMemory(d->device, k->buf, k->mem, 0);
  if (r == VK_SUCCESS && p->mapped) r = vkMapMemory(d->device, k->mem, 0, VK_WHOLE_SIZE, 0, &k->map);
  if (r != VK_SUCCESS) goto fail;
  k->size = size;
  k->alloc_size = req.size;
  k->pool = p;
  k->dedicated = dedicated;
  *c = (vk_buf){.buf = k->buf, .offset = 0, .csize = size, .block = k, .free = 1, .heap = k->heap};
  k->chunks = c;
  k->next = p->blocks;
  if (p->blocks) p->blocks->prev = k;
  p->blocks = k;
  if (!dedicated) {
    p->block_bytes += size;
    bin_insert(d, p, c);
  }
  d->heap_used[k->heap] += req.size;
  d->cached_bytes += size; /* empty until the first chunk is taken */
  d->n_memory++;
  d->n_dedicated += dedicated;
  *vr = VK_SUCCESS;
  return k;
fail:
  if (k->mem) vkFreeMemory(d->device, k->mem, NULL);
  if (k->buf) vkDestroyBuffer(d->device, k->buf, NULL);
  free(k);
  free(c);
  *vr = r;
  return NULL;
}

static void block_destroy(vk_dev *d, vk_block *k) {
  vk_pool *p = k->pool;
  if (!k->dedicated) {
    bin_remove(p, k->chunks);
    p->block_bytes -= k->size;
  }
  free(k->chunks);
  if (k->prev) k->prev->next = k->next;
  else p->blocks = k->next;
  if (k->next) k->next->prev = k->prev;
  if (k->map) vkUnmapMemory(d->device, k->mem);
  vkDestroyBuffer(d->device, k->buf, NULL);
  vkFreeMemory(d->device, k->mem, NULL);
  d->heap_used[k->heap] -= k->alloc_size;
  d->n_memory--;
  d->n_dedicated -= k->dedicated;
  d->cached_bytes -= k->size; /* only empty blocks are destroyed */
  free(k);
}

/* Gives every empty block back; returns the bytes freed. */
static VkDeviceSize release_cached(vk_dev *d) {
  VkDeviceSize freed = 0;
  for (int i = 0; i < 2; i++)
    for (vk_block *k = d->pools[i].blocks, *next; k; k = next) {
      next = k->next;
      if (!k->n_used) {
        freed += k->alloc_size;
        block_destroy(d, k);
      }
    }
  return freed;
}

/* ---- chunks ---- */

static void take(vk_dev *d, vk_buf *c, VkDeviceSize size) {
  vk_block *k = c->block;
  if (!k->n_used++) d->cached_bytes -= k->size;
  c->free = 0;
  c->size = size;
  c->map = k->map ? (char *)k->map + c->offset : NULL;
  c->w_epoch = c->r_epoch = c->w_serial = c->u_serial = 0;
  d->live_bytes += c->csize;
  d->n_live++;
}

/* Takes `need` bytes from free chunk c, the rest (if any) stays free in a new chunk *spare. */
static void split(vk_dev *d, vk_pool *p, vk_buf *c, VkDeviceSize need, vk_buf **spare) {
  bin_remove(p, c);
  if (c->csize - need >= d->align) {
    vk_buf *r = *spare;
    *spare = NULL;
    *r = (vk_buf){.buf = c->buf, .offset = c->offset + need, .csize = c->csize - need, .block = c->block,
                  .free = 1, .heap = c->heap, .prev = c, .next = c->next};
    if (c->next) c->next->prev = r;
    c->next = r;
    c->csize = need;
    bin_insert(d, p, r);
  }
}

void lundi_vk_release(vk_dev *d, vk_buf *c) {
  vk_block *k = c->block;
  vk_pool *p = k->pool;
  d->live_bytes -= c->csize;
  d->n_live--;
  c->free = 1;
  c->map = NULL;
  if (!k->dedicated) {
    vk_buf *n = c->next, *v = c->prev;
    if (n && n->free) { /* absorb the next chunk */
      bin_remove(p, n);
      c->csize += n->csize;
      c->next = n->next;
      if (n->next) n->next->prev = c;
      free(n);
    }
    if (v && v->free) { /* the previous chunk absorbs this one */
      bin_remove(p, v);
      v->csize += c->csize;
      v->next = c->next;
      if (c->next) c->next->prev = v;
      free(c);
      c = v;
    }
    bin_insert(d, p, c);
  }
  if (--k->n_used) return;
  d->cached_bytes += k->size;
  if (d->cached_bytes > d->cache_limit) block_destroy(d, k);
}

/* An empty dedicated block of [need, need + need / 8] bytes kept for reuse. */
static vk_block *cached_dedicated(vk_pool *p, VkDeviceSize need) {
  vk_block *best = NULL;
  for (vk_block *k = p->blocks; k; k = k->next)
    if (k->dedicated && !k->n_used && k->size >= need && k->size - need <= need / 8 && (!best || k->size < best->size))
      best = k;
  return best;
}

static void fmt_size(char *buf, size_t n, VkDeviceSize v) {
  if (v >= ((VkDeviceSize)1 << 30)) snprintf(buf, n, "%.2f GiB", (double)v / (double)(1u << 30));
  else snprintf(buf, n, "%.1f MiB", (double)v / (double)MIB);
}

/* "...; heap H has X free (N bytes) of Y, lundi holds Z of it (W cached)" */
static void heap_note(vk_dev *d, uint32_t heap, char *buf, size_t n) {
  int budget;
  VkDeviceSize fr = heap_free(d, heap, &budget);
  char a[32], b[32], c[32], e[32];
  fmt_size(a, sizeof a, fr);
  fmt_size(b, sizeof b, heap_size(d, heap));
  fmt_size(c, sizeof c, d->heap_used[heap]);
  fmt_size(e, sizeof e, d->cached_bytes);
  snprintf(buf, n, "heap %u has %s free (%llu bytes%s) of %s; lundi holds %s of it, %s cached for reuse", heap, a,
           (unsigned long long)fr, budget ? ", VK_EXT_memory_budget" : "", b, c, e);
}

/* A chunk of at least `size` bytes from pool p; NULL with the error set. */
static vk_buf *pool_alloc(vk_dev *d, vk_pool *p, VkDeviceSize size) {
  uint32_t heap = d->mem.memoryTypes[p->type].heapIndex;
  char note[256], req[32];
  const char *limit = NULL;
  VkDeviceSize lim = 0;
  if (size > d->max_alloc) limit = "maxMemoryAllocationSize (the most one VkDeviceMemory may hold)", lim = d->max_alloc;
  else if (size > d->max_range && p == &d->pools[0])
    limit = "maxStorageBufferRange (the most one shader binding may address)", lim = d->max_range;
  if (limit) {
    heap_note(d, heap, note, sizeof note);
    fmt_size(req, sizeof req, size);
    return lundi__errp(LUNDI_ENOMEM, "vulkan:%d: cannot allocate %llu bytes (%s): more than the device's %s, %llu bytes; %s",
                       d->index, (unsigned long long)size, req, limit, (unsigned long long)lim, note);
  }
  VkDeviceSize exact = (size + d->align - 1) / d->align * d->align;
  VkDeviceSize bsize = block_size(d, p);
  int dedicated = exact > bsize / 2;
  /* Rounded up to its class, so freed chunks and cached blocks fit nearby sizes too. */
  VkDeviceSize need = class_units(class_ceil(exact / d->align)) * d->align;
  if (need > d->max_alloc) need = exact;
  vk_buf *spare = calloc(1, sizeof *spare); /* the remainder of a split */
  if (!spare) return lundi__errp(LUNDI_ENOMEM, "vulkan:%d: out of host memory", d->index);
  VkResult r = VK_SUCCESS;
  int polled = 0, released = 0, flushed = 0;
  for (;;) {
    vk_block *k = dedicated ? cached_dedicated(p, need) : NULL;
    vk_buf *c = dedicated ? (k ? k->chunks : NULL) : bin_find(p, class_floor(need / d->align));
    /* Nothing free fits. Before asking the driver for more: the frees of completed work,
     * then those of in-flight work that would cover the request (waiting for it keeps
     * memory flat when the host runs ahead of the device). */
    if (!c && !polled) {
      polled = 1;
      lundi_vk_poll(d);
      continue;
    }
    if (!c && lundi_vk_reclaim(d, need)) continue;
    if (!c && (k = block_new(d, p, dedicated ? need : bsize, dedicated ? exact : need, dedicated, &r))) c = k->chunks;
    if (c) {
      if (!dedicated) split(d, p, c, need, &spare);
      free(spare);
      take(d, c, size);
      return c;
    }
    if (r != VK_ERROR_OUT_OF_DEVICE_MEMORY && r != VK_ERROR_OUT_OF_HOST_MEMORY) break;
    /* Short of memory: give back the empty blocks, then wait for all work (its frees) and
     * give back again. */
    if (!released) {
      released = 1;
      if (release_cached(d)) continue;
    }
    if (!flushed && (d->recording || d->n_deferred || d->done + 1 < d->serial)) {
      flushed = 1;
      if (lundi_vk_flush(d)) break;
      release_cached(d);
      continue;
    }
    break;
  }
  free(spare);
  if (r != VK_ERROR_OUT_OF_DEVICE_MEMORY && r != VK_ERROR_OUT_OF_HOST_MEMORY)
    return lundi__errp(LUNDI_EUNSUPPORTED, "vulkan:%d: a %s block for %llu bytes failed: %s", d->index, p->what,
                       (unsigned long long)size, lundi_vk_result(r));
  heap_note(d, heap, note, sizeof note);
  fmt_size(req, sizeof req, size);
  return lundi__errp(LUNDI_ENOMEM, "vulkan:%d: out of %s memory: requested %llu bytes (%s) for a %s buffer; %s",
                     d->index, r == VK_ERROR_OUT_OF_HOST_MEMORY ? "host" : "device", (unsigned long long)size, req,
                     p->what, note);
}

void *lundi_vk_alloc(lundi_device *dev, size_t nbytes) {
  vk_dev *d = lundi_vk_dev(dev);
  VkDeviceSize size = ((VkDeviceSize)(nbytes ? nbytes : 1) + 15) & ~(VkDeviceSize)15; /* shaders access words */
  pthread_mutex_lock(&d->lock);
  vk_buf *b = pool_alloc(d, &d->pools[0], size);
  pthread_mutex_unlock(&d->lock);
  return b;
}

void lundi_vk_free(lundi_device *dev, void *ptr, size_t nbytes) {
  (void)nbytes;
  vk_dev *d = lundi_vk_dev(dev);
  vk_buf *b = ptr;
  if (!b) return;
  pthread_mutex_lock(&d->lock);
  if (b->u_serial > d->done) lundi_vk_defer(d, b); /* recorded or in-flight work uses it */
  else lundi_vk_release(d, b);
  pthread_mutex_unlock(&d->lock);
}

int lundi_vk_memory_trim(lundi_device *dev) {
  vk_dev *d = lundi_vk_dev(dev);
  pthread_mutex_lock(&d->lock);
  int rc = lundi_vk_flush(d);
  release_cached(d);
  pthread_mutex_unlock(&d->lock);
  return rc;
}

void lundi_vk_memory_stats(lundi_device *dev, lundi_vk_stats *o) {
  vk_dev *d = lundi_vk_dev(dev);
  pthread_mutex_lock(&d->lock);
  lundi_vk_poll(d);
  memset(o, 0, sizeof *o);
  for (uint32_t h = 0; h < d->mem.memoryHeapCount; h++) o->device_bytes += d->heap_used[h];
  o->n_memory = d->n_memory;
  o->n_memory_allocs = d->n_memory_allocs;
  o->n_dedicated = d->n_dedicated;
  o->live_bytes = d->live_bytes;
  o->n_live = d->n_live;
  o->cached_bytes = d->cached_bytes;
  o->n_deferred = (uint64_t)d->n_deferred;
  o->alignment = d->align;
  o->block_size = block_size(d, &d->pools[0]);
  o->n_submits = d->n_submits;
  o->n_waits = d->n_waits;
  for (int i = 0; i < LUNDI_VK_RING; i++) o->in_flight += d->ring[i].serial != 0;
  o->pcache_status = d->pc_status;
  o->pcache_note = d->pc_note ? d->pc_note : "";
  o->pcache_path = d->pc_path;
  o->pcache_loaded_bytes = d->pc_loaded;
  o->pcache_saves = d->pc_saves;
  pthread_mutex_unlock(&d->lock);
}

/* ---- transfers ---- */

static void transfer_barrier(vk_dev *d, int before) {
  VkMemoryBarrier mb = {.sType = VK_STRUCTURE_TYPE_MEMORY_BARRIER};
  VkPipelineStageFlags src, dst;
  if (before) { /* earlier dispatches and copies -> this copy */
    mb.srcAccessMask = VK_ACCESS_SHADER_WRITE_BIT | VK_ACCESS_SHADER_READ_BIT | VK_ACCESS_TRANSFER_WRITE_BIT;
    mb.dstAccessMask = VK_ACCESS_TRANSFER_READ_BIT | VK_ACCESS_TRANSFER_WRITE_BIT;
    src = VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT | VK_PIPELINE_STAGE_TRANSFER_BIT;
    dst = VK_PIPELINE_STAGE_TRANSFER_BIT;
  } else { /* this copy -> later dispatches */
    mb.srcAccessMask = VK_ACCESS_TRANSFER_WRITE_BIT;
    mb.dstAccessMask = VK_ACCESS_SHADER_READ_BIT | VK_ACCESS_SHADER_WRITE_BIT | VK_ACCESS_TRANSFER_READ_BIT |
                       VK_ACCESS_TRANSFER_WRITE_BIT;
    src = VK_PIPELINE_STAGE_TRANSFER_BIT;
    dst = VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT | VK_PIPELINE_STAGE_TRANSFER_BIT;
  }
  vkCmdPipelineBarrier(d->cmd, src, dst, 0, 1, &mb, 0, NULL, 0, NULL);
}

/* Records a copy between b and a staging chunk. An upload stays recorded (the staging chunk
 * is freed when its command buffer completes); a download submits and waits. */
static int staged_copy(vk_dev *d, vk_buf *b, size_t off, void *host, size_t n, int to_device) {
  if (to_device && d->recording && d->cmd_staging + n > LUNDI_VK_STAGING_BYTES && lundi_vk_submit(d)) return -1;
  vk_buf *s = pool_alloc(d, &d->pools[1], n);
  if (!s) return -1;
  if (to_device) memcpy(s->map, host, n); /* coherent: visible to the device at submit */
  int rc = lundi_vk_begin(d);
  if (!rc) {
    transfer_barrier(d, 1);
    VkBufferCopy region = {.srcOffset = to_device ? s->offset : b->offset + off,
                           .dstOffset = to_device ? b->offset + off : s->offset, .size = n};
    vkCmdCopyBuffer(d->cmd, to_device ? s->buf : b->buf, to_device ? b->buf : s->buf, 1, &region);
    transfer_barrier(d, 0);
    d->epoch++; /* the copy is ordered before everything recorded later */
    s->u_serial = b->u_serial = d->serial;
    if (to_device) {
      b->w_serial = d->serial;
      d->cmd_staging += n;
    } else {
      uint64_t serial = d->serial;
      rc = lundi_vk_submit(d);
      if (!rc) rc = lundi_vk_wait(d, serial);
      if (!rc) memcpy(host, s->map, n);
    }
  }
  if (s->u_serial > d->done) lundi_vk_defer(d, s); /* the recorded upload reads it */
  else lundi_vk_release(d, s);
  return rc;
}

static int check_range(vk_dev *d, const char *what, const vk_buf *b, size_t off, size_t n) {
  if (off + n < off || off + n > b->size)
    return lundi__err(LUNDI_EINVAL, "vulkan:%d: %s of %zu bytes at offset %zu overruns a %llu-byte buffer",
                      d->index, what, n, off, (unsigned long long)b->size);
  return 0;
}

int lundi_vk_upload(lundi_device *dev, void *dst, size_t off, const void *src, size_t n) {
  vk_dev *d = lundi_vk_dev(dev);
  vk_buf *b = dst;
  if (!n) return 0;
  if (check_range(d, "upload", b, off, n)) return LUNDI_EINVAL;
  pthread_mutex_lock(&d->lock);
  int rc;
  if (b->map) {
    rc = lundi_vk_host_access(d, b, 1);
    if (!rc) memcpy((char *)b->map + off, src, n); /* coherent: visible at the next submit */
  } else {
    rc = staged_copy(d, b, off, (void *)src, n, 1);
  }
  pthread_mutex_unlock(&d->lock);
  return rc ? lundi_last_error_code() : 0;
}

int lundi_vk_download(lundi_device *dev, const void *src, size_t off, void *dst, size_t n) {
  vk_dev *d = lundi_vk_dev(dev);
  vk_buf *b = (vk_buf *)src;
  if (!n) return 0;
  if (check_range(d, "download", b, off, n)) return LUNDI_EINVAL;
  pthread_mutex_lock(&d->lock);
  int rc;
  if (b->map) {
    rc = lundi_vk_host_access(d, b, 0);
    if (!rc) memcpy(dst, (char *)b->map + off, n);
  } else {
    rc = staged_copy(d, b, off, dst, n, 0);
  }
  if (!rc) lundi_vk_pcache_point(d); /* the host waited on the device: a sync point */
  pthread_mutex_unlock(&d->lock);
  return rc ? lundi_last_error_code() : 0;
}
