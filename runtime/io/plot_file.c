/* Line plots as PNG files, and series values read from tensors: what lundi.plot needs
 * beyond converting its arguments. */
#include <stdlib.h>

#include "lundi/image.h"

int lundi_plot_file(const char *path, const lundi_plot_series *series, int n_series, int width, int height,
                    const char *title, int log_y) {
  lundi_image im = {0};
  int rc = lundi_plot_lines(series, n_series, width, height, title, log_y, &im);
  if (!rc) rc = lundi_png_write_file(path, &im, NULL, 0);
  lundi_image_free(&im);
  return rc;
}

int lundi_plot_values(lundi_tensor *t, double *out) {
  int64_t n = lundi_numel(t);
  float *f = malloc(sizeof *f * (size_t)(n ? n : 1));
  if (!f) return lundi_set_error(LUNDI_ENOMEM, "plot: out of memory for %lld values", (long long)n);
  int rc = lundi_read_f32(t, f, n);
  for (int64_t i = 0; i < n && !rc; i++) out[i] = f[i];
  free(f);
  return rc;
}
