/* safetensors checkpoints: 8-byte little-endian header length N, N bytes of JSON
 * {"name": {"dtype", "shape", "data_offsets": [begin, end]}, "__metadata__": {"k": "v"}},
 * then the data buffer (offsets are relative to it). The loader trusts nothing: every
 * field is checked and the entries must tile the buffer exactly. Save goes through a temp
 * file and rename(), so a crash or a full disk never leaves a partial file under path. */
#include "core/atomic_file.h"
#include "nn/nn_internal.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#define ST_HEADER_CAP 100000000ull /* same cap as the reference implementation */
#define ST_MAX_INT 9007199254740992.0 /* 2^53: larger JSON numbers are not exact */

typedef struct st_dtype {
  const char *name;
  lundi_dtype dt;
} st_dtype;

static const st_dtype st_dtypes[] = {
    {"F32", LUNDI_F32}, {"F16", LUNDI_F16}, {"BF16", LUNDI_BF16}, {"I32", LUNDI_I32}, {"U8", LUNDI_U8},
};
/* Valid in the format but with no lundi storage type. */
static const char *const st_unsupported[] = {"F64", "I64", "U64", "U32", "I16", "U16", "I8", "BOOL", "F8_E4M3", "F8_E5M2"};

static const char *st_dtype_name(lundi_dtype dt) {
  for (size_t i = 0; i < sizeof st_dtypes / sizeof *st_dtypes; i++)
    if (st_dtypes[i].dt == dt) return st_dtypes[i].name;
  return NULL;
}

/* ---- loading ---- */

typedef struct st_entry {
  const char *name;
  lundi_dtype dt;
  int ndim;
  int64_t shape[LUNDI_MAX_DIMS];
  uint64_t begin, end;
  int order; /* position in the header */
} st_entry;

typedef struct st_parse {
  const char *src; /* file name for messages */
  const uint8_t *data;
  uint64_t data_len;
  st_entry *e;
  int n;
} st_parse;

/* Exact non-negative integer from a JSON number, or -1. */
static int64_t json_uint(const cJSON *j) {
  if (!cJSON_IsNumber(j)) return -1;
  double d = j->valuedouble;
  if (!(d >= 0 && d <= ST_MAX_INT) || d != (double)(int64_t)d) return -1;
  return (int64_t)d;
}

static int parse_dtype(const st_parse *p, const char *name, const cJSON *j, lundi_dtype *dt) {
  if (!cJSON_IsString(j)) return lundi__err(LUNDI_EFORMAT, "safetensors '%s': tensor '%s': dtype is missing or not a string", p->src, name);
  for (size_t i = 0; i < sizeof st_dtypes / sizeof *st_dtypes; i++)
    if (!strcmp(j->valuestring, st_dtypes[i].name)) {
      *dt = st_dtypes[i].dt;
      return 0;
    }
  for (size_t i = 0; i < sizeof st_unsupported / sizeof *st_unsupported; i++)
    if (!strcmp(j->valuestring, st_unsupported[i]))
      return lundi__err(LUNDI_EUNSUPPORTED, "safetensors '%s': tensor '%s': dtype %s is not supported (F32, F16, BF16, I32, U8 are)",
                        p->src, name, j->valuestring);
  return lundi__err(LUNDI_EFORMAT, "safetensors '%s': tensor '%s': unknown dtype '%.40s'", p->src, name, j->valuestring);
}

