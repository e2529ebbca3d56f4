/* The nearest name for "did you mean" messages (runtime/plugin/suggest.c). Private to the
 * library; the Lua bindings use it too. */
#ifndef LUNDI_PLUGIN_SUGGEST_H
#define LUNDI_PLUGIN_SUGGEST_H

/* Smallest edit distance from key to one of names[0..n); the best name when it is close
 * enough to suggest (two edits, or a third of the longer name), else NULL. */
const char *lundi__suggest(const char *key, const char *const *names, int n);

#endif
