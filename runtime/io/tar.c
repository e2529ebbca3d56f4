/* gzip (through zlib) and a minimal ustar reader for package tarballs; see tar_internal.h. */
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "lundi/tensor.h"
#include "tar_internal.h"

/* ---- gzip ---- */

int lundi__gunzip(const uint8_t *in, size_t n, size_t max_out, const char *what, uint8_t **out,
                  size_t *out_n) {
  *out = NULL;
  *out_n = 0;
  if (n < 18 || in[0] != 0x1f || in[1] != 0x8b)
    return lundi_set_error(LUNDI_EFORMAT,
                           "%s is not a gzip file (%s); expected a .tgz package tarball", what,
                           n < 18 ? "too short" : "wrong magic bytes");
  z_stream zs;
  memset(&zs, 0, sizeof zs);
  if (inflateInit2(&zs, 16 + MAX_WBITS) != Z_OK)
    return lundi_set_error(LUNDI_ENOMEM, "%s: could not start the gzip decoder", what);
  size_t cap = n * 4 < ((size_t)1 << 16) ? ((size_t)1 << 16) : n * 4, used = 0;
  if (cap > max_out) cap = max_out;
  uint8_t *buf = malloc(cap ? cap : 1);
  int rc = LUNDI_OK, zr = Z_OK;
  if (!buf) {
    rc = lundi_set_error(LUNDI_ENOMEM, "%s: out of memory for %zu bytes", what, cap);
    goto done;
  }
  const uint8_t *src = in;
  size_t left = n;
  for (;;) {
    if (zs.avail_in == 0 && left) {
      zs.next_in = (Bytef *)src;
      zs.avail_in = left > UINT_MAX ? UINT_MAX : (uInt)left;
      src += zs.avail_in;
      left -= zs.avail_in;
    }
    if (used == cap) {
      if (cap >= max_out) {
        rc = lundi_set_error(
            LUNDI_EFORMAT,
            "%s unpacks to more than %zu MiB, more than any expected package; refusing it", what,
            max_out >> 20);
        goto done;
      }
      size_t ncap = cap > max_out / 2 ? max_out : cap * 2;
      uint8_t *nb = realloc(buf, ncap);
      if (!nb) {
        rc = lundi_set_error(LUNDI_ENOMEM, "%s: out of memory for %zu bytes", what, ncap);
        goto done;
      }
      buf = nb;
      cap = ncap;
    }
    size_t room = cap - used;
    zs.next_out = buf + used;
    zs.avail_out = room > UINT_MAX ? UINT_MAX : (uInt)room;
    uInt before = zs.avail_out;
    zr = inflate(&zs, Z_NO_FLUSH);
    used += before - zs.avail_out;
    if (zr == Z_STREAM_END) break;
    if (zr == Z_BUF_ERROR && zs.avail_in == 0 && !left) {
      rc = lundi_set_error(LUNDI_EFORMAT,
                           "%s is truncated: the gzip stream ends early; download it again", what);
      goto done;
    }
    if (zr != Z_OK && zr != Z_BUF_ERROR) {
      rc = lundi_set_error(LUNDI_EFORMAT, "%s is corrupt: gzip says '%s'; download it again", what,
                           zs.msg ? zs.msg : "invalid data");
      goto done;
    }
  }
  if (zs.avail_in || left) {
    rc = lundi_set_error(LUNDI_EFORMAT, "%s has %zu unexpected bytes after its gzip stream", what,
                         (size_t)zs.avail_in + left);
    goto done;
  }
done:
  inflateEnd(&zs);
  if (rc) {
    free(buf);
    return rc;
  }
  *out = buf;
  *out_n = used;
  return LUNDI_OK;
}

/* ---- ustar ---- */

#define BLOCK 512

/* An octal number field: optional leading spaces, digits, then NUL/space padding to the
 * end. Base-256 (GNU, high bit set) is refused: no package needs files of 8 GiB. */
static int octal(const uint8_t *f, size_t len, uint64_t *v) {
  size_t i = 0;
  uint64_t x = 0;
  if (len && (f[0] & 0x80)) return -1;
  while (i < len && f[i] == ' ') i++;
  size_t start = i;
  for (; i < len && f[i] >= '0' && f[i] <= '7'; i++) {
    if (x >> 60) return -1;
    x = x * 8 + (uint64_t)(f[i] - '0');
  }
  if (i == start) return -1;
  for (; i < len; i++)
    if (f[i] != 0 && f[i] != ' ') return -1;
  *v = x;
  return 0;
}

static int is_zero_block(const uint8_t *b) {
  for (int i = 0; i < BLOCK; i++)
    if (b[i]) return 0;
  return 1;
}

/* Relative, no empty name, no "." or ".." component, no control characters. */
static const char *unsafe_name(const char *s) {
  if (!*s) return "an empty name";
  if (*s == '/') return "an absolute path";
  const char *c = s;
  while (*c) {
    const char *e = strchr(c, '/');
    size_t len = e ? (size_t)(e - c) : strlen(c);
    if ((len == 1 && c[0] == '.') || (len == 2 && c[0] == '.' && c[1] == '.'))
      return "a '.' or '..' component (path traversal)";
    if (len == 0 && e) return "an empty path component";
    c += len;
    if (*c == '/') c++;
  }
  for (c = s; *c; c++)
    if ((unsigned char)*c < 0x20 || *c == 0x7f) return "a control character";
  return NULL;
}

/* Copies at most len bytes of a NUL-padded field. */
static size_t field_str(char *dst, const uint8_t *f, size_t len) {
  size_t k = 0;
  while (k < len && f[k]) dst[k] = (char)f[k], k++;
  dst[k] = 0;
  return k;
}