static int parse_entry(const st_parse *p, const cJSON *j, st_entry *e) {
  const char *name = e->name;
  if (!cJSON_IsObject(j)) return lundi__err(LUNDI_EFORMAT, "safetensors '%s': tensor '%s': entry is not a JSON object", p->src, name);
  if (parse_dtype(p, name, cJSON_GetObjectItemCaseSensitive(j, "dtype"), &e->dt)) return lundi_last_error_code();
  const cJSON *shape = cJSON_GetObjectItemCaseSensitive(j, "shape");
  if (!cJSON_IsArray(shape)) return lundi__err(LUNDI_EFORMAT, "safetensors '%s': tensor '%s': shape is missing or not an array", p->src, name);
  int nd = cJSON_GetArraySize(shape);
  if (nd > LUNDI_MAX_DIMS)
    return lundi__err(LUNDI_EFORMAT, "safetensors '%s': tensor '%s': %d dims, at most %d are supported", p->src, name, nd, LUNDI_MAX_DIMS);
  e->ndim = nd;
  uint64_t numel = 1;
  int overflow = 0, zero = 0;
  for (int d = 0; d < nd; d++) {
    int64_t v = json_uint(cJSON_GetArrayItem(shape, d));
    if (v < 0) return lundi__err(LUNDI_EFORMAT, "safetensors '%s': tensor '%s': shape entry %d is not a non-negative integer", p->src, name, d);
    e->shape[d] = v;
    zero |= v == 0;
    if (__builtin_mul_overflow(numel, (uint64_t)v, &numel)) overflow = 1;
  }
  uint64_t nbytes = 0;
  char ss[160];
  lundi_shape_str(nd, e->shape, ss, sizeof ss);
  if (zero) overflow = 0, numel = 0; /* a zero dim makes the product exact whatever came before */
  if (overflow || numel > ((uint64_t)1 << 40) || __builtin_mul_overflow(numel, (uint64_t)lundi_dtype_size(e->dt), &nbytes))
    return lundi__err(LUNDI_EFORMAT, "safetensors '%s': tensor '%s': shape %s is too large", p->src, name, ss);
  const cJSON *off = cJSON_GetObjectItemCaseSensitive(j, "data_offsets");
  int64_t b = cJSON_GetArraySize(off) == 2 ? json_uint(cJSON_GetArrayItem(off, 0)) : -1;
  int64_t en = cJSON_GetArraySize(off) == 2 ? json_uint(cJSON_GetArrayItem(off, 1)) : -1;
  if (!cJSON_IsArray(off) || b < 0 || en < 0)
    return lundi__err(LUNDI_EFORMAT, "safetensors '%s': tensor '%s': data_offsets must be [begin, end] non-negative integers", p->src, name);
  if (b > en)
    return lundi__err(LUNDI_EFORMAT, "safetensors '%s': tensor '%s': data_offsets [%lld, %lld] end before they begin", p->src, name,
                      (long long)b, (long long)en);
  if ((uint64_t)en > p->data_len)
    return lundi__err(LUNDI_EFORMAT, "safetensors '%s': tensor '%s': data_offsets [%lld, %lld] are out of range (data is %llu bytes)",
                      p->src, name, (long long)b, (long long)en, (unsigned long long)p->data_len);
  if ((uint64_t)(en - b) != nbytes)
    return lundi__err(LUNDI_EFORMAT, "safetensors '%s': tensor '%s': size mismatch: data_offsets span %lld bytes but %s %s needs %llu",
                      p->src, name, (long long)(en - b), st_dtype_name(e->dt), ss, (unsigned long long)nbytes);
  e->begin = (uint64_t)b;
  e->end = (uint64_t)en;
  return 0;
}

static int cmp_name(const void *a, const void *b) {
  return strcmp(((const st_entry *)a)->name, ((const st_entry *)b)->name);
}

static int cmp_offset(const void *a, const void *b) {
  const st_entry *x = a, *y = b;
  if (x->begin != y->begin) return x->begin < y->begin ? -1 : 1;
  if (x->end != y->end) return x->end < y->end ? -1 : 1;
  return x->order - y->order;
}

static int cmp_order(const void *a, const void *b) {
  return ((const st_entry *)a)->order - ((const st_entry *)b)->order;
}

