/* Writing a PNG file atomically (reading files is core/file.c). */
#include <stdlib.h>

#include "core/atomic_file.h"
#include "lundi/image.h"

/* Through the shared atomic writer: a crash leaves at most a stray "<path>.tmp-*", never a
 * partial PNG. */
int lundi_png_write_file(const char *path, const lundi_image *im, const lundi_png_text *texts, int n_texts) {
  if (!path || !*path) return lundi_set_error(LUNDI_EINVAL, "png_write_file: path must be non-empty");
  uint8_t *buf = NULL;
  size_t n = 0;
  if (lundi_png_encode(im, texts, n_texts, &buf, &n)) return lundi_last_error_code();
  int rc = lundi__write_file_atomic(path, buf, n, "png_write_file");
  free(buf);
  return rc;
}
