/* "Did you mean": the nearest of a list of names by edit distance. Shared by the registry,
 * the parameter sets and the Lua bindings' option checks. */
#include "plugin/suggest.h"

#include <string.h>

/* Levenshtein distance, capped: names longer than 63 characters are never suggested. */
static int edit_distance(const char *a, const char *b) {
  size_t la = strlen(a), lb = strlen(b);
  if (la > 63 || lb > 63) return 1 << 20;
  int row[64];
  for (size_t j = 0; j <= lb; j++) row[j] = (int)j;
  for (size_t i = 1; i <= la; i++) {
    int diag = row[0];
    row[0] = (int)i;
    for (size_t j = 1; j <= lb; j++) {
      int up = row[j];
      int best = diag + (a[i - 1] != b[j - 1]);
      if (up + 1 < best) best = up + 1;
      if (row[j - 1] + 1 < best) best = row[j - 1] + 1;
      row[j] = best;
      diag = up;
    }
  }
  return row[lb];
}

const char *lundi__suggest(const char *key, const char *const *names, int n) {
  const char *best = NULL;
  int bd = 1 << 20;
  for (int i = 0; key && i < n; i++) {
    int d = edit_distance(key, names[i]);
    if (d < bd) {
      bd = d;
      best = names[i];
    }
  }
  if (!best) return NULL;
  size_t len = strlen(key) > strlen(best) ? strlen(key) : strlen(best);
  /* Close enough to be a typo: two edits, or a third of the longer name. */
  int limit = len / 3 > 2 ? (int)(len / 3) : 2;
  return bd > 0 && bd <= limit ? best : NULL;
}
