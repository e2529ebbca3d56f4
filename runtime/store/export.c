/* Reading an output's bytes, and exporting a run to a directory with a JSON manifest. */
#include "store/query_internal.h"
#include "store/store_internal.h"
#include "core/file.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "lundi/error.h"

/* A blob file, of any size; -errno on failure (the message is the caller's). */
static int read_file(const char *path, uint8_t **data, size_t *size) {
  int en = 0;
  if (lundi__read_file(path, SIZE_MAX, data, size, &en)) return -(en ? en : EIO);
  return 0;
}

int lundi_history_output_data(lundi_store *s, int64_t output_id, uint8_t **data, size_t *size) {
  *data = NULL;
  *size = 0;
  sqlite3 *db = lundi__store_db(s);
  sqlite3_stmt *st = NULL;
  if (!db) return lundi_set_error(LUNDI_EINVAL, "lundi_history_output_data: no store");
  if (sqlite3_prepare_v2(db, "SELECT data, path, sha256 FROM outputs WHERE id = ?", -1, &st, NULL) != SQLITE_OK)
    return q_sqlerr(db, "reading an output");
  sqlite3_bind_int64(st, 1, output_id);
  int rc = sqlite3_step(st);
  if (rc != SQLITE_ROW) {
    sqlite3_finalize(st);
    if (rc == SQLITE_DONE)
      return lundi_set_error(LUNDI_EINVAL, "no output %lld in %s", (long long)output_id, lundi_store_path(s));
    return q_sqlerr(db, "reading an output");
  }
  char want[65];
  snprintf(want, sizeof want, "%s", sqlite3_column_text(st, 2) ? (const char *)sqlite3_column_text(st, 2) : "");
  char where[4200];
  if (sqlite3_column_type(st, 0) != SQLITE_NULL) {
    size_t n = (size_t)sqlite3_column_bytes(st, 0);
    *data = malloc(n ? n : 1);
    if (*data) memcpy(*data, sqlite3_column_blob(st, 0), n), *size = n;
    snprintf(where, sizeof where, "the inline data of output %lld", (long long)output_id);
    sqlite3_finalize(st);
    if (!*data) return lundi_set_error(LUNDI_ENOMEM, "out of memory");
  } else {
    const unsigned char *p = sqlite3_column_text(st, 1);
    if (!p) {
      sqlite3_finalize(st);
      return lundi_set_error(LUNDI_EFORMAT, "output %lld has neither inline data nor a blob file", (long long)output_id);
    }
    snprintf(where, sizeof where, "%s/%s", s->dir, (const char *)p);
    sqlite3_finalize(st);
    int e = read_file(where, data, size);
    if (e)
      return lundi_set_error(LUNDI_EIO, "cannot read the blob file %s of output %lld: %s%s", where, (long long)output_id,
                             strerror(-e), e == -ENOENT ? " (removed by hand? 'lundi gc' keeps referenced files)" : "");
  }
  char got[65];
  lundi_sha256_hex(*data, *size, got);
  if (strcmp(got, want)) {
    free(*data);
    *data = NULL;
    *size = 0;
    return lundi_set_error(LUNDI_EFORMAT, "%s is corrupt: its sha256 is %s, the store recorded %s", where, got, want);
  }
  return 0;
}

/* ---- export ---- */

static int mkdirs(const char *dir) {
  char p[4096];
  if (snprintf(p, sizeof p, "%s", dir) >= (int)sizeof p) return lundi_set_error(LUNDI_EINVAL, "path too long: %s", dir);
  for (char *c = p + 1;; c++) {
    if (*c == '/' || !*c) {
      char keep = *c;
      *c = 0;
      if (mkdir(p, 0777) != 0 && errno != EEXIST)
        return lundi_set_error(LUNDI_EIO, "cannot create the directory %s: %s", p, strerror(errno));
      *c = keep;
      if (!keep) break;
    }
  }
  struct stat sb;
  if (stat(dir, &sb) != 0 || !S_ISDIR(sb.st_mode))
    return lundi_set_error(LUNDI_EIO, "%s is not a directory", dir);
  return 0;
}

