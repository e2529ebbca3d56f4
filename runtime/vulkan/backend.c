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
        },
};