/* pax extended header records "LEN key=value\n"; keeps the "path" value in name. A
 * record that does not parse makes the whole archive malformed. */
static int pax_path(const uint8_t *p, size_t n, char *name, int *have, const char *what,
                    size_t off) {
  size_t i = 0;
  while (i < n) {
    size_t j = i, len = 0;
    while (j < n && p[j] >= '0' && p[j] <= '9' && j - i < 9)
      len = len * 10 + (size_t)(p[j++] - '0');
    if (j == i || j >= n || p[j] != ' ' || len < j - i + 3 || len > n - i || p[i + len - 1] != '\n')
      return lundi_set_error(LUNDI_EFORMAT, "%s: malformed pax header record at offset %zu", what,
                             off);
    const uint8_t *kv = p + j + 1, *end = p + i + len - 1;
    const uint8_t *eq = memchr(kv, '=', (size_t)(end - kv));
    if (!eq)
      return lundi_set_error(LUNDI_EFORMAT, "%s: pax header record without '=' at offset %zu", what,
                             off);
    if ((size_t)(eq - kv) == 4 && !memcmp(kv, "path", 4)) {
      size_t vl = (size_t)(end - eq - 1);
      if (vl > LUNDI_TAR_MAX_NAME || memchr(eq + 1, 0, vl))
        return lundi_set_error(LUNDI_EFORMAT,
                               "%s: pax path at offset %zu is too long or holds a NUL", what, off);
      memcpy(name, eq + 1, vl);
      name[vl] = 0;
      *have = 1;
    }
    i += len;
  }
  return 0;
}

int lundi__tar_walk(const uint8_t *tar, size_t n, size_t max_entry, const char *what,
                    lundi_tar_fn fn, void *ud) {
  char name[LUNDI_TAR_MAX_NAME + 1], next_name[LUNDI_TAR_MAX_NAME + 1];
  int have_next = 0;
  size_t off = 0;
  for (;;) {
    if (n - off < BLOCK)
      return lundi_set_error(
          LUNDI_EFORMAT,
          "%s is truncated: the archive ends at byte %zu without its end-of-archive block", what,
          n);
    const uint8_t *h = tar + off;
    if (is_zero_block(h)) {
      if (have_next)
        return lundi_set_error(LUNDI_EFORMAT, "%s: a long-name header at the end names no entry",
                               what);
      return 0; /* end of archive (a second zero block and padding may follow) */
    }
    uint64_t sum = 0, want, size;
    int64_t ssum = 0;
    for (int i = 0; i < BLOCK; i++) {
      uint8_t b = (i >= 148 && i < 156) ? ' ' : h[i];
      sum += b;
      ssum += (int8_t)b;
    }
    if (octal(h + 148, 8, &want) || (want != sum && (int64_t)want != ssum))
      return lundi_set_error(LUNDI_EFORMAT,
                             "%s: bad header checksum at offset %zu (corrupt archive)", what, off);
    if (octal(h + 124, 12, &size))
      return lundi_set_error(LUNDI_EFORMAT, "%s: unreadable size field at offset %zu", what, off);
    char type = h[156] ? (char)h[156] : '0';
    if (type == '1' || type == '2' || type == '3' || type == '4' || type == '5' || type == '6')
      size = 0;
    if (size > max_entry)
      return lundi_set_error(
          LUNDI_EFORMAT, "%s: the entry at offset %zu claims %llu bytes, above the limit of %zu",
          what, off, (unsigned long long)size, max_entry);
    size_t padded = ((size_t)size + BLOCK - 1) / BLOCK * BLOCK;
    if (padded > n - off - BLOCK)
      return lundi_set_error(
          LUNDI_EFORMAT,
          "%s is truncated: the entry at offset %zu needs %llu bytes but only %zu remain", what,
          off, (unsigned long long)size, n - off - BLOCK);
    const uint8_t *data = h + BLOCK;
    if (type == 'x' || type == 'L') {
      int rc;
      if (type == 'x') {
        rc = pax_path(data, (size_t)size, next_name, &have_next, what, off);
      } else {
        size_t k = (size_t)size;
        while (k && data[k - 1] == 0) k--;
        rc = (k > LUNDI_TAR_MAX_NAME || memchr(data, 0, k))
                 ? lundi_set_error(LUNDI_EFORMAT,
                                   "%s: GNU long name at offset %zu is too long or holds a NUL",
                                   what, off)
                 : 0;
        if (!rc) memcpy(next_name, data, k), next_name[k] = 0, have_next = 1;
      }
      if (rc) return rc;
      off += BLOCK + padded;
      continue;
    }
    if (type == 'g') { /* pax global header: nothing we use */
      off += BLOCK + padded;
      continue;
    }
    if (have_next) {
      memcpy(name, next_name, strlen(next_name) + 1);
      have_next = 0;
    } else {
      char prefix[156];
      size_t pl = field_str(prefix, h + 345, 155);
      if (memcmp(h + 257, "ustar", 5)) pl = 0, prefix[0] = 0; /* old tar: no prefix field */
      size_t k = 0;
      if (pl) memcpy(name, prefix, pl), name[pl] = '/', k = pl + 1;
      field_str(name + k, h, 100);
    }
    const char *why = unsafe_name(name);
    if (why)
      return lundi_set_error(LUNDI_EFORMAT,
                             "%s: refusing the entry '%.200s' at offset %zu: it has %s", what, name,
                             off, why);
    lundi_tar_entry e = {name, type, data, (size_t)size};
    int r = fn(&e, ud);
    if (r) return r;
    off += BLOCK + padded;
  }
}
