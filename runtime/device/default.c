/* The default device, where scripts and plugins create tensors and models, and the one
 * place that reads $LUNDI_DEVICE. */
#include "tensor/tensor_internal.h"
#include "lundi/device.h"

#include <stdlib.h>

static lundi_device *default_dev;

const char *lundi_device_env(void) { return getenv("LUNDI_DEVICE"); }

lundi_device *lundi_device_from_env(void) { return lundi_device_from_name(lundi_device_env()); }

lundi_device *lundi_default_device(void) {
  if (!default_dev) {
    lundi_device *d = lundi_device_from_env();
    if (!d) { /* a bad LUNDI_DEVICE: the front-end reports it; library users get the CPU */
      lundi_clear_error();
      d = lundi_cpu();
    }
    default_dev = d;
  }
  return default_dev;
}

void lundi_set_default_device(lundi_device *dev) { default_dev = dev; }

lundi_tensor *lundi_to_default_device(lundi_tensor *t) {
  if (!t) return NULL; /* before choosing the device, which may clear t's error */
  lundi_device *d = lundi_default_device();
  if (lundi_tensor_device(t) == d) return t;
  lundi_tensor *m = lundi_to_device(t, d);
  lundi_release(t);
  return m;
}
