#include "builtins.h"
#include "builtin_inits.h"

/* One line per built-in plugin file. */
const lundi_plugin_init_fn lundi_builtin_inits[] = {
    lundi_builtin_ddpm,
    lundi_builtin_ddim,
    lundi_builtin_unet2d,
    lundi_builtin_class,
    lundi_builtin_image,
    lundi_builtin_euler,
    lundi_builtin_euler_ancestral,
    lundi_builtin_heun,
    lundi_builtin_dpmpp_2m,
};
const int lundi_builtin_count = (int)(sizeof lundi_builtin_inits / sizeof *lundi_builtin_inits);