/* Entries must be uniquely named and tile [0, data_len) without overlaps or gaps. */
static int check_layout(st_parse *p) {
  qsort(p->e, (size_t)p->n, sizeof *p->e, cmp_name);
  for (int i = 1; i < p->n; i++)
    if (!strcmp(p->e[i].name, p->e[i - 1].name))
      return lundi__err(LUNDI_EFORMAT, "safetensors '%s': duplicate tensor name '%s'", p->src, p->e[i].name);
  qsort(p->e, (size_t)p->n, sizeof *p->e, cmp_offset);
  uint64_t at = 0;
  for (int i = 0; i < p->n; i++) {
    const st_entry *e = &p->e[i];
    if (e->begin < at)
      return lundi__err(LUNDI_EFORMAT, "safetensors '%s': tensor '%s' [%llu, %llu] overlaps tensor '%s' ending at %llu", p->src,
                        e->name, (unsigned long long)e->begin, (unsigned long long)e->end, p->e[i - 1].name, (unsigned long long)at);
    if (e->begin > at)
      return lundi__err(LUNDI_EFORMAT, "safetensors '%s': gap of %llu bytes before tensor '%s' (bytes [%llu, %llu) are not covered)",
                        p->src, (unsigned long long)(e->begin - at), e->name, (unsigned long long)at, (unsigned long long)e->begin);
    at = e->end;
  }
  if (at != p->data_len)
    return lundi__err(LUNDI_EFORMAT, "safetensors '%s': %llu bytes after the last tensor are not covered (data is %llu bytes)", p->src,
                      (unsigned long long)(p->data_len - at), (unsigned long long)p->data_len);
  return 0;
}

static int check_metadata(const st_parse *p, const cJSON *m) {
  if (!cJSON_IsObject(m)) return lundi__err(LUNDI_EFORMAT, "safetensors '%s': __metadata__ is not a JSON object", p->src);
  for (const cJSON *c = m->child; c; c = c->next)
    if (!cJSON_IsString(c))
      return lundi__err(LUNDI_EFORMAT, "safetensors '%s': __metadata__ value '%s' is not a string", p->src, c->string);
  return 0;
}

/* f32 (or i32/u8) tensor holding entry e, f16/bf16 widened to f32. */
static lundi_tensor *make_tensor(const st_parse *p, const st_entry *e) {
  int wide = e->dt == LUNDI_F16 || e->dt == LUNDI_BF16;
  lundi_tensor *t = lundi_empty(e->ndim, e->shape, wide ? LUNDI_F32 : e->dt, NULL);
  if (!t) return NULL;
  const uint8_t *src = p->data + e->begin;
  int64_t n = lundi_numel(t);
  if (!wide) {
    if (n) memcpy(lundi_data(t), src, (size_t)(e->end - e->begin));
    return t;
  }
  float *dst = lundi_data(t);
  for (int64_t i = 0; i < n; i++) {
    uint16_t h = (uint16_t)(src[2 * i] | (src[2 * i + 1] << 8));
    dst[i] = e->dt == LUNDI_F16 ? lundi_f16_to_f32(h) : lundi_bf16_to_f32(h);
  }
  return t;
}

