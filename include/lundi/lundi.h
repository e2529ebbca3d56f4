/* lundi: a C runtime for diffusion models.
 *
 * Conventions shared by every public header:
 *  - Functions that build something return a new reference (or NULL on error);
 *    the caller owns it and gives it back with the matching *_release/_free.
 *  - Functions that do something return 0 (LUNDI_OK) or a negative lundi_status.
 *  - On any error, lundi_last_error() holds a message naming the op and the cause.
 *    The message is per thread and stays until the next error.
 *  - The library never calls exit() or abort().
 */
#ifndef LUNDI_LUNDI_H
#define LUNDI_LUNDI_H

#include "lundi/error.h"
#include "lundi/version.h"
#include "lundi/tensor.h"
#include "lundi/ops.h"
#include "lundi/nn.h"
#include "lundi/device.h"
#include "lundi/profile.h"
#include "lundi/cpu.h"

#endif