static int write_file(const char *dir, const char *name, const void *data, size_t n) {
  char path[4200];
  snprintf(path, sizeof path, "%s/%s", dir, name);
  FILE *f = fopen(path, "wb");
  if (!f) return lundi_set_error(LUNDI_EIO, "cannot create %s: %s", path, strerror(errno));
  size_t w = fwrite(data, 1, n, f);
  int bad = w != n || fflush(f) != 0;
  if (fclose(f) != 0) bad = 1;
  if (bad) return lundi_set_error(LUNDI_EIO, "writing %s failed: %s", path, strerror(errno));
  return 0;
}

static const char *ext_for(const char *mime, const char *kind) {
  static const char *const map[][2] = {
    {"image/png", ".png"}, {"image/jpeg", ".jpg"}, {"text/plain", ".txt"}, {"application/json", ".json"},
    {"text/csv", ".csv"}, {"text/x-lua", ".lua"},  {"application/x-safetensors", ".safetensors"}, {"application/octet-stream", ".bin"},
  };
  for (size_t i = 0; mime && i < sizeof map / sizeof map[0]; i++)
    if (!strncmp(mime, map[i][0], strlen(map[i][0]))) return map[i][1];
  if (kind && !strcmp(kind, "checkpoint")) return ".safetensors";
  if (kind && !strcmp(kind, "text")) return ".txt";
  return ".bin";
}

/* A safe file name for an output, unique among taken (n of them). */
static char *file_name(const lundi_output_info *o, char **taken, int n) {
  char base[200];
  const char *name = o->name && *o->name ? o->name : NULL;
  if (name) snprintf(base, sizeof base, "%s", name);
  else snprintf(base, sizeof base, "output-%lld", (long long)o->id);
  for (char *c = base; *c; c++)
    if (*c == '/' || *c == '\\' || (unsigned char)*c < 32 || *c == 127) *c = '_';
  if (base[0] == '.') base[0] = '_';
  const char *dot = strrchr(base, '.');
  const char *ext = dot && dot != base && strlen(dot) <= 12 ? "" : ext_for(o->mime, o->kind);
  char full[256];
  snprintf(full, sizeof full, "%s%s", base, ext);
  for (int i = 0; i < n; i++)
    if (taken[i] && !strcmp(taken[i], full)) {
      /* clash: name-<id>.ext */
      char stem[256];
      snprintf(stem, sizeof stem, "%s", full);
      char *d = strrchr(stem, '.');
      const char *e = "";
      char ebuf[32] = "";
      if (d && d != stem) snprintf(ebuf, sizeof ebuf, "%s", d), *d = 0, e = ebuf;
      snprintf(full, sizeof full, "%.200s-%lld%s", stem, (long long)o->id, e);
      break;
    }
  return strdup(full);
}

static cJSON *num_or_null(double v) { return isfinite(v) ? cJSON_CreateNumber(v) : cJSON_CreateNull(); }

static cJSON *str_or_null(const char *s) { return s ? cJSON_CreateString(s) : cJSON_CreateNull(); }

static cJSON *param_json(const lundi_kv *kv) {
  if (kv->type && !strcmp(kv->type, "int")) return cJSON_CreateNumber((double)strtoll(kv->value, NULL, 10));
  if (kv->type && !strcmp(kv->type, "float")) return num_or_null(strtod(kv->value, NULL));
  if (kv->type && !strcmp(kv->type, "bool")) return cJSON_CreateBool(kv->value && !strcmp(kv->value, "true"));
  return str_or_null(kv->value);
}

