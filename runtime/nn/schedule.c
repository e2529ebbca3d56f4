/* Learning-rate schedules. With w = warmup_steps and T = total_steps:
 *   step < w:  base_lr * step / w            (starts at 0, as HF's schedulers do)
 *   otherwise: p = clamp((step - w) / max(1, T - w), 0, 1) and
 *     constant: base_lr
 *     linear:   min_lr + (base_lr - min_lr) * (1 - p)
 *     cosine:   min_lr + (base_lr - min_lr) * (1 + cos(pi p)) / 2
 * Negative steps count as 0. */
#include "nn/nn_internal.h"

#include <math.h>
#include <string.h>

float lundi_lr_at(const lundi_lr_schedule *s, int64_t step) {
  if (!s) return 0.0f;
  if (step < 0) step = 0;
  double base = s->base_lr, lo = s->min_lr;
  if (s->warmup_steps > 0 && step < s->warmup_steps) return (float)(base * (double)step / (double)s->warmup_steps);
  int64_t w = s->warmup_steps > 0 ? s->warmup_steps : 0;
  double span = s->total_steps - w > 1 ? (double)(s->total_steps - w) : 1.0;
  double p = (double)(step - w) / span;
  if (p > 1) p = 1;
  switch (s->kind) {
  case LUNDI_LR_LINEAR: return (float)(lo + (base - lo) * (1.0 - p));
  case LUNDI_LR_COSINE: return (float)(lo + (base - lo) * 0.5 * (1.0 + cos(M_PI * p)));
  case LUNDI_LR_CONSTANT: break;
  }
  return (float)base;
}

const char *const lundi_lr_kind_names[] = {"constant", "linear", "cosine", NULL};

int lundi_lr_kind_parse(const char *name, lundi_lr_kind *kind) {
  for (int i = 0; name && lundi_lr_kind_names[i]; i++)
    if (!strcmp(name, lundi_lr_kind_names[i])) return *kind = (lundi_lr_kind)i, 0;
  return lundi__err(LUNDI_EINVAL, "lr_schedule: kind '%s' is not constant, linear or cosine", name ? name : "(null)");
}

int lundi_lr_schedule_check(const lundi_lr_schedule *s) {
  if (!s) return lundi__err(LUNDI_EINVAL, "lr_schedule: NULL schedule");
  if (s->kind != LUNDI_LR_CONSTANT && s->total_steps <= 0)
    return lundi__err(LUNDI_EINVAL, "option 'total_steps' (> 0) is required for linear and cosine schedules");
  return 0;
}