static int is_json_space(uint8_t c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

/* Parses and validates buf; appends the tensors to out (when non-NULL) only if all is
 * well, and hands back __metadata__ as JSON text (when meta is non-NULL). */
static int st_parse_buf(const uint8_t *buf, size_t n, const char *src, lundi_param_list *out, char **meta) {
  st_parse p = {.src = src};
  if (n < 8) return lundi__err(LUNDI_EFORMAT, "safetensors '%s': truncated: %zu bytes, shorter than the 8-byte header length", src, n);
  uint64_t hlen = 0;
  for (int i = 7; i >= 0; i--) hlen = (hlen << 8) | buf[i];
  if (hlen > ST_HEADER_CAP)
    return lundi__err(LUNDI_EFORMAT, "safetensors '%s': header length %llu exceeds the %llu-byte limit", src, (unsigned long long)hlen,
                      ST_HEADER_CAP);
  if (hlen > n - 8)
    return lundi__err(LUNDI_EFORMAT, "safetensors '%s': truncated: header length %llu runs past the end of the file (%zu bytes)", src,
                      (unsigned long long)hlen, n);
  const char *hdr = (const char *)buf + 8, *end = NULL;
  p.data = buf + 8 + hlen;
  p.data_len = n - 8 - hlen;
  cJSON *root = cJSON_ParseWithLengthOpts(hdr, (size_t)hlen, &end, 0);
  if (!root)
    return lundi__err(LUNDI_EFORMAT, "safetensors '%s': header is not valid JSON (error near byte %lld of %llu)", src,
                      end ? (long long)(end - hdr) : -1LL, (unsigned long long)hlen);
  int rc = 0;
  lundi_param_list tmp = {0};
  const cJSON *md = NULL;
  for (const char *c = end; c < hdr + hlen && !rc; c++)
    if (!is_json_space((uint8_t)*c))
      rc = lundi__err(LUNDI_EFORMAT, "safetensors '%s': unexpected bytes after the JSON header at byte %lld", src, (long long)(c - hdr));
  if (!rc && !cJSON_IsObject(root)) rc = lundi__err(LUNDI_EFORMAT, "safetensors '%s': header is not a JSON object", src);
  int count = 0;
  for (const cJSON *c = rc ? NULL : root->child; c; c = c->next) count++;
  if (!rc && !(p.e = calloc((size_t)(count ? count : 1), sizeof *p.e))) rc = lundi__err(LUNDI_ENOMEM, "safetensors '%s': out of host memory", src);
  for (const cJSON *c = rc ? NULL : root->child; c && !rc; c = c->next) {
    if (!strcmp(c->string, "__metadata__")) {
      if (md) rc = lundi__err(LUNDI_EFORMAT, "safetensors '%s': duplicate tensor name '__metadata__'", src);
      else if (!(rc = check_metadata(&p, c))) md = c;
      continue;
    }
    p.e[p.n].name = c->string;
    p.e[p.n].order = p.n;
    rc = parse_entry(&p, c, &p.e[p.n]);
    p.n++;
  }
  if (!rc) rc = check_layout(&p);
  if (!rc && out) {
    qsort(p.e, (size_t)p.n, sizeof *p.e, cmp_order); /* as listed in the header */
    rc = lundi__param_list_reserve(&tmp, p.n);
    for (int i = 0; i < p.n && !rc; i++) {
      lundi_tensor *t = make_tensor(&p, &p.e[i]);
      rc = t ? lundi_param_list_push(&tmp, p.e[i].name, t) : lundi_last_error_code();
      lundi_release(t);
    }
    if (!rc) rc = lundi__param_list_reserve(out, tmp.n);
    if (!rc && tmp.n) { /* move the entries over: nothing left that can fail */
      memcpy(out->names + out->n, tmp.names, sizeof *tmp.names * (size_t)tmp.n);
      memcpy(out->tensors + out->n, tmp.tensors, sizeof *tmp.tensors * (size_t)tmp.n);
      out->n += tmp.n;
      tmp.n = 0;
    }
  }
  if (!rc && meta) {
    char *s = md ? cJSON_PrintUnformatted(md) : NULL;
    *meta = strdup(s ? s : "{}");
    if (s) cJSON_free(s);
    if (!*meta || (md && !s)) {
      free(*meta);
      *meta = NULL;
      rc = lundi__err(LUNDI_ENOMEM, "safetensors '%s': out of host memory", src);
    }
  }
  lundi_param_list_free(&tmp);
  free(p.e);
  cJSON_Delete(root);
  return rc;
}

int lundi_safetensors_load_mem(const uint8_t *buf, size_t n, lundi_param_list *out) {
  if ((!buf && n) || !out) return lundi__err(LUNDI_EINVAL, "safetensors_load_mem: buffer and list must be non-NULL");
  return st_parse_buf(buf, n, "<memory>", out, NULL);
}

/* Maps path read-only and parses it. */
static int st_parse_file(const char *path, lundi_param_list *out, char **meta) {
  if (!path || (!out && !meta)) return lundi__err(LUNDI_EINVAL, "safetensors_load: path and output must be non-NULL");
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return lundi__err(LUNDI_EIO, "safetensors '%s': cannot open: %s", path, strerror(errno));
  struct stat st;
  if (fstat(fd, &st) || !S_ISREG(st.st_mode)) {
    close(fd);
    return lundi__err(LUNDI_EIO, "safetensors '%s': not a regular file", path);
  }
  size_t n = (size_t)st.st_size;
  void *map = n ? mmap(NULL, n, PROT_READ, MAP_PRIVATE, fd, 0) : NULL;
  close(fd);
  if (map == MAP_FAILED) return lundi__err(LUNDI_EIO, "safetensors '%s': cannot map %zu bytes: %s", path, n, strerror(errno));
  int rc = st_parse_buf(map, n, path, out, meta);
  if (map) munmap(map, n);
  return rc;
}

int lundi_safetensors_load(const char *path, lundi_param_list *out) {
  if (!out) return lundi__err(LUNDI_EINVAL, "safetensors_load: list is NULL");
  return st_parse_file(path, out, NULL);
}

int lundi_safetensors_metadata(const char *path, char **json) {
  if (!json) return lundi__err(LUNDI_EINVAL, "safetensors_metadata: output is NULL");
  *json = NULL;
  return st_parse_file(path, NULL, json);
}

/* ---- saving ---- */

static int add_item(cJSON *obj, const char *key, cJSON *item) {
  if (item && cJSON_AddItemToObject(obj, key, item)) return 0;
  cJSON_Delete(item);
  return -1;
}

static cJSON *raw_uint(uint64_t v) {
  char s[32];
  snprintf(s, sizeof s, "%llu", (unsigned long long)v);
  return cJSON_CreateRaw(s); /* exact integers, never exponent notation */
}

static int add_raw(cJSON *arr, uint64_t v) {
  cJSON *r = raw_uint(v);
  if (r && cJSON_AddItemToArray(arr, r)) return 0;
  cJSON_Delete(r);
  return -1;
}

static cJSON *entry_json(const lundi_tensor *t, uint64_t begin, uint64_t end) {
  cJSON *e = cJSON_CreateObject(), *shape = cJSON_CreateArray(), *off = cJSON_CreateArray();
  int bad = !e || !shape || !off;
  for (int d = 0; d < t->ndim && !bad; d++) bad = add_raw(shape, (uint64_t)t->shape[d]);
  if (!bad) bad = add_raw(off, begin) || add_raw(off, end);
  if (!bad) bad = add_item(e, "dtype", cJSON_CreateString(st_dtype_name(t->dtype)));
  if (!bad) {
    bad = add_item(e, "shape", shape);
    shape = NULL;
  }
  if (!bad) {
    bad = add_item(e, "data_offsets", off);
    off = NULL;
  }
  cJSON_Delete(shape);
  cJSON_Delete(off);
  if (bad) {
    cJSON_Delete(e);
    return NULL;
  }
  return e;
}

static int check_list(const char *path, const lundi_param_list *l) {
  for (int i = 0; i < l->n; i++) {
    if (!*l->names[i] || !strcmp(l->names[i], "__metadata__"))
      return lundi__err(LUNDI_EINVAL, "safetensors_save '%s': tensor name '%s' is reserved or empty", path, l->names[i]);
    if (!st_dtype_name(l->tensors[i]->dtype))
      return lundi__err(LUNDI_EUNSUPPORTED, "safetensors_save '%s': tensor '%s' has dtype %s", path, l->names[i],
                        lundi_dtype_name(l->tensors[i]->dtype));
    for (int j = 0; j < i; j++)
      if (!strcmp(l->names[i], l->names[j]))
        return lundi__err(LUNDI_EINVAL, "safetensors_save '%s': duplicate tensor name '%s'", path, l->names[i]);
  }
  return 0;
}

/* Header JSON, space-padded to a multiple of 8 so the data starts aligned. */
static char *build_header(const char *path, const lundi_param_list *l, const char *metadata_json, size_t *len) {
  cJSON *root = cJSON_CreateObject();
  if (!root) return lundi__errp(LUNDI_ENOMEM, "safetensors_save '%s': out of host memory", path);
  int bad = 0;
  if (metadata_json) {
    cJSON *m = cJSON_Parse(metadata_json);
    int flat = cJSON_IsObject(m);
    for (const cJSON *c = flat ? m->child : NULL; c; c = c->next) flat &= cJSON_IsString(c) != 0;
    if (!flat) {
      cJSON_Delete(m);
      cJSON_Delete(root);
      return lundi__errp(LUNDI_EINVAL, "safetensors_save '%s': metadata must be a flat JSON object of strings", path);
    }
    bad = add_item(root, "__metadata__", m);
  }
  uint64_t at = 0;
  for (int i = 0; i < l->n && !bad; i++) {
    uint64_t nb = (uint64_t)lundi_numel(l->tensors[i]) * lundi_dtype_size(l->tensors[i]->dtype);
    bad = add_item(root, l->names[i], entry_json(l->tensors[i], at, at + nb));
    at += nb;
  }
  char *s = bad ? NULL : cJSON_PrintUnformatted(root);
  cJSON_Delete(root);
  if (!s) return lundi__errp(LUNDI_ENOMEM, "safetensors_save '%s': out of host memory", path);
  size_t n = strlen(s), padded = (n + 7) & ~(size_t)7;
  char *h = malloc(padded);
  if (h) {
    memcpy(h, s, n);
    memset(h + n, ' ', padded - n);
    *len = padded;
  }
  cJSON_free(s);
  return h ? h : lundi__errp(LUNDI_ENOMEM, "safetensors_save '%s': out of host memory", path);
}

/* Writes one tensor's bytes in logical order from a host, contiguous copy. */
static int write_tensor(lundi__afile *f, lundi_tensor *t) {
  lundi_no_grad_enter();
  lundi_tensor *c = lundi_contiguous(t);
  lundi_no_grad_exit();
  lundi_tensor *h = c ? lundi_to_device(c, lundi_cpu()) : NULL;
  lundi_release(c);
  if (!h) return lundi_last_error_code();
  int rc = lundi__afile_write(f, lundi_data(h), (size_t)lundi_numel(h) * lundi_dtype_size(h->dtype));
  lundi_release(h);
  return rc;
}

int lundi_safetensors_save(const char *path, const lundi_param_list *l, const char *metadata_json) {
  if (!path || !l) return lundi__err(LUNDI_EINVAL, "safetensors_save: path and list must be non-NULL");
  if (check_list(path, l)) return lundi_last_error_code();
  size_t hlen = 0;
  char *hdr = build_header(path, l, metadata_json, &hlen);
  if (!hdr) return lundi_last_error_code();
  lundi__afile f;
  if (lundi__afile_open(&f, path, "safetensors_save", 0666)) {
    free(hdr);
    return lundi_last_error_code();
  }
  uint8_t len8[8];
  for (int i = 0; i < 8; i++) len8[i] = (uint8_t)((uint64_t)hlen >> (8 * i));
  int rc = lundi__afile_write(&f, len8, 8);
  if (!rc) rc = lundi__afile_write(&f, hdr, hlen);
  for (int i = 0; i < l->n && !rc; i++) rc = write_tensor(&f, l->tensors[i]);
  free(hdr);
  if (rc) {
    lundi__afile_abort(&f);
    return rc;
  }
  return lundi__afile_commit(&f);
}
