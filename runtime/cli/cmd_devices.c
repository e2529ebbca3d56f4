/* lundi devices: the CPU, each Vulkan device with its limits, and the default choice. */
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "lundi/lundi.h"

const char cli_devices_help[] =
    "usage: lundi devices [OPTIONS]\n"
    "\n"
    "Lists the CPU and each Vulkan device: name, type, driver, Vulkan version, memory,\n"
    "subgroup size, 16-bit float support and compute limits. Says which device scripts\n"
    "use by default and which one --device vulkan picks (a discrete GPU first, then an\n"
    "integrated one, a virtual one, then a software renderer).\n"
    "\n"
    "Without --device or LUNDI_DEVICE (or with 'auto'), scripts run on the best Vulkan GPU\n"
    "when there is one, else on the CPU; a software Vulkan device such as lavapipe is used\n"
    "only when asked for, because the CPU backend is faster.\n";

static void bytes(char *buf, size_t cap, uint64_t b) {
  const char *unit[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  double v = (double)b;
  int u = 0;
  while (v >= 1024 && u < 4) v /= 1024, u++;
  if (u == 0) snprintf(buf, cap, "%llu B", (unsigned long long)b);
  else snprintf(buf, cap, v == (double)(uint64_t)v ? "%.0f %s" : "%.1f %s", v, unit[u]);
}

/* The order lundi_vulkan_device(-1) prefers (runtime/vulkan/device.c). */
static int rank(const char *type) {
  const char *order[] = {"discrete", "integrated", "virtual", "cpu"};
  for (int i = 0; i < 4; i++)
    if (!strcmp(type, order[i])) return 4 - i;
  return 0;
}

static void field(const char *name, const char *value) { printf("            %-14s%s\n", name, value); }

static void print_device(int i, const lundi_device_info *d) {
  char buf[128], a[32], b[32];
  printf("vulkan:%-3d %s\n", i, d->name);
  field("type", d->type);
  field("driver", d->driver);
  field("Vulkan", d->api_version);
  bytes(buf, sizeof buf, d->device_local_bytes);
  field("memory", buf);
  if (d->subgroup_size) snprintf(buf, sizeof buf, "%u", d->subgroup_size);
  else snprintf(buf, sizeof buf, "unknown");
  field("subgroup size", buf);
  snprintf(buf, sizeof buf, "float16 arithmetic %s, 16-bit storage %s", d->shader_float16 ? "yes" : "no",
           d->storage_buffer_16bit ? "yes" : "no");
  field("16-bit", buf);
  bytes(buf, sizeof buf, d->max_compute_shared_memory);
  field("shared memory", buf);
  snprintf(buf, sizeof buf, "%u invocations, size up to %ux%ux%u", d->max_workgroup_invocations,
           d->max_workgroup_size[0], d->max_workgroup_size[1], d->max_workgroup_size[2]);
  field("workgroups", buf);
  bytes(a, sizeof a, d->max_storage_buffer_range);
  bytes(b, sizeof b, d->max_memory_allocation_size);
  snprintf(buf, sizeof buf, "binding up to %s, allocation up to %s", a, b);
  field("buffers", buf);
}

int cli_cmd_devices(cli_opts *o, int argc, char **argv, int at) {
  for (int i = at + 1; i < argc;) {
    if (cli_is_help(argv[i])) {
      cli_print_help(stdout, cli_find_command("devices"));
      return CLI_OK;
    }
    int r = argv[i][0] == '-' ? cli_global_option(o, argc, argv, &i, "devices") : 0;
    if (r < 0) return CLI_USAGE;
    if (r == 0) return cli_usage_error("devices", "unexpected argument '%s'", argv[i]);
  }
  cli_apply(o);
  printf("cpu        %d threads\n", lundi_get_threads());
  int n = lundi_device_count(), best = -1, best_rank = -1;
  lundi_device_info info;
  for (int i = 0; i < n; i++) {
    if (lundi_device_get_info(i, &info) != 0) {
      printf("vulkan:%-3d (no information: %s)\n", i, lundi_last_error());
      continue;
    }
    print_device(i, &info);
    if (rank(info.type) > best_rank) best_rank = rank(info.type), best = i;
  }
  if (n == 0) printf("vulkan     none: %s\n", lundi_vulkan_unavailable_reason());
  printf("\n");
  const char *env = getenv("LUNDI_DEVICE");
  if (!env || !*env || !strcmp(env, "auto")) {
    lundi_device *d = lundi_device_from_name("auto");
    const char *note = lundi_device_auto_note();
    if (d && d != lundi_cpu()) printf("default: %s (auto: a Vulkan GPU)\n", lundi_device_name(d));
    else printf("default: cpu (auto: %s)\n", *note ? note : "no Vulkan GPU; a software Vulkan device is slower than the CPU backend");
    if (best >= 0 && d == lundi_cpu()) printf("--device vulkan would use vulkan:%d\n", best);
  } else if (!strcmp(env, "cpu")) {
    printf("default: cpu\n");
    if (best >= 0) printf("--device vulkan would use vulkan:%d\n", best);
  } else if (!strcmp(env, "vulkan")) {
    if (best >= 0) printf("default: vulkan:%d (LUNDI_DEVICE=vulkan picks the best device)\n", best);
    else printf("default: none usable (LUNDI_DEVICE=vulkan, but there is no Vulkan device)\n");
  } else if (!strncmp(env, "vulkan:", 7) && env[7]) {
    int k = atoi(env + 7);
    if (k < n) printf("default: %s (from LUNDI_DEVICE or --device)\n", env);
    else printf("default: none usable (LUNDI_DEVICE=%s, but there %s %d Vulkan device%s)\n", env,
                n == 1 ? "is" : "are", n, n == 1 ? "" : "s");
  } else {
    printf("default: cpu (LUNDI_DEVICE=%s is not valid: expected cpu, vulkan or vulkan:N)\n", env);
  }
  return CLI_OK;
}
