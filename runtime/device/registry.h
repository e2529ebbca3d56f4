/* Private to the device registry and the plugin loader that feeds it. */
#ifndef LUNDI_DEVICE_REGISTRY_H
#define LUNDI_DEVICE_REGISTRY_H

#include "core/backend_desc.h"
#include "lundi/device.h"

#define LUNDI_MAX_BACKENDS 16
#define LUNDI_BACKEND_NAME_MAX 31

/* The backend at position b (0 <= b < lundi_backend_count()), else NULL. */
const lundi_backend_desc *lundi__backend(int b);
/* Position of the backend named by the first len bytes of name, else -1. */
int lundi__backend_find(const char *name, size_t len);
/* Adds a backend built outside the library; origin (a file) goes in messages. Registering
 * the same descriptor again is a no-op; another one under a taken name is an error. */
int lundi__backend_register(const lundi_backend_desc *d, const char *origin);
/* A backend name's characters: a-z, 0-9 and _. */
static inline int lundi__backend_name_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
}

#endif
