"""`lundi` and device names: --device auto is accepted like LUNDI_DEVICE=auto, and a
malformed name is refused when the option is read, whatever the command.
Usage: test_device_cli.py LUNDI SCRIPT CASE"""
import os
import re
import subprocess
import sys
import tempfile

LUNDI, SCRIPT = (os.path.abspath(a) for a in sys.argv[1:3])
CASE = sys.argv[3]


def lundi(*args, env=None):
    e = {k: v for k, v in os.environ.items() if k not in ("LUNDI_DEVICE", "LUNDI_PLUGIN_PATH")}
    e["LUNDI_PROGRESS"] = "0"
    e.update(env or {})
    with tempfile.TemporaryDirectory() as tmp:
        p = subprocess.run([LUNDI, *args], capture_output=True, text=True, cwd=tmp, env=e, timeout=60)
    return p.returncode, p.stdout, p.stderr


def check(cond, what, got):
    if not cond:
        print(f"FAIL: {what}\n--- got ---\n{got}", file=sys.stderr)
        sys.exit(1)


def case_auto():
    rc, out, err = lundi("--device", "auto", "devices")
    check(rc == 0 and err == "", "--device auto is accepted", out + err)
    check(re.search(r"^default: (cpu|vulkan:\d+) \(auto: ", out, re.M), "auto's choice and reason", out)
    rc2, out2, _ = lundi("devices", env={"LUNDI_DEVICE": "auto"})
    check(rc2 == 0 and out2 == out, "LUNDI_DEVICE=auto says the same", out2)
    rc, out, err = lundi("run", "--device=auto", "--no-record", SCRIPT)
    check(rc == 0 and re.fullmatch(r"device (cpu|vulkan:\d+) \1\n", out), "run --device=auto", out + err)


def case_malformed():
    for cmd in (["runs"], ["devices"], ["run", "x.lua"]):
        rc, _, err = lundi(cmd[0], "--device", "vulkan:", *cmd[1:])
        check(rc == 2 and err.startswith("lundi: invalid --device 'vulkan:' (expected cpu, vulkan or vulkan:N)\n"
                                         f"run 'lundi help {cmd[0]}' for usage\n"), f"{cmd[0]} refuses it", err)
    rc, _, err = lundi("--device", "")
    check(rc == 2 and "option --device needs a value" in err, "an empty value", err)


globals()["case_" + CASE]()
