/* The C run session (lundi/session.h): image outputs with their parameters text, text and
 * tensor outputs, and the record of the plugins a run used, made from C alone. Each case
 * ends by checking that the store is still a sound SQLite file with the run finished. */
#include "harness.h"
#include "lundi/image.h"
#include "lundi/plugin.h"
#include "lundi/session.h"
#include "lundi/store.h"

#include <ftw.h>
#include <gif_lib.h>
#include <pthread.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---- a temporary directory, removed at exit ---- */

static char t_dir[256];

static int rm_one(const char *p, const struct stat *sb, int flag, struct FTW *f) {
  (void)sb, (void)flag, (void)f;
  return remove(p);
}
static void cleanup(void) {
  if (t_dir[0] && !getenv("LUNDI_TEST_KEEP")) nftw(t_dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}
static const char *path_in_dir(const char *name) {
  static char buf[4][512];
  static int next;
  if (!t_dir[0]) {
    snprintf(t_dir, sizeof t_dir, "/tmp/lundi-session-test-XXXXXX");
    if (!mkdtemp(t_dir)) exit(2);
    atexit(cleanup);
  }
  char *b = buf[next++ % 4];
  snprintf(b, 512, "%s/%s", t_dir, name);
  return b;
}

/* ---- SQL one-liners on a plain connection ---- */

static sqlite3 *raw(const char *db) {
  sqlite3 *c = NULL;
  if (sqlite3_open_v2(db, &c, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK) t_failures++;
  return c;
}
static int64_t q_int(sqlite3 *c, const char *sql) {
  sqlite3_stmt *st = NULL;
  int64_t v = -1;
  if (sqlite3_prepare_v2(c, sql, -1, &st, NULL) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW)
    v = sqlite3_column_int64(st, 0);
  else
    fprintf(stderr, "q_int: %s: %s\n", sql, sqlite3_errmsg(c));
  sqlite3_finalize(st);
  return v;
}
static char *q_text(sqlite3 *c, const char *sql) {
  sqlite3_stmt *st = NULL;
  char *v = NULL;
  if (sqlite3_prepare_v2(c, sql, -1, &st, NULL) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW &&
      sqlite3_column_type(st, 0) != SQLITE_NULL)
    v = strdup((const char *)sqlite3_column_text(st, 0));
  sqlite3_finalize(st);
  return v;
}
/* The bytes of output id (inline rows only: the tests' outputs are small). */
static uint8_t *q_blob(sqlite3 *c, int64_t id, size_t *n) {
  char sql[128];
  snprintf(sql, sizeof sql, "SELECT data FROM outputs WHERE id = %lld", (long long)id);
  sqlite3_stmt *st = NULL;
  uint8_t *v = NULL;
  *n = 0;
  if (sqlite3_prepare_v2(c, sql, -1, &st, NULL) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW) {
    *n = (size_t)sqlite3_column_bytes(st, 0);
    v = malloc(*n + 1);
    if (v && *n) memcpy(v, sqlite3_column_blob(st, 0), *n);
  }
  sqlite3_finalize(st);
  return v;
}

/* ---- a run in a fresh store ---- */

typedef struct fixture {
  const char *db;
  lundi_store *s;
  lundi_run *run;
} fixture;

static fixture open_run(const char *name) {
  fixture f = {path_in_dir(name), NULL, NULL};
  f.s = lundi_store_open(f.db, 0);
  CHECK(f.s != NULL);
  lundi_run_info info = {.name = name, .device = "cpu", .seed = 1};
  f.run = f.s ? lundi_run_begin(f.s, &info) : NULL;
  CHECK(f.run != NULL);
  return f;
}

/* Ends the run, closes the store, and checks the file: integrity, the run finished. */
static void close_run(fixture *f) {
  CHECK(lundi_session_current() != f->run); /* cases clear it before ending the run */
  CHECK(lundi_run_end(f->run, LUNDI_RUN_FINISHED, NULL) == 0);
  lundi_store_close(f->s);
  sqlite3 *c = raw(f->db);
  char *ok = q_text(c, "PRAGMA integrity_check");
  CHECK(ok && strcmp(ok, "ok") == 0);
  free(ok);
  char *st = q_text(c, "SELECT status FROM runs ORDER BY id DESC LIMIT 1");
  CHECK(st && strcmp(st, "finished") == 0);
  free(st);
  sqlite3_close(c);
  lundi_store *again = lundi_store_open(f->db, LUNDI_STORE_READONLY);
  CHECK(again != NULL);
  lundi_store_close(again);
}

/* ---- images ---- */

static void parameters_text(void) {
  char *t = lundi_session_parameters_text(NULL, 28, 14);
  CHECK(t && strcmp(t, "Size: 28x14") == 0);
  free(t);
  lundi_image_params p = {.prompt = "a seven", .steps = "50", .sampler = "ddim", .cfg_scale = "3.5",
                          .seed = "42", .model_hash = "abc123"};
  t = lundi_session_parameters_text(&p, 28, 28);
  CHECK(t && strcmp(t, "a seven\nSteps: 50, Sampler: ddim, CFG scale: 3.5, Seed: 42, Size: 28x28, Model hash: abc123") == 0);
  free(t);
  lundi_image_params q = {.seed = "7"};
  t = lundi_session_parameters_text(&q, 3, 2);
  CHECK(t && strcmp(t, "Seed: 7, Size: 3x2") == 0);
  free(t);
}

/* The number formats of the parameters text: integers exact, other numbers %.10g. */
static void param_numbers(void) {
  char b[64];
  CHECK(!strcmp(lundi_image_param_int(b, 12345678901234LL), "12345678901234"));
  CHECK(!strcmp(lundi_image_param_int(b, -7), "-7"));
  CHECK(!strcmp(lundi_image_param_float(b, 7.5), "7.5"));
  CHECK(!strcmp(lundi_image_param_float(b, 3.0), "3"));
  CHECK(!strcmp(lundi_image_param_float(b, 1.0 / 3), "0.3333333333"));
  CHECK(!strcmp(lundi_image_param_float(b, 12345678901.0), "1.23456789e+10"));
}

/* The status of a run its owner left unfinished. */
static void ending_status(void) {
  CHECK(lundi_session_error_status(NULL) == LUNDI_RUN_FINISHED);
  CHECK(lundi_session_error_status("interrupted") == LUNDI_RUN_INTERRUPTED);
  CHECK(lundi_session_error_status("x.lua:3: interrupted") == LUNDI_RUN_FAILED);
  const char *msg = "unset";
  CHECK(lundi_session_unfinished_status(0, LUNDI_RUN_FINISHED, &msg) == LUNDI_RUN_INTERRUPTED);
  CHECK(msg && !strcmp(msg, "the Run object was collected before run:finish()"));
  CHECK(lundi_session_unfinished_status(1, LUNDI_RUN_FINISHED, &msg) == LUNDI_RUN_FINISHED && !msg);
  CHECK(lundi_session_unfinished_status(1, LUNDI_RUN_FAILED, &msg) == LUNDI_RUN_FAILED);
  CHECK(msg && !strcmp(msg, "the script of `lundi run` did not finish"));
}

static void save_image_records_png(void) {
  fixture f = open_run("image.db");
  if (!f.run) return;
  int64_t shape[4] = {4, 1, 3, 5};
  lundi_rng rng = lundi_rng_make(3);
  lundi_tensor *t = lundi_randn(&rng, 4, shape);
  lundi_image_params p = {.prompt = "digits", .steps = "10", .sampler = "ddpm"};
  lundi_save_image_opts o = LUNDI_SAVE_IMAGE_OPTS_INIT;
  o.parameters = &p;
  o.file = path_in_dir("grid.png");
  int64_t id = 0;
  CHECK(lundi_session_save_image(f.run, "samples", t, &o, &id) == 0);
  CHECK(id > 0);
  size_t n = 0;
  uint8_t *png = NULL;
  CHECK(lundi_file_read_all(o.file, &png, &n) == 0);
  char *params = NULL, *tag = NULL;
  CHECK(png && lundi_png_find_text(png, n, "parameters", &params) == 0);
  CHECK(params && strcmp(params, "digits\nSteps: 10, Sampler: ddpm, Size: 5x3") == 0);
  CHECK(png && lundi_png_find_text(png, n, "lundi", &tag) == 0);
  CHECK(tag && strstr(tag, lundi_run_uuid(f.run)) && strstr(tag, "\"output\":\"samples\""));
  lundi_image im = {0};
  CHECK(png && lundi_png_decode(png, n, &im) == 0);
  CHECK(im.width == 2 * 5 + 3 * 2 && im.height == 2 * 3 + 3 * 2); /* 2x2 grid, 2-pixel padding */
  lundi_image_free(&im);
  char sha[65];
  lundi_sha256_hex(png, n, sha);
  sqlite3 *c = raw(f.db);
  char *row_sha = q_text(c, "SELECT sha256 FROM outputs WHERE name = 'samples'");
  CHECK(row_sha && strcmp(row_sha, sha) == 0); /* the file and the stored bytes are the same PNG */
  size_t bn = 0;
  uint8_t *blob = q_blob(c, id, &bn);
  CHECK(blob && bn == n && memcmp(blob, png, n) == 0);
  char *meta = q_text(c, "SELECT metadata FROM outputs WHERE name = 'samples'");
  CHECK(meta && strstr(meta, "\"images\":4") && strstr(meta, "Size: 5x3"));
  char *kind = q_text(c, "SELECT kind || ' ' || mime FROM outputs WHERE name = 'samples'");
  CHECK(kind && strcmp(kind, "image image/png") == 0);
  free(row_sha), free(blob), free(meta), free(kind), free(params), free(tag), free(png);
  sqlite3_close(c);
  /* a single [C, H, W] image, default options */
  int64_t s3[3] = {3, 4, 4};
  lundi_tensor *one = lundi_zeros(3, s3);
  CHECK(lundi_session_save_image(f.run, "one", one, NULL, NULL) == 0);
  lundi_save_image_opts bad = {.lo = 0, .hi = 1, .nrow = -1};
  CHECK_ERR(lundi_session_save_image(f.run, "bad", one, &bad, NULL), "nrow");
  lundi_release(one);
  lundi_release(t);
  close_run(&f);
}

/* ---- text and tensors ---- */

static void save_text_and_tensors(void) {
  fixture f = open_run("tensors.db");
  if (!f.run) return;
  int64_t tid = 0, a = 0, b = 0, ck = 0;
  CHECK(lundi_session_save_text(f.run, "note", "héllo", strlen("héllo"), &tid) == 0);
  int64_t shape[2] = {2, 3};
  float v[6] = {1, 2, 3, 4, 5, 6};
  lundi_tensor *x = lundi_from_f32(2, shape, v), *y = lundi_mul_scalar(x, 2.0f);
  CHECK(lundi_session_save_trajectory(f.run, "single", x, &a) == 0);
  lundi_tensor *steps[2] = {x, y};
  CHECK(lundi_session_save_trajectory_steps(f.run, "path", steps, 2, &b) == 0);
  CHECK_ERR(lundi_session_save_trajectory_steps(f.run, "none", steps, 0, NULL), "empty array");
  lundi_rng rng = lundi_rng_make(1);
  lundi_module *m = lundi_linear_new(3, 2, 1, &rng);
  CHECK(lundi_session_save_checkpoint(f.run, m, NULL, &ck) == 0);
  sqlite3 *c = raw(f.db);
  size_t n = 0;
  uint8_t *d = q_blob(c, tid, &n);
  CHECK(d && n == strlen("héllo") && memcmp(d, "héllo", n) == 0);
  free(d);
  lundi_param_list l = {0};
  d = q_blob(c, a, &n);
  CHECK(d && lundi_safetensors_load_mem(d, n, &l) == 0);
  CHECK(l.n == 1 && lundi_param_list_find(&l, "x") && t_max_abs_diff(lundi_param_list_find(&l, "x"), x) == 0);
  lundi_param_list_free(&l), free(d);
  d = q_blob(c, b, &n);
  CHECK(d && lundi_safetensors_load_mem(d, n, &l) == 0);
  CHECK(l.n == 2 && lundi_param_list_find(&l, "x.1") && t_max_abs_diff(lundi_param_list_find(&l, "x.1"), y) == 0);
  lundi_param_list_free(&l), free(d);
  d = q_blob(c, ck, &n);
  CHECK(d && lundi_safetensors_load_mem(d, n, &l) == 0);
  CHECK(l.n == 2 && lundi_param_list_numel(&l) == 3 * 2 + 2);
  lundi_param_list_free(&l), free(d);
  char *kinds = q_text(c, "SELECT group_concat(kind || ':' || name, ' ') FROM (SELECT * FROM outputs ORDER BY id)");
  CHECK(kinds && strcmp(kinds, "text:note trajectory:single trajectory:path checkpoint:checkpoint") == 0);
  char *meta = q_text(c, "SELECT metadata FROM outputs WHERE name = 'path'");
  CHECK(meta && strstr(meta, "\"tensors\":2") && strstr(meta, "\"numel\":12"));
  free(kinds), free(meta);
  sqlite3_close(c);
  /* no temporary file is left beside the DB */
  char cmd[700];
  snprintf(cmd, sizeof cmd, "ls -a %s | grep -q tmp-", t_dir);
  CHECK(system(cmd) != 0);
  lundi_module_free(m);
  lundi_release(x), lundi_release(y);
  close_run(&f);
}

/* ---- plugins used ---- */

static int g_made;
static lundi_registry *g_reg;
static const lundi_param_spec knob[] = {{"k", LUNDI_PARAM_INT, "1", 0, 100, NULL, "a knob"}};

static int plain_create(void *user, const lundi_params *p, void **self) {
  (void)user, (void)p;
  *self = NULL;
  g_made++;
  return 0;
}
/* A sampler that builds its own denoiser with k = 5, as a C sampler may. */
static int nested_create(void *user, const lundi_params *p, void **self) {
  (void)user;
  lundi_params *q = lundi_plugin_params(lundi_registry_find(g_reg, LUNDI_DENOISER, "knob"));
  if (!q || lundi_params_set_number(q, "k", 5) != 0) return LUNDI_EINVAL;
  *self = lundi_instance_create(g_reg, LUNDI_DENOISER, "knob", q);
  lundi_params_free(q);
  (void)p;
  return *self ? 0 : LUNDI_EINVAL;
}
static void nested_destroy(void *self) { lundi_instance_free(self); }
static lundi_tensor *smp_sample(void *self, const lundi_pipeline_parts *parts, const lundi_sample_request *req) {
  (void)self, (void)parts, (void)req;
  return NULL;
}
static const lundi_sampler_api smp_api = {smp_sample};
static lundi_tensor *den_forward(void *self, lundi_tensor *x, lundi_tensor *t, const lundi_cond *c, lundi_rng *rng) {
  (void)self, (void)t, (void)c, (void)rng;
  return lundi_retain(x);
}
static const lundi_denoiser_api den_api = {den_forward, NULL};

static lundi_registry *toy_registry(void) {
  lundi_registry *r = lundi_registry_new();
  lundi_plugin_desc d = {.abi_version = LUNDI_ABI_VERSION, .kind = LUNDI_DENOISER, .name = "knob",
                         .version = "1.2", .params = knob, .n_params = 1, .create = plain_create,
                         .api = &den_api};
  CHECK(lundi_register(r, &d, NULL) == 0);
  d = (lundi_plugin_desc){.abi_version = LUNDI_ABI_VERSION, .kind = LUNDI_SAMPLER, .name = "nested",
                          .create = nested_create, .destroy = nested_destroy, .api = &smp_api};
  CHECK(lundi_register(r, &d, "test.c") == 0);
  g_reg = r;
  return r;
}

static lundi_instance *make_knob(int k) {
  lundi_params *q = lundi_plugin_params(lundi_registry_find(g_reg, LUNDI_DENOISER, "knob"));
  if (q && k >= 0) lundi_params_set_number(q, "k", k);
  lundi_instance *inst = lundi_instance_create(g_reg, LUNDI_DENOISER, "knob", q);
  lundi_params_free(q);
  CHECK(inst != NULL);
  return inst;
}

static int64_t plugin_rows(const char *db, const char *where) {
  sqlite3 *c = raw(db);
  char sql[256];
  snprintf(sql, sizeof sql, "SELECT count(*) FROM plugins_used WHERE %s", where);
  int64_t n = q_int(c, sql);
  sqlite3_close(c);
  return n;
}

static void plugins_recorded_once(void) {
  fixture f = open_run("plugins.db");
  if (!f.run) return;
  lundi_registry *r = toy_registry();
  CHECK(lundi_session_set_current(f.run) == 0);
  CHECK(lundi_session_current() == f.run);
  lundi_instance *made[6];
  for (int i = 0; i < 3; i++) made[i] = make_knob(-1); /* the defaults, three times */
  made[3] = make_knob(2);
  made[4] = make_knob(1); /* k = 1 is the default: the same parameters again */
  made[5] = lundi_instance_create(r, LUNDI_SAMPLER, "nested", NULL);
  CHECK(made[5] != NULL);
  CHECK(lundi_session_set_current(NULL) == 0);
  CHECK(plugin_rows(f.db, "1") == 4);
  CHECK(plugin_rows(f.db, "kind = 'denoiser' AND name = 'knob' AND params = '{\"k\": 1}'") == 1);
  CHECK(plugin_rows(f.db, "name = 'knob' AND params = '{\"k\": 2}' AND version = '1.2' AND origin = 'builtin'") == 1);
  CHECK(plugin_rows(f.db, "name = 'knob' AND params = '{\"k\": 5}'") == 1); /* made inside the C sampler */
  CHECK(plugin_rows(f.db, "kind = 'sampler' AND name = 'nested' AND origin = 'test.c'") == 1);
  for (int i = 0; i < 6; i++) lundi_instance_free(made[i]);
  lundi_registry_free(r);
  close_run(&f);
}

static void *make_in_thread(void *arg) {
  (void)arg;
  lundi_instance_free(make_knob(9));
  return NULL;
}

static void nothing_without_current_run(void) {
  fixture f = open_run("none.db");
  if (!f.run) return;
  lundi_registry *r = toy_registry();
  int made_before = g_made;
  CHECK(lundi_session_current() == NULL);
  lundi_instance_free(make_knob(3)); /* never current */
  CHECK(lundi_session_set_current(f.run) == 0);
  CHECK(lundi_session_set_current(NULL) == 0);
  lundi_instance_free(make_knob(4)); /* current, then cleared */
  CHECK(lundi_session_set_current(f.run) == 0);
  pthread_t th;
  CHECK(pthread_create(&th, NULL, make_in_thread, NULL) == 0);
  pthread_join(th, NULL); /* another thread has no current run */
  CHECK(lundi_session_set_current(NULL) == 0);
  CHECK(g_made - made_before == 3);
  CHECK(plugin_rows(f.db, "1") == 0);
  /* saving with no run given and none current is an error, not a crash */
  int64_t s3[3] = {1, 2, 2};
  lundi_tensor *t = lundi_zeros(3, s3);
  CHECK_ERR(lundi_session_save_image(NULL, "x", t, NULL, NULL), "none is current");
  CHECK_ERR(lundi_session_save_text(NULL, "x", "y", 1, NULL), "none is current");
  lundi_release(t);
  lundi_registry_free(r);
  close_run(&f);
}

/* The record of what was noted belongs to one run: a second run records its plugins again;
 * a NULL run passed to a save function means the current one. */
static void each_run_records_its_own(void) {
  fixture f = open_run("two.db");
  if (!f.run) return;
  lundi_run_info info = {.name = "second", .device = "cpu"};
  lundi_run *second = lundi_run_begin(f.s, &info);
  CHECK(second != NULL);
  lundi_registry *r = toy_registry();
  CHECK(lundi_session_set_current(f.run) == 0);
  lundi_instance_free(make_knob(-1));
  CHECK(lundi_session_set_current(second) == 0);
  lundi_instance_free(make_knob(-1));
  lundi_instance_free(make_knob(-1));
  CHECK(lundi_session_save_text(NULL, "to-current", "z", 1, NULL) == 0);
  CHECK(lundi_session_set_current(NULL) == 0);
  char where[128];
  snprintf(where, sizeof where, "run_id = %lld", (long long)lundi_run_id(f.run));
  CHECK(plugin_rows(f.db, where) == 1);
  snprintf(where, sizeof where, "run_id = %lld", (long long)lundi_run_id(second));
  CHECK(plugin_rows(f.db, where) == 1);
  sqlite3 *c = raw(f.db);
  char sql[128];
  snprintf(sql, sizeof sql, "SELECT run_id FROM outputs WHERE name = 'to-current'");
  CHECK(q_int(c, sql) == lundi_run_id(second));
  sqlite3_close(c);
  CHECK(lundi_run_end(second, LUNDI_RUN_FINISHED, NULL) == 0);
  lundi_registry_free(r);
  close_run(&f);
}

static void log_metrics(void) {
  fixture f = open_run("metrics.db");
  if (!f.run) return;
  const char *names[] = {"loss", "acc", ""};
  const double values[] = {0.5, 0.25, 1};
  int warned = 1;
  CHECK(lundi_session_log(f.run, names, values, 2, 7, &warned) == 0);
  CHECK(warned == 0);
  CHECK_ERR(lundi_session_log(f.run, names, values, 3, 8, &warned), "a metric key must be a non-empty string");
  CHECK(lundi_run_flush(f.run) == 0);
  sqlite3 *c = raw(f.db);
  char *got = q_text(c, "SELECT group_concat(key || '@' || step || '=' || value, ' ') FROM "
                        "(SELECT * FROM metrics ORDER BY step, key)");
  CHECK(got && strcmp(got, "acc@7=0.25 loss@7=0.5 acc@8=0.25 loss@8=0.5") == 0);
  free(got);
  sqlite3_close(c);
  close_run(&f);
}

/* ---- animations ---- */

typedef struct mem_in {
  const uint8_t *p;
  size_t n, at;
} mem_in;
static int mem_read(GifFileType *g, GifByteType *out, int n) {
  mem_in *m = g->UserData;
  size_t k = m->n - m->at < (size_t)n ? m->n - m->at : (size_t)n;
  memcpy(out, m->p + m->at, k);
  m->at += k;
  return (int)k;
}

/* The GIF bytes decoded into frames (w * h * 3 each, malloc'd) with their delay; -1 when
 * giflib cannot read them. */
static int gif_decode(const uint8_t *gif, size_t n, uint8_t **rgb, int *w, int *h, int *delay) {
  mem_in m = {gif, n, 0};
  int err = 0;
  GifFileType *g = DGifOpen(&m, mem_read, &err);
  if (!g || DGifSlurp(g) != GIF_OK) {
    if (g) DGifCloseFile(g, &err);
    return -1;
  }
  int k = g->ImageCount;
  *w = g->SWidth, *h = g->SHeight;
  *rgb = malloc((size_t)*w * (size_t)*h * 3 * (size_t)k);
  GraphicsControlBlock gcb = {0};
  DGifSavedExtensionToGCB(g, 0, &gcb);
  *delay = gcb.DelayTime;
  for (int f = 0; f < k; f++) {
    const ColorMapObject *cm = g->SavedImages[f].ImageDesc.ColorMap ? g->SavedImages[f].ImageDesc.ColorMap
                                                                      : g->SColorMap;
    for (size_t i = 0; i < (size_t)*w * (size_t)*h; i++) {
      GifColorType c = cm->Colors[g->SavedImages[f].RasterBits[i]];
      uint8_t *q = *rgb + ((size_t)f * (size_t)*w * (size_t)*h + i) * 3;
      q[0] = c.Red, q[1] = c.Green, q[2] = c.Blue;
    }
  }
  DGifCloseFile(g, &err);
  return k;
}

/* RGB8 frames -> a GIF output of kind "file" (image/gif) whose bytes decode back to the
 * frames exactly; the tensor variant (f32 [3, H, W] in [0, 1], gray [H, W]) stores the same
 * bytes as the RGB8 frames it stands for; sizes, shapes and empty arrays are refused. */
static void save_animation_records_gif(void) {
  fixture f = open_run("animation.db");
  if (!f.run) return;
  enum { W = 6, H = 4, N = 3 };
  uint8_t frames[N][H][W][3];
  for (int k = 0; k < N; k++)
    for (int y = 0; y < H; y++)
      for (int x = 0; x < W; x++)
        for (int c = 0; c < 3; c++) frames[k][y][x][c] = (uint8_t)(k * 80 + (x == k) * 100 + y * c * 10);
  int64_t id = 0;
  CHECK(lundi_session_save_animation(f.run, "episode", &frames[0][0][0][0], N, W, H, 7, &id) == 0);
  CHECK(id > 0);
  sqlite3 *c = raw(f.db);
  size_t n = 0;
  uint8_t *gif = q_blob(c, id, &n);
  CHECK(gif && n > 6 && memcmp(gif, "GIF89a", 6) == 0);
  uint8_t *rgb = NULL;
  int w = 0, h = 0, delay = 0;
  CHECK(gif && gif_decode(gif, n, &rgb, &w, &h, &delay) == N);
  CHECK(w == W && h == H && delay == 7);
  CHECK(rgb && memcmp(rgb, frames, sizeof frames) == 0);
  char sha[65];
  if (gif) lundi_sha256_hex(gif, n, sha);
  char *row = q_text(c, "SELECT kind || ' ' || mime || ' ' || sha256 FROM outputs WHERE name = 'episode'");
  char want[128];
  snprintf(want, sizeof want, "file image/gif %s", sha);
  CHECK(row && strcmp(row, want) == 0);
  char *meta = q_text(c, "SELECT metadata FROM outputs WHERE name = 'episode'");
  CHECK(meta && strcmp(meta, "{\"width\":6,\"height\":4,\"frames\":3,\"delay_cs\":7}") == 0);
  free(row), free(meta), free(rgb);

  /* the same frames as tensors: f32 [3, H, W] planar with value byte / 255 */
  lundi_tensor *t[N];
  int64_t shape[3] = {3, H, W};
  for (int k = 0; k < N; k++) {
    float v[3 * H * W];
    for (int ch = 0; ch < 3; ch++)
      for (int i = 0; i < H * W; i++) v[ch * H * W + i] = frames[k][i / W][i % W][ch] / 255.0f;
    t[k] = lundi_from_f32(3, shape, v);
  }
  int64_t id2 = 0;
  CHECK(lundi_session_save_animation_tensors(f.run, "episode2", t, N, 0, 1, 7, &id2) == 0);
  size_t n2 = 0;
  uint8_t *gif2 = q_blob(c, id2, &n2);
  CHECK(gif && gif2 && n2 == n && memcmp(gif2, gif, n) == 0);
  free(gif2);
  /* gray [H, W] frames become R = G = B; range {-1, 1} maps -1 to 0 */
  int64_t s2[2] = {H, W};
  lundi_tensor *gray = lundi_full(2, s2, -1.0f);
  lundi_tensor *g2[2] = {gray, gray};
  int64_t id3 = 0;
  CHECK(lundi_session_save_animation_tensors(f.run, "gray", g2, 2, -1, 1, 10, &id3) == 0);
  uint8_t *gif3 = q_blob(c, id3, &n2);
  CHECK(gif3 && gif_decode(gif3, n2, &rgb, &w, &h, &delay) == 2);
  int black = 1;
  for (int i = 0; rgb && i < 2 * H * W * 3; i++) black &= rgb[i] == 0;
  CHECK(black && delay == 10);
  free(gif3), free(rgb), free(gif);
  sqlite3_close(c);

  /* refusals */
  int64_t s_small[3] = {3, H, W - 1};
  lundi_tensor *small = lundi_zeros(3, s_small);
  lundi_tensor *mixed[2] = {t[0], small};
  CHECK_ERR(lundi_session_save_animation_tensors(f.run, "mixed", mixed, 2, 0, 1, 10, NULL),
            "save_animation: frame 2 (of 2) is 5x4, frame 1 is 6x4");
  int64_t s4[4] = {1, 3, H, W};
  lundi_tensor *four = lundi_zeros(4, s4);
  lundi_tensor *bad[2] = {t[0], four};
  CHECK_ERR(lundi_session_save_animation_tensors(f.run, "bad", bad, 2, 0, 1, 10, NULL),
            "save_animation: frame 2 (of 2): image_from_tensor: tensor has shape [1,3,4,6]");
  CHECK_ERR(lundi_session_save_animation_tensors(f.run, "none", t, 0, 0, 1, 10, NULL), "at least one frame");
  CHECK_ERR(lundi_session_save_animation(f.run, "none", &frames[0][0][0][0], 0, W, H, 10, NULL), "at least one frame");
  CHECK_ERR(lundi_session_save_animation(f.run, "slow", &frames[0][0][0][0], 1, W, H, 70000, NULL), "delay 70000");
  CHECK_ERR(lundi_session_save_animation(NULL, "nobody", &frames[0][0][0][0], 1, W, H, 10, NULL),
            "save_animation: no run given and none is current");
  c = raw(f.db);
  CHECK(q_int(c, "SELECT count(*) FROM outputs") == 3); /* no row for a refused call */
  sqlite3_close(c);
  for (int k = 0; k < N; k++) lundi_release(t[k]);
  lundi_release(gray), lundi_release(small), lundi_release(four);
  close_run(&f);
}

static const test_case cases[] = {
    {"parameters_text", parameters_text},
    {"param_numbers", param_numbers},
    {"ending_status", ending_status},
    {"save_image_records_png", save_image_records_png},
    {"save_text_and_tensors", save_text_and_tensors},
    {"plugins_recorded_once", plugins_recorded_once},
    {"nothing_without_current_run", nothing_without_current_run},
    {"each_run_records_its_own", each_run_records_its_own},
    {"log_metrics", log_metrics},
    {"save_animation_records_gif", save_animation_records_gif},
};
TEST_MAIN(cases)
