/* lundi devices: every registered backend's devices with what they report, and the default
 * choice with its reason, all read from the device registry. */
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "lundi/lundi.h"

const char cli_devices_help[] =
    "usage: lundi devices [OPTIONS]\n"
    "\n"
    "Lists the devices of every backend: the CPU, each Vulkan device (name, type, driver,\n"
    "Vulkan version, memory, subgroup size, 16-bit float support and compute limits) and\n"
    "those of backends that plugin files add (--plugin). Says which device scripts use by\n"
    "default and which one --device vulkan picks (a discrete GPU first, then an integrated\n"
    "one, a virtual one, then a software renderer).\n"
    "\n"
    "Without --device or LUNDI_DEVICE (or with 'auto'), scripts run on the best GPU when\n"
    "there is one, else on the CPU; a software Vulkan device such as lavapipe is used\n"
    "only when asked for, because the CPU backend is faster.\n";

static void bytes(char *buf, size_t cap, uint64_t b) {
  const char *unit[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  double v = (double)b;
  int u = 0;
  while (v >= 1024 && u < 4) v /= 1024, u++;
  if (u == 0) snprintf(buf, cap, "%llu B", (unsigned long long)b);
  else snprintf(buf, cap, v == (double)(uint64_t)v ? "%.0f %s" : "%.1f %s", v, unit[u]);
}

static void field(const char *name, const char *value) { printf("            %-14s%s\n", name, value); }

/* The header line, then the details a backend reports (the CPU reports none). */
static void print_device(const char *id, const lundi_device_info *d) {
  char buf[128], a[32], b[32];
  printf("%-10s %s\n", id, d->name);
  if (!d->driver[0]) return;
  field("type", d->type ? d->type : "other");
  field("driver", d->driver);
  if (d->api) field(d->api, d->api_version);
  bytes(buf, sizeof buf, d->device_local_bytes);
  field("memory", buf);
  if (!d->max_workgroup_invocations) return;
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

static void list_devices(void) {
  char id[64];
  lundi_device_info info;
  for (int b = 0; b < lundi_backend_count(); b++) {
    int n = lundi_backend_device_count(b);
    for (int i = 0; i < n; i++) {
      lundi_backend_device_name(b, i, id, sizeof id);
      if (lundi_backend_device_info(b, i, &info) != 0) printf("%-10s (no information: %s)\n", id, lundi_last_error());
      else print_device(id, &info);
    }
    if (n == 0) printf("%-10s none: %s\n", lundi_backend_name(b), lundi_backend_unavailable(b));
  }
  printf("\n");
}

/* What auto takes and why; returns its backend. */
static int print_auto(void) {
  lundi_device_spec s = {.is_auto = 1, .backend = -1, .index = -1};
  lundi_device *d = lundi_device_open(&s);
  const char *note = lundi_device_auto_note();
  lundi_device_info info;
  lundi_device_resolve(&s);
  if (d != lundi_cpu() && lundi_backend_device_info(s.backend, s.index, &info) == 0)
    printf("default: %s (auto: a %s %s GPU)\n", lundi_device_name(d), info.type, info.api ? info.api : info.backend);
  else
    printf("default: cpu (auto: %s)\n", *note ? note : "no GPU; a software GPU is slower than the CPU backend");
  return lundi_device_backend(d);
}

/* The default device: --device, else LUNDI_DEVICE, else auto. Returns its backend. */
static int print_default(const cli_opts *o) {
  const char *name = o->device ? o->device : lundi_device_env();
  const char *from = o->device ? "--device" : "LUNDI_DEVICE";
  char names[512], id[64];
  lundi_device_spec s;
  if (lundi_device_parse(name, &s) != 0) { /* only LUNDI_DEVICE: --device was checked */
    printf("default: cpu (LUNDI_DEVICE=%s is not valid: expected %s)\n", name,
           lundi_device_names(names, sizeof names, 1));
    return lundi_device_backend(lundi_cpu());
  }
  if (s.is_auto) return print_auto();
  int best = s.index < 0;
  if (lundi_device_resolve(&s) != 0) {
    printf("default: none usable (%s=%s: %s)\n", from, name, lundi_last_error());
    return s.backend;
  }
  lundi_backend_device_name(s.backend, s.index, id, sizeof id);
  if (lundi_backend_is_single(s.backend)) printf("default: %s\n", id);
  else if (best) printf("default: %s (%s=%s picks the best device)\n", id, from, name);
  else printf("default: %s (from LUNDI_DEVICE or --device)\n", id);
  return s.backend;
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
  lundi_registry *reg = cli_load_registry(o); /* a plugin file may add a backend */
  if (!reg) return CLI_FAIL;
  int bad = cli_check_device(o);
  if (bad) {
    lundi_registry_free(reg);
    return bad;
  }
  list_devices();
  int chosen = print_default(o);
  /* What naming each other backend would give. */
  for (int b = 0; b < lundi_backend_count(); b++) {
    lundi_device_spec s = {.is_auto = 0, .backend = b, .index = -1};
    if (b == chosen || lundi_backend_is_single(b) || lundi_device_resolve(&s) != 0) continue;
    printf("--device %s would use %s:%d\n", lundi_backend_name(b), lundi_backend_name(b), s.index);
  }
  lundi_clear_error();
  lundi_registry_free(reg);
  return CLI_OK;
}
