/* The query tests' fixture: a small store built with the C writing API (lundi/store.h). */
#ifndef LUNDI_TEST_QUERY_FIXTURE_H
#define LUNDI_TEST_QUERY_FIXTURE_H

#include <stddef.h>
#include <stdint.h>

/* Runs, in order (ids 1..5):
 *  1 alpha  finished    sampler=ddim steps=50 lr=0.001 cfg=7.5 ema=true "my key"='x y'
 *                       tags model=unet-small note="it's"; loss 0.5 .. last 0.03, acc 0.91;
 *                       outputs: sample (PNG with a lundi chunk), notes (text), big.bin (blob);
 *                       plugin sampler ddim 1.0
 *  2 beta   finished    sampler=euler steps=20 lr=0.01 cfg=7.5; model=unet-large;
 *                       loss min 0.07 last 0.08, acc 0.85
 *  3 gamma  failed      sampler=ddim steps=100 lr='auto' (string); model=DiT-xl; loss last 0.01;
 *                       exit message "boom"
 *  4 delta  interrupted steps='50' (string) sampler=DDIM; tag "odd key"='100%_done';
 *                       metric "x.min": 5, 3, 4; seed 42; device vulkan:0
 *  5 gone   finished, then marked deleted; sampler=ddim; loss 0.001; outputs secret (text),
 *                       gone.bin (blob)
 * uuids[i] receives run i+1's uuid. Returns 0 or prints the error and returns -1. */
int qfix_build(const char *db_path, char uuids[5][37]);

/* The 8x8 RGB PNG saved as alpha's "sample" output (malloc'd; free it). */
uint8_t *qfix_png(const char *uuid, size_t *n);
/* The 300000 bytes of a blob output: byte i is (i * mult + 7) & 255. */
uint8_t *qfix_big(int mult);

#endif
