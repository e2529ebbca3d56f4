/* The table lundi_registry_load_builtins() walks, expanded from the generated list. */
#include "builtins.h"

const lundi_plugin_init_fn lundi_builtin_inits[] = {
#define LUNDI_BUILTIN(name) lundi_builtin_##name,
#include "builtin_list.h"
#undef LUNDI_BUILTIN
};
const int lundi_builtin_count = (int)(sizeof lundi_builtin_inits / sizeof *lundi_builtin_inits);
