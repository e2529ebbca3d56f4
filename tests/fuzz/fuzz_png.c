/* libFuzzer target for the PNG decoder and text lookup; build and run as
 * tests/fuzz/README.md says. Any input must decode or fail with a message, never crash,
 * leak or read out of bounds; a failed call leaves no image and no value behind. */
#include "lundi/image.h"
#include "lundi/lundi.h"

#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  lundi_image im = {0};
  if (lundi_png_decode(data, size, &im) == 0) {
    if (!im.pixels || im.width < 1 || im.height < 1 || im.channels < 1 || im.channels > 4) abort();
    volatile uint8_t sink = 0; /* touch every pixel so ASan/MSan see the buffer */
    size_t n = (size_t)im.width * (size_t)im.height * (size_t)im.channels;
    for (size_t i = 0; i < n; i++) sink ^= im.pixels[i];
    (void)sink;
  } else if (im.pixels || !lundi_last_error()[0]) {
    abort();
  }
  lundi_image_free(&im);
  /* the key provenance uses, and one a seed holds in zTXt after the image data */
  static const char *const keys[2] = {"lundi", "z"};
  for (int k = 0; k < 2; k++) {
    char *v = NULL;
    if (lundi_png_find_text(data, size, keys[k], &v) != 0 && (v || !lundi_last_error()[0])) abort();
    free(v);
  }
  return 0;
}