static cJSON *run_json(const lundi_run_record *r) {
  cJSON *j = cJSON_CreateObject();
  cJSON_AddItemToObject(j, "id", cJSON_CreateNumber((double)r->id));
  cJSON_AddItemToObject(j, "uuid", str_or_null(r->uuid));
  cJSON_AddItemToObject(j, "name", str_or_null(r->name));
  cJSON_AddItemToObject(j, "status", str_or_null(r->status));
  cJSON_AddItemToObject(j, "exit_message", str_or_null(r->exit_message));
  cJSON_AddItemToObject(j, "start_time", num_or_null(r->start_time));
  cJSON_AddItemToObject(j, "end_time", num_or_null(r->end_time));
  cJSON_AddItemToObject(j, "duration", num_or_null(r->end_time - r->start_time));
  cJSON_AddItemToObject(j, "script_path", str_or_null(r->script_path));
  cJSON_AddItemToObject(j, "script_sha256", str_or_null(r->script_sha256));
  cJSON_AddItemToObject(j, "lundi_version", str_or_null(r->lundi_version));
  cJSON_AddItemToObject(j, "device", str_or_null(r->device));
  cJSON_AddItemToObject(j, "seed", r->has_seed ? cJSON_CreateNumber((double)r->seed) : cJSON_CreateNull());
  cJSON_AddItemToObject(j, "host", str_or_null(r->host));
  cJSON_AddItemToObject(j, "cwd", str_or_null(r->cwd));
  return j;
}

/* ---- the files the run loaded, copied to plugins/ ---- */

/* "plugins/<base name>", "-2", "-3", ... before the extension when the name is taken. */
static char *plugin_copy_name(const char *path, char **names, int n) {
  const char *b = strrchr(path, '/');
  b = b && b[1] ? b + 1 : path;
  char base[200];
  snprintf(base, sizeof base, "%s", b);
  if (base[0] == '.') base[0] = '_';
  char *dot = strrchr(base, '.'), ext[32] = "";
  if (dot && dot != base && strlen(dot) < sizeof ext) snprintf(ext, sizeof ext, "%s", dot), *dot = 0;
  char name[256];
  for (int k = 1;; k++) {
    if (k == 1) snprintf(name, sizeof name, "plugins/%s%s", base, ext);
    else snprintf(name, sizeof name, "plugins/%s-%d%s", base, k, ext);
    int taken = 0;
    for (int i = 0; i < n && !taken; i++) taken = names[i] && !strcmp(names[i], name);
    if (!taken) return strdup(name);
  }
}

/* Copies each file with its recorded bytes (sha256 unchanged) to dir/plugins/; names[i]
 * stays NULL for one that is gone or changed since the run (the manifest says which). */
static int export_plugin_files(const char *dir, const lundi_run_record *r, char **names) {
  if (!r->n_files) return 0;
  char sub[4200];
  snprintf(sub, sizeof sub, "%s/plugins", dir);
  int rc = mkdirs(sub);
  for (int i = 0; i < r->n_files && !rc; i++) {
    uint8_t *data = NULL;
    size_t n = 0;
    char sha[65];
    if (read_file(r->files[i].path, &data, &n)) continue;
    lundi_sha256_hex(data, n, sha);
    if (!strcmp(sha, r->files[i].sha256)) {
      names[i] = plugin_copy_name(r->files[i].path, names, i);
      if (!names[i]) rc = lundi_set_error(LUNDI_ENOMEM, "out of memory");
      else rc = write_file(dir, names[i], data, n);
    }
    free(data);
  }
  return rc;
}

