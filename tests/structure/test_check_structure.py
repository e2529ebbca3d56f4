#!/usr/bin/env python3
"""Each check of check_structure.py fires: a small source tree with one violation per case
must be reported (naming file:line and the edge), and the clean tree must pass.
Usage: test_check_structure.py CASE  (clean, store_internal, device_env, upward_include,
peer_backends, umbrella_low, store_pulls_tensors, public_upward, lua_library, lua_file_io)"""
import os
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
CHECK = os.path.join(HERE, "check_structure.py")

CLEAN = {
    "include/lundi/error.h": "",
    "include/lundi/tensor.h": '#include "lundi/error.h"\n',
    "include/lundi/lundi.h": '#include "lundi/tensor.h"\n',
    "runtime/core/error.h": '#include "lundi/error.h"\n',
    "runtime/tensor/tensor.c": '#include "core/error.h"\n#include "lundi/tensor.h"\n#include "local.h"\n',
    "runtime/tensor/local.h": "",
    "runtime/store/store_internal.h": "",
    "runtime/store/open.c": '#include "store/store_internal.h"\n#include "lundi/error.h"\n',
    "runtime/device/parse.c": 'const char *e = getenv("LUNDI_DEVICE");\n',
    "runtime/cli/main.c": '#include "lundi/lundi.h"\n',
    "runtime/lua/ltensor.c": '#include <lauxlib.h>\n#include <string.h>\n/* fopen( in a comment */\n',
}

# case -> (file, text added to it, what the report must name)
CASES = {
    "store_internal": ("runtime/lua/lrun.c", '#include "store/store_internal.h"\n',
                       ["(a)", "runtime/lua/lrun.c:1"]),
    "device_env": ("runtime/vulkan/device.c", 'x = getenv( "LUNDI_DEVICE" );\n',
                   ["(b)", "runtime/vulkan/device.c:1"]),
    "upward_include": ("runtime/tensor/views.c", '\n#include "autograd/node.h"\n',
                       ["(c)", "runtime/tensor/views.c:2", "tensor -> autograd"]),
    "peer_backends": ("runtime/vulkan/k.c", '#include "cpu/kernels.h"\n',
                      ["(c)", "runtime/vulkan/k.c:1", "vulkan -> cpu", "a peer"]),
    "umbrella_low": ("runtime/core/dispatch.c", '#include "lundi/lundi.h"\n',
                     ["(c)", "runtime/core/dispatch.c:1", "core -> nn"]),
    "store_pulls_tensors": ("runtime/store/run.c", '#include "lundi/lundi.h"\n',
                            ["(d)", "runtime/store/run.c:1", "lundi/lundi.h"]),
    "public_upward": ("include/lundi/tensor.h", '#include "lundi/ops.h"\n',
                      ["(c)", "include/lundi/tensor.h:2", "tensor -> ops"]),
    "lua_library": ("runtime/lua/lmetrics.c", '#include <cjson/cJSON.h>\n',
                    ["(e)", "runtime/lua/lmetrics.c:1", "<cjson/cJSON.h>"]),
    "lua_file_io": ("runtime/lua/ltext.c", '  if (lundi_file_read_all(p, &d, &n)) return 1;\n',
                    ["(e)", "runtime/lua/ltext.c:1", "reads a file"]),
}


def run(tree):
    with tempfile.TemporaryDirectory() as root:
        for rel, text in tree.items():
            path = os.path.join(root, rel)
            os.makedirs(os.path.dirname(path), exist_ok=True)
            with open(path, "a") as f:
                f.write(text)
        p = subprocess.run([sys.executable, CHECK, root], capture_output=True, text=True)
        return p.returncode, p.stdout


def main():
    case = sys.argv[1]
    tree = dict(CLEAN)
    if case == "clean":
        rc, out = run(tree)
        if rc != 0:
            print("the clean tree was refused:\n" + out)
            return 1
        return 0
    rel, text, want = CASES[case]
    tree[rel] = tree.get(rel, "") + text
    rc, out = run(tree)
    lines = [l for l in out.splitlines() if l.startswith("(")]
    if rc == 0 or len(lines) != 1 or not all(w in lines[0] for w in want):
        print("expected exactly one report naming %s, got rc %d:\n%s" % (want, rc, out))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
