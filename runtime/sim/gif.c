/* Episodes as animated GIFs (giflib), written atomically through core/atomic_file.h. One
 * global palette: the frames' own colours when there are at most 256 of them in all (our
 * renders have a handful, so the GIF is exact), else a 6x6x6 colour cube. */
#include <gif_lib.h>
#include <stdlib.h>
#include <string.h>

#include "core/atomic_file.h"
#include "core/error.h"
#include "sim/sim_internal.h"

#define SLOTS 4096 /* open addressing over at most 256 colours */

typedef struct palette {
  uint32_t key[SLOTS]; /* rgb + 1, 0 = empty */
  uint8_t index[SLOTS];
  GifColorType colors[256];
  int n; /* colours found; > 256: use the cube */
} palette;

static int find(palette *p, uint32_t rgb, int add) {
  uint32_t h = (rgb * 2654435761u) >> 20;
  for (;; h = (h + 1) & (SLOTS - 1)) {
    if (p->key[h] == rgb + 1) return p->index[h];
    if (p->key[h] == 0) {
      if (!add) return -1;
      if (p->n >= 256) return p->n = 257, -1;
      p->key[h] = rgb + 1, p->index[h] = (uint8_t)p->n;
      p->colors[p->n].Red = (uint8_t)(rgb >> 16), p->colors[p->n].Green = (uint8_t)(rgb >> 8);
      p->colors[p->n].Blue = (uint8_t)rgb;
      return p->n++;
    }
  }
}

static uint32_t rgb_at(const uint8_t *q) { return (uint32_t)q[0] << 16 | (uint32_t)q[1] << 8 | q[2]; }
static int cube(const uint8_t *q) { return (q[0] * 6 / 256) * 36 + (q[1] * 6 / 256) * 6 + q[2] * 6 / 256; }

static int out_fn(GifFileType *g, const GifByteType *data, int n) {
  return lundi__afile_write(g->UserData, data, (size_t)n) == 0 ? n : 0;
}

int lundi_gif_write(const char *path, const uint8_t *frames, int n_frames, int w, int h, int delay_cs) {
  if (!path) return lundi__err(LUNDI_EINVAL, "gif_write: no path (NULL)");
  if (!frames) return lundi__err(LUNDI_EINVAL, "gif_write: no frames (NULL)");
  if (n_frames < 1) return lundi__err(LUNDI_EINVAL, "gif_write: needs at least one frame, got %d", n_frames);
  if (w < 1 || h < 1 || w > 65535 || h > 65535)
    return lundi__err(LUNDI_EINVAL, "gif_write: frame size %dx%d is outside 1x1 .. 65535x65535", w, h);
  if (delay_cs < 0 || delay_cs > 65535)
    return lundi__err(LUNDI_EINVAL, "gif_write: delay %d is outside 0 .. 65535 hundredths", delay_cs);
  size_t frame_px = (size_t)w * (size_t)h;
  palette *pal = calloc(1, sizeof *pal);
  GifPixelType *line = malloc((size_t)w);
  if (!pal || !line) {
    free(pal), free(line);
    return lundi__err(LUNDI_ENOMEM, "gif_write: out of memory");
  }
  for (size_t i = 0; i < frame_px * (size_t)n_frames && pal->n <= 256; i++) find(pal, rgb_at(frames + 3 * i), 1);
  int use_cube = pal->n > 256;
  if (use_cube)
    for (int i = 0; i < 216; i++) {
      pal->colors[i].Red = (uint8_t)(i / 36 * 51), pal->colors[i].Green = (uint8_t)(i / 6 % 6 * 51);
      pal->colors[i].Blue = (uint8_t)(i % 6 * 51);
    }
  int ncol = use_cube ? 216 : pal->n;
  ColorMapObject *map = GifMakeMapObject(256, NULL);
  if (!map) {
    free(pal), free(line);
    return lundi__err(LUNDI_ENOMEM, "gif_write: out of memory");
  }
  memset(map->Colors, 0, 256 * sizeof *map->Colors);
  memcpy(map->Colors, pal->colors, (size_t)ncol * sizeof *map->Colors);

  lundi_clear_error();
  lundi__afile f;
  int rc = lundi__afile_open(&f, path, "gif_write", 0644);
  if (rc) {
    GifFreeMapObject(map), free(pal), free(line);
    return rc;
  }
  int gerr = 0;
  GifFileType *g = EGifOpen(&f, out_fn, &gerr);
  const char *step = "open";
  if (!g) goto fail;
  EGifSetGifVersion(g, true);
  step = "header";
  if (EGifPutScreenDesc(g, w, h, 8, 0, map) == GIF_ERROR) goto fail;
  /* NETSCAPE2.0: loop forever. */
  static const GifByteType app[11] = {'N', 'E', 'T', 'S', 'C', 'A', 'P', 'E', '2', '.', '0'};
  static const GifByteType loop[3] = {1, 0, 0};
  if (EGifPutExtensionLeader(g, APPLICATION_EXT_FUNC_CODE) == GIF_ERROR ||
      EGifPutExtensionBlock(g, sizeof app, app) == GIF_ERROR ||
      EGifPutExtensionBlock(g, sizeof loop, loop) == GIF_ERROR || EGifPutExtensionTrailer(g) == GIF_ERROR)
    goto fail;
  GraphicsControlBlock gcb = {.DisposalMode = DISPOSAL_UNSPECIFIED, .UserInputFlag = false,
                              .DelayTime = delay_cs, .TransparentColor = NO_TRANSPARENT_COLOR};
  GifByteType ext[4];
  size_t ext_n = EGifGCBToExtension(&gcb, ext);
  step = "frame";
  for (int k = 0; k < n_frames; k++) {
    if (EGifPutExtension(g, GRAPHICS_EXT_FUNC_CODE, (int)ext_n, ext) == GIF_ERROR) goto fail;
    if (EGifPutImageDesc(g, 0, 0, w, h, false, NULL) == GIF_ERROR) goto fail;
    const uint8_t *fr = frames + 3 * frame_px * (size_t)k;
    for (int y = 0; y < h; y++) {
      for (int x = 0; x < w; x++) {
        const uint8_t *q = fr + 3 * ((size_t)y * (size_t)w + (size_t)x);
        line[x] = (GifPixelType)(use_cube ? cube(q) : find(pal, rgb_at(q), 0));
      }
      if (EGifPutLine(g, line, w) == GIF_ERROR) goto fail;
    }
  }
  step = "close";
  if (EGifCloseFile(g, &gerr) == GIF_ERROR) {
    g = NULL;
    goto fail;
  }
  GifFreeMapObject(map), free(pal), free(line);
  return lundi__afile_commit(&f);

fail:
  if (g) {
    gerr = g->Error;
    EGifCloseFile(g, NULL);
  }
  GifFreeMapObject(map), free(pal), free(line);
  if (lundi_last_error_code() == 0)
    lundi__err(LUNDI_EIO, "gif_write '%s': %s failed: %s", path, step, GifErrorString(gerr));
  lundi__afile_abort(&f);
  return lundi_last_error_code();
}