static cJSON *plugin_files_json(const lundi_run_record *r, char **names) {
  cJSON *a = cJSON_CreateArray();
  for (int i = 0; i < r->n_files; i++) {
    const lundi_plugin_file *f = &r->files[i];
    cJSON *o = cJSON_CreateObject();
    cJSON_AddItemToObject(o, "path", str_or_null(f->path));
    cJSON_AddItemToObject(o, "sha256", str_or_null(f->sha256));
    cJSON_AddItemToObject(o, "role", str_or_null(f->role));
    cJSON_AddItemToObject(o, "file", str_or_null(names[i]));
    if (!names[i]) {
      char now[65];
      int gone = lundi_sha256_file(f->path, now) != 0;
      cJSON_AddItemToObject(o, "not_copied", cJSON_CreateString(gone ? "the file is gone" : "the file changed since the run"));
      if (!gone) cJSON_AddItemToObject(o, "sha256_now", cJSON_CreateString(now));
    }
    cJSON_AddItemToArray(a, o);
  }
  return a;
}

static cJSON *manifest(const lundi_run_record *r, const char *script_file, char **files, char **plugin_names) {
  cJSON *m = cJSON_CreateObject();
  cJSON_AddItemToObject(m, "run", run_json(r));
  cJSON_AddItemToObject(m, "script", str_or_null(script_file));
  cJSON *params = cJSON_AddObjectToObject(m, "params");
  for (int i = 0; i < r->n_params; i++) cJSON_AddItemToObject(params, r->params[i].key, param_json(&r->params[i]));
  cJSON *tags = cJSON_AddObjectToObject(m, "tags");
  for (int i = 0; i < r->n_tags; i++) cJSON_AddItemToObject(tags, r->tags[i].key, str_or_null(r->tags[i].value));
  cJSON *metrics = cJSON_AddObjectToObject(m, "metrics");
  for (int i = 0; i < r->n_metrics; i++) {
    const lundi_metric_summary *s = &r->metrics[i];
    cJSON *o = cJSON_CreateObject();
    cJSON_AddItemToObject(o, "last", num_or_null(s->last));
    cJSON_AddItemToObject(o, "min", num_or_null(s->min));
    cJSON_AddItemToObject(o, "max", num_or_null(s->max));
    cJSON_AddItemToObject(o, "count", cJSON_CreateNumber((double)s->count));
    cJSON_AddItemToObject(o, "last_step", cJSON_CreateNumber((double)s->last_step));
    cJSON_AddItemToObject(metrics, s->key, o);
  }
  cJSON *plugins = cJSON_AddArrayToObject(m, "plugins");
  for (int i = 0; i < r->n_plugins; i++) {
    const lundi_plugin_use *p = &r->plugins[i];
    cJSON *o = cJSON_CreateObject();
    cJSON_AddItemToObject(o, "kind", str_or_null(p->kind));
    cJSON_AddItemToObject(o, "name", str_or_null(p->name));
    cJSON_AddItemToObject(o, "version", str_or_null(p->version));
    cJSON *pp = p->params ? cJSON_Parse(p->params) : NULL;
    cJSON_AddItemToObject(o, "params", pp ? pp : str_or_null(p->params));
    cJSON_AddItemToObject(o, "origin", str_or_null(p->origin));
    cJSON_AddItemToArray(plugins, o);
  }
  cJSON_AddItemToObject(m, "plugin_files", plugin_files_json(r, plugin_names));
  cJSON *outs = cJSON_AddArrayToObject(m, "outputs");
  for (int i = 0; i < r->n_outputs; i++) {
    const lundi_output_info *o = &r->outputs[i];
    cJSON *j = cJSON_CreateObject();
    cJSON_AddItemToObject(j, "id", cJSON_CreateNumber((double)o->id));
    cJSON_AddItemToObject(j, "kind", str_or_null(o->kind));
    cJSON_AddItemToObject(j, "name", str_or_null(o->name));
    cJSON_AddItemToObject(j, "mime", str_or_null(o->mime));
    cJSON_AddItemToObject(j, "size", cJSON_CreateNumber((double)o->size));
    cJSON_AddItemToObject(j, "sha256", str_or_null(o->sha256));
    cJSON_AddItemToObject(j, "file", str_or_null(files[i]));
    cJSON *md = o->metadata ? cJSON_Parse(o->metadata) : NULL;
    cJSON_AddItemToObject(j, "metadata", md ? md : str_or_null(o->metadata));
    cJSON_AddItemToArray(outs, j);
  }
  return m;
}

