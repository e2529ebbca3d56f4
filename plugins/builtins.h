/* The built-in plugins' entry points, one per entry of builtin_plugins in plugins/meson.build
 * (the generated builtin_list.h). They register through lundi_register() exactly as a shared
 * object's LUNDI_PLUGIN_ENTRY does; lundi_registry_load_builtins() calls each in list order. */
#ifndef LUNDI_PLUGINS_BUILTINS_H
#define LUNDI_PLUGINS_BUILTINS_H

#include "lundi/plugin.h"

#define LUNDI_BUILTIN(name) int lundi_builtin_##name(lundi_registry *r);
#include "builtin_list.h"
#undef LUNDI_BUILTIN

extern const lundi_plugin_init_fn lundi_builtin_inits[];
extern const int lundi_builtin_count;

#endif
