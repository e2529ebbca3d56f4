#!/usr/bin/env python3
"""Source-structure checks for lundi (docs/internals.md, "Floors").

  (a) store/store_internal.h is included only inside runtime/store.
  (b) getenv("LUNDI_DEVICE") appears only in runtime/device/, the one place that parses devices.
  (c) no #include goes down-to-up between runtime folders: a folder includes only from
      its own folder or from floors below it (include/lundi headers count as the folder
      that implements them).
  (d) the store depends only on the error header: runtime/store includes no lundi/ header
      beyond STORE_PUBLIC and no private header outside core/ and store/.

Scans runtime/, plugins/ and include/ for all five; tests/, bench/ and examples/ are white-box
users that may reach any floor, so only (a) and (b) apply there. Prints every violation as file:line and exits 1 if there is any.
Usage: check_structure.py [SOURCE_ROOT]
"""
import os
import re
import sys

# The floors, low to high. Folders on one floor are peers: neither includes the other.
FLOORS = [
    ["core"],
    ["tensor"],
    ["autograd"],
    ["ops"],
    ["cpu", "vulkan"],
    ["device"],
    ["nn"],
    ["io"],
    ["sim"],  # simulated environments (Push-T, two-way), their renders and GIFs
    ["data"],
    ["text"],  # tokenizers, text tasks and text datasets
    ["plugin"],  # runtime/plugin and plugins/ (the built-ins) are one floor
    ["store"],
    ["session"],
    ["lua"],
    ["cli"],
]
LEVEL = {f: i for i, fl in enumerate(FLOORS) for f in fl}

# Public headers belong to the folder that implements them. lundi.h is the umbrella of the
# tensor/ops/nn API: it sits at the floor of the highest header it pulls in (nn), so no
# folder below nn may include it.
PUBLIC = {
    "error.h": "core",
    "version.h": "core",
    "device_info.h": "core",
    "file.h": "core",
    "tensor.h": "tensor",
    "profile.h": "tensor",
    "ops.h": "ops",
    "cpu.h": "cpu",
    "vulkan.h": "vulkan",
    "device.h": "device",
    "nn.h": "nn",
    "metrics.h": "nn",
    "lundi.h": "nn",
    "progress.h": "io",
    "image.h": "io",
    "env.h": "sim",
    "expert.h": "sim",
    "data.h": "data",
    "minmax.h": "data",
    "mnist.h": "data",
    "tokenizer.h": "text",
    "text_data.h": "text",
    "session.h": "session",
    "plugin_observer.h": "plugin",
    "plugin.h": "plugin",
    "likelihood.h": "plugin",
    "plugin_api.h": "plugin",
    "options.h": "plugin",
    "store.h": "store",
    "history.h": "store",
    "lua.h": "lua",
}

# What the store may include from include/lundi (lundi/image.h: which.c reads a PNG's text
# chunk to find the run that made it).
STORE_PUBLIC = {"error.h", "version.h", "file.h", "store.h", "history.h", "image.h"}

# Tests, benchmarks and examples may reach any floor, but checks (a) and (b) hold there too:
# the store's own tests use store/store_hooks.h, not the handle layout.
WHITE_BOX = ("tests", "bench", "examples")

INCLUDE = re.compile(r'^\s*#\s*include\s*"([^"]+)"')
SYSTEM_INCLUDE = re.compile(r'^\s*#\s*include\s*<([^>]+)>')
# What runtime/lua may include with <...>: Lua's headers and the C standard library.
LUA_SYSTEM = {"lua.h", "lauxlib.h", "lualib.h", "assert.h", "errno.h", "float.h", "inttypes.h",
              "limits.h", "math.h", "stdarg.h", "stdbool.h", "stddef.h", "stdint.h", "stdio.h",
              "stdlib.h", "string.h", "time.h", "unistd.h"}
FILE_IO = re.compile(r'\b(fopen|fread|freopen|open|lundi_file_read_all)\s*\(')
DEVICE_ENV = re.compile(r'getenv\s*\(\s*"LUNDI_DEVICE"\s*\)')


