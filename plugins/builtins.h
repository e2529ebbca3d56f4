/* The built-in plugins' entry points. They register through lundi_register() exactly as a
 * shared object's LUNDI_PLUGIN_ENTRY does; lundi_registry_load_builtins() calls each. */
#ifndef LUNDI_PLUGINS_BUILTINS_H
#define LUNDI_PLUGINS_BUILTINS_H

#include "lundi/plugin.h"

extern const lundi_plugin_init_fn lundi_builtin_inits[];
extern const int lundi_builtin_count;

#endif
