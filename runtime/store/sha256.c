/* sha256 through nettle, as lowercase hex. */
#include "lundi/store.h"

#include <nettle/sha2.h>

void lundi_sha256_hex(const void *data, size_t n, char out[65]) {
  struct sha256_ctx ctx;
  uint8_t d[SHA256_DIGEST_SIZE];
  sha256_init(&ctx);
  sha256_update(&ctx, n, (const uint8_t *)data);
  sha256_digest(&ctx, sizeof d, d);
  static const char hex[] = "0123456789abcdef";
  for (int i = 0; i < SHA256_DIGEST_SIZE; i++) {
    out[2 * i] = hex[d[i] >> 4];
    out[2 * i + 1] = hex[d[i] & 15];
  }
  out[64] = 0;
}