def folder_of(rel):
    """Floor folder of a scanned file (relative to the root), or None."""
    parts = rel.split("/")
    if parts[0] == "runtime" and len(parts) > 2:
        return parts[1]
    if parts[0] == "plugins":
        return "plugin"
    if parts[0] == "include" and parts[1] == "lundi":
        return PUBLIC.get(parts[2])
    return None


def target_folder(root, inc, src_rel):
    """Folder an include names: "lundi/x.h" -> its implementer, "tensor/x.h" -> tensor,
    a bare "x.h" -> the including file's own folder, else plugins/ (an include directory)."""
    parts = inc.split("/")
    if len(parts) == 1 or not parts[0] in LEVEL and parts[0] != "lundi":
        if os.path.exists(os.path.join(root, os.path.dirname(src_rel), inc)):
            return folder_of(src_rel)
        if os.path.exists(os.path.join(root, "plugins", inc)):
            return "plugin"
        return None  # generated or third-party headers (*.spv.h, volk)
    if parts[0] == "lundi":
        return PUBLIC.get(parts[1], "?lundi/" + parts[1])
    return "plugin" if parts[0] == "plugins" else parts[0]


def scan(root):
    problems = []
    for top in ("runtime", "plugins", "include") + WHITE_BOX:
        for dirpath, dirnames, filenames in os.walk(os.path.join(root, top)):
            dirnames.sort()
            for name in sorted(filenames):
                if not name.endswith((".c", ".h")):
                    continue
                path = os.path.join(dirpath, name)
                rel = os.path.relpath(path, root).replace(os.sep, "/")
                src = None if rel.split("/")[0] in WHITE_BOX else folder_of(rel)
                with open(path, encoding="utf-8", errors="replace") as f:
                    lines = f.read().split("\n")
                for no, line in enumerate(lines, 1):
                    where = "%s:%d" % (rel, no)
                    if DEVICE_ENV.search(line) and not rel.startswith("runtime/device/"):
                        problems.append("(b) %s: getenv(\"LUNDI_DEVICE\") outside runtime/device/ "
                                        "(parse devices there, once)" % where)
                    if rel.startswith("runtime/lua/"):
                        sm = SYSTEM_INCLUDE.match(line)
                        if sm and sm.group(1) not in LUA_SYSTEM:
                            problems.append("(e) %s: the Lua layer includes <%s> (what needs a library "
                                            "belongs in a C module below it)" % (where, sm.group(1)))
                        if FILE_IO.search(line) and not line.lstrip().startswith(("/*", "*", "//")):
                            problems.append("(e) %s: the Lua layer reads a file itself (give the C "
                                            "module a function that does)" % where)
                    m = INCLUDE.match(line)
                    if not m:
                        continue
                    inc = m.group(1)
                    if inc == "store/store_internal.h" and not rel.startswith("runtime/store/"):
                        problems.append("(a) %s: includes store/store_internal.h outside runtime/store "
                                        "(use lundi/store.h)" % where)
                    if rel.startswith("runtime/store/"):
                        parts = inc.split("/")
                        if (parts[0] == "lundi" and parts[-1] not in STORE_PUBLIC) or (
                                parts[0] in LEVEL and parts[0] not in ("core", "store")):
                            problems.append("(d) %s: the store includes \"%s\" (it depends only on "
                                            "lundi/error.h and core/)" % (where, inc))
                            continue
                    dst = target_folder(root, inc, rel)
                    if src is None or dst is None or dst == src:
                        continue
                    if dst not in LEVEL:
                        problems.append("(c) %s: includes \"%s\", a public header with no floor "
                                        "(add it to PUBLIC in %s)" % (where, inc, os.path.basename(__file__)))
                        continue
                    if LEVEL[dst] >= LEVEL[src]:
                        kind = "a peer" if LEVEL[dst] == LEVEL[src] else "a higher floor"
                        problems.append("(c) %s: %s -> %s includes \"%s\" from %s (%s may include "
                                        "only floors below it)" % (where, src, dst, inc, kind, src))
    return problems


def main():
    root = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "..", "..")
    problems = scan(root)
    for p in problems:
        print(p)
    if problems:
        print("%d structure violation(s); the floors are in docs/internals.md" % len(problems))
        return 1
    print("structure: ok")
    return 0


if __name__ == "__main__":
    sys.exit(main())
