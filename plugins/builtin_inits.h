/* Entry points of the plugins compiled into liblundi, one per plugin; builtins.c lists them. */
#ifndef LUNDI_PLUGINS_BUILTIN_INITS_H
#define LUNDI_PLUGINS_BUILTIN_INITS_H

#include "lundi/plugin.h"

int lundi_builtin_ddpm(lundi_registry *r);
int lundi_builtin_ddim(lundi_registry *r);
int lundi_builtin_unet2d(lundi_registry *r);
int lundi_builtin_class(lundi_registry *r);
int lundi_builtin_image(lundi_registry *r);
int lundi_builtin_euler(lundi_registry *r);
int lundi_builtin_euler_ancestral(lundi_registry *r);
int lundi_builtin_heun(lundi_registry *r);
int lundi_builtin_dpmpp_2m(lundi_registry *r);

#endif