int lundi_history_export(lundi_store *s, int64_t run_id, const char *dir, char **manifest_path) {
  if (manifest_path) *manifest_path = NULL;
  char ref[32];
  snprintf(ref, sizeof ref, "%lld", (long long)run_id);
  lundi_run_record *r = NULL;
  int rc = lundi_history_run(s, ref, &r);
  if (rc) return rc;
  if ((rc = mkdirs(dir))) goto done;
  char **taken = calloc((size_t)r->n_outputs + 2, sizeof *taken);
  if (!taken) {
    rc = lundi_set_error(LUNDI_ENOMEM, "out of memory");
    goto done;
  }
  int n_taken = 0;
  taken[n_taken++] = strdup("manifest.json");
  char *script_file = NULL;
  if (r->script_text) {
    const char *b = r->script_path ? strrchr(r->script_path, '/') : NULL;
    b = b ? b + 1 : r->script_path;
    lundi_output_info fake = {.id = 0, .name = (char *)(b && *b ? b : "script.lua"), .kind = "text", .mime = "text/x-lua"};
    script_file = file_name(&fake, taken, n_taken);
    if (script_file) taken[n_taken++] = strdup(script_file);
    if (!script_file || (rc = write_file(dir, script_file, r->script_text, strlen(r->script_text)))) {
      if (!rc) rc = lundi_set_error(LUNDI_ENOMEM, "out of memory");
    }
  }
  char **files = calloc((size_t)r->n_outputs + 1, sizeof *files);
  if (!files && !rc) rc = lundi_set_error(LUNDI_ENOMEM, "out of memory");
  for (int i = 0; i < r->n_outputs && !rc; i++) {
    uint8_t *data;
    size_t n;
    if ((rc = lundi_history_output_data(s, r->outputs[i].id, &data, &n))) break;
    files[i] = file_name(&r->outputs[i], taken, n_taken);
    char **g = realloc(taken, (size_t)(n_taken + 2) * sizeof *taken);
    if (g) taken = g;
    if (!files[i] || !g) rc = lundi_set_error(LUNDI_ENOMEM, "out of memory");
    else if (!(rc = write_file(dir, files[i], data, n))) taken[n_taken++] = strdup(files[i]);
    free(data);
  }
  char **plugin_names = calloc((size_t)r->n_files + 1, sizeof *plugin_names);
  if (!plugin_names && !rc) rc = lundi_set_error(LUNDI_ENOMEM, "out of memory");
  if (!rc) rc = export_plugin_files(dir, r, plugin_names);
  if (!rc) {
    cJSON *m = manifest(r, script_file, files, plugin_names);
    char *text = m ? cJSON_Print(m) : NULL;
    cJSON_Delete(m);
    if (!text) rc = lundi_set_error(LUNDI_ENOMEM, "out of memory writing the manifest");
    else {
      size_t len = strlen(text);
      char *t2 = realloc(text, len + 2);
      if (t2) text = t2, text[len++] = '\n', text[len] = 0;
      rc = write_file(dir, "manifest.json", text, len);
      free(text);
    }
  }
  if (!rc && manifest_path) {
    size_t n = strlen(dir) + 16;
    *manifest_path = malloc(n);
    if (*manifest_path) snprintf(*manifest_path, n, "%s/manifest.json", dir);
  }
  for (int i = 0; i < n_taken; i++) free(taken[i]);
  free(taken);
  for (int i = 0; files && i < r->n_outputs; i++) free(files[i]);
  free(files);
  for (int i = 0; plugin_names && i < r->n_files; i++) free(plugin_names[i]);
  free(plugin_names);
  free(script_file);
done:
  lundi_run_record_free(r);
  return rc;
}
