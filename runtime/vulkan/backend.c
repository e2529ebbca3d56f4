/* The Vulkan backend's table. Kernels not listed are NULL, which the dispatcher reports as
 * "op 'x' is not implemented on the vulkan backend" (no silent CPU fallback). */
#include "vulkan/vk.h"

const lundi_backend lundi_vk_backend = {
    .name = "vulkan",
    .alloc = lundi_vk_alloc,
    .free = lundi_vk_free,
    .upload = lundi_vk_upload,
    .download = lundi_vk_download,
    .sync = lundi_vk_sync,
    .kernels =
        {
            [LUNDI_K_FILL] = lundi_vk_fill,
            [LUNDI_K_COPY] = lundi_vk_copy,
            [LUNDI_K_BINARY] = lundi_vk_binary,
            [LUNDI_K_UNARY] = lundi_vk_unary,
            [LUNDI_K_UNARY_BWD] = lundi_vk_unary_bwd,
            [LUNDI_K_WHERE] = lundi_vk_where,
            [LUNDI_K_CAST] = lundi_vk_cast,
            [LUNDI_K_REDUCE] = lundi_vk_reduce,
            [LUNDI_K_RNG_UNIFORM] = lundi_vk_rng_uniform,
            [LUNDI_K_RNG_NORMAL] = lundi_vk_rng_normal,
            [LUNDI_K_GEMM] = lundi_vk_gemm,
            [LUNDI_K_ADAMW] = lundi_vk_adamw,
            [LUNDI_K_EMA] = lundi_vk_ema,
        },
};
