/* Builds the query tests' fixture store with the writing API; see fixture.h. */
#include "fixture.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lundi/history.h"
#include "lundi/image.h"
#include "lundi/lundi.h"

#define BIG 300000

uint8_t *qfix_big(int mult) {
  uint8_t *b = malloc(BIG);
  for (int i = 0; b && i < BIG; i++) b[i] = (uint8_t)((i * mult + 7) & 255);
  return b;
}

uint8_t *qfix_png(const char *uuid, size_t *n) {
  uint8_t px[8 * 8 * 3];
  for (int i = 0; i < (int)sizeof px; i++) px[i] = (uint8_t)(i * 5);
  lundi_image im = {8, 8, 3, px};
  char chunk[128];
  snprintf(chunk, sizeof chunk, "{\"run\":\"%s\",\"output\":\"sample\"}", uuid);
  lundi_png_text texts[2] = {{"parameters", "Steps: 50, Sampler: ddim, CFG scale: 7.5, Seed: 0, Size: 8x8"},
                             {"lundi", chunk}};
  uint8_t *out = NULL;
  if (lundi_png_encode(&im, texts, 2, &out, n) != 0) return NULL;
  return out;
}

typedef struct prm {
  const char *k, *v, *type;
} prm;

static lundi_run *begin(lundi_store *s, const char *name, int64_t seed, const char *device, const prm *p) {
  lundi_run_info info = {.name = name, .script_path = "/tmp/scripts/train.lua",
                         .script_text = "-- train\nprint(params.steps)\n", .device = device, .seed = seed};
  lundi_run *r = lundi_run_begin(s, &info);
  for (; r && p && p->k; p++)
    if (lundi_run_param(r, p->k, p->v, p->type) != 0) return NULL;
  return r;
}

static int log_all(lundi_run *r, const char *key, const double *v, int n) {
  for (int i = 0; i < n; i++)
    if (lundi_run_log(r, key, i, v[i]) != 0) return -1;
  return 0;
}

int qfix_build(const char *db_path, char uuids[5][37]) {
  lundi_store *s = lundi_store_open(db_path, 0);
  if (!s) goto fail;
  int rc = 0;
  /* 1 alpha */
  prm p1[] = {{"sampler", "ddim", "string"}, {"steps", "50", "int"}, {"lr", "0.001", "float"},
              {"cfg", "7.5", "float"},        {"ema", "true", "bool"}, {"my key", "x y", "string"}, {0}};
  lundi_run *r = begin(s, "alpha", 0, "cpu", p1);
  if (!r) goto fail;
  snprintf(uuids[0], 37, "%s", lundi_run_uuid(r));
  double loss1[] = {0.5, 0.3, 0.2, 0.1, 0.05, 0.03};
  double acc1[] = {0.5, 0.91};
  size_t png_n = 0;
  uint8_t *png = qfix_png(uuids[0], &png_n), *big = qfix_big(3);
  rc |= lundi_run_tag(r, "model", "unet-small") | lundi_run_tag(r, "note", "it's");
  rc |= log_all(r, "loss", loss1, 6) | log_all(r, "acc", acc1, 2);
  rc |= !png || !big;
  if (!rc) rc |= lundi_run_output(r, "image", "sample", "image/png", png, png_n, "{\"width\":8}", NULL);
  rc |= lundi_run_output(r, "text", "notes", "text/plain", "hello\n", 6, NULL, NULL);
  if (big) rc |= lundi_run_output(r, "file", "big.bin", "application/octet-stream", big, BIG, NULL, NULL);
  rc |= lundi_run_plugin(r, "sampler", "ddim", "1.0", "{\"eta\":0}", "builtin");
  free(png);
  free(big);
  rc |= lundi_run_end(r, LUNDI_RUN_FINISHED, NULL);
  if (rc) goto fail;
  /* 2 beta */
  prm p2[] = {{"sampler", "euler", "string"}, {"steps", "20", "int"}, {"lr", "0.01", "float"}, {"cfg", "7.5", "float"}, {0}};
  if (!(r = begin(s, "beta", 0, "cpu", p2))) goto fail;
  snprintf(uuids[1], 37, "%s", lundi_run_uuid(r));
  double loss2[] = {0.4, 0.2, 0.1, 0.09, 0.075, 0.07, 0.08};
  double acc2[] = {0.85};
  rc |= lundi_run_tag(r, "model", "unet-large") | log_all(r, "loss", loss2, 7) | log_all(r, "acc", acc2, 1);
  if ((rc |= lundi_run_end(r, LUNDI_RUN_FINISHED, NULL))) goto fail;
  /* 3 gamma */
  prm p3[] = {{"sampler", "ddim", "string"}, {"steps", "100", "int"}, {"lr", "auto", "string"}, {0}};
  if (!(r = begin(s, "gamma", 0, "cpu", p3))) goto fail;
  snprintf(uuids[2], 37, "%s", lundi_run_uuid(r));
  double loss3[] = {0.2, 0.01};
  rc |= lundi_run_tag(r, "model", "DiT-xl") | log_all(r, "loss", loss3, 2);
  if ((rc |= lundi_run_end(r, LUNDI_RUN_FAILED, "boom"))) goto fail;
  /* 4 delta */
  prm p4[] = {{"steps", "50", "string"}, {"sampler", "DDIM", "string"}, {0}};
  if (!(r = begin(s, "delta", 42, "vulkan:0", p4))) goto fail;
  snprintf(uuids[3], 37, "%s", lundi_run_uuid(r));
  double x4[] = {5, 3, 4};
  rc |= lundi_run_tag(r, "odd key", "100%_done") | log_all(r, "x.min", x4, 3);
  if ((rc |= lundi_run_end(r, LUNDI_RUN_INTERRUPTED, "interrupted at train.lua:3"))) goto fail;
  /* 5 gone */
  prm p5[] = {{"sampler", "ddim", "string"}, {0}};
  if (!(r = begin(s, "gone", 0, "cpu", p5))) goto fail;
  snprintf(uuids[4], 37, "%s", lundi_run_uuid(r));
  int64_t id5 = lundi_run_id(r);
  double loss5[] = {0.001};
  big = qfix_big(5);
  rc |= log_all(r, "loss", loss5, 1) | !big;
  rc |= lundi_run_output(r, "text", "secret", "text/plain", "s3cret", 6, NULL, NULL);
  if (big) rc |= lundi_run_output(r, "file", "gone.bin", "application/octet-stream", big, BIG, NULL, NULL);
  free(big);
  if ((rc |= lundi_run_end(r, LUNDI_RUN_FINISHED, NULL))) goto fail;
  if (lundi_history_set_deleted(s, id5, 1) != 0) goto fail;
  lundi_store_close(s);
  return 0;
fail:
  fprintf(stderr, "fixture: %s\n", lundi_last_error());
  lundi_store_close(s);
  return -1;
}
