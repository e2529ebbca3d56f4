"""`lundi` with the fake backend loaded from its plugin file: listed by `lundi devices`,
--device fake:0 accepted, fake:5 refused with the device count, an unknown name refused
with the registered names. Usage: test_fake_cli.py LUNDI FAKE_SO SCRIPT_DIR CASE"""
import os
import re
import subprocess
import sys
import tempfile

LUNDI, FAKE, SCRIPTS = (os.path.abspath(a) for a in sys.argv[1:4])
CASE = sys.argv[4]


def lundi(*args):
    env = {k: v for k, v in os.environ.items() if k not in ("LUNDI_DEVICE", "LUNDI_PLUGIN_PATH")}
    env["LUNDI_PROGRESS"] = "0"
    with tempfile.TemporaryDirectory() as tmp:
        p = subprocess.run([LUNDI, *args], capture_output=True, text=True, cwd=tmp, env=env, timeout=60)
    return p.returncode, p.stdout, p.stderr


def check(cond, what, got):
    if not cond:
        print(f"FAIL: {what}\n--- got ---\n{got}", file=sys.stderr)
        sys.exit(1)


def case_listed():
    rc, out, err = lundi("--plugin", FAKE, "devices")
    check(rc == 0 and err == "", "lundi devices succeeds", out + err)
    check(re.search(r"^fake:0 +fake host-memory device", out, re.M), "the fake device is listed", out)
    check(re.search(r"^cpu +\d+ threads", out, re.M), "the CPU is still listed", out)
    check("--device fake would use fake:0" in out, "what --device fake picks", out)
    rc, out, _ = lundi("devices")
    check(rc == 0 and "fake" not in out, "without the file there is no fake backend", out)


def case_accepted():
    script = os.path.join(SCRIPTS, "device.lua")
    rc, out, err = lundi("--plugin", FAKE, "--device", "fake:0", "run", "--no-record", script)
    check(rc == 0 and out == "device fake:0 fake:0\n", "--device fake:0 runs the script there", out + err)
    rc, out, err = lundi("--device", "fake", "run", "--plugin", FAKE, "--no-record", script)
    check(rc == 0 and out == "device fake:0 fake:0\n", "--device before --plugin works too", out + err)
    rc, out, err = lundi("--plugin", FAKE, "--device", "fake:0", "devices")
    check(rc == 0 and "default: fake:0 (from LUNDI_DEVICE or --device)" in out, "the default line", out + err)


def case_records_moves():
    with tempfile.TemporaryDirectory() as d:
        db = os.path.join(d, "runs.db")
        rc, out, err = lundi("--plugin", FAKE, "--device", "cpu", "--db", db, "run", os.path.join(SCRIPTS, "moves.lua"))
        check(rc == 0 and out == "moved\n", "the script ran", out + err)
        rc, out, err = lundi("--db", db, "show", "last")
        check(rc == 0 and re.search(r"^device +cpu, fake:0\b", out, re.M), "the run lists every device it used", out + err)


def case_refused():
    script = os.path.join(SCRIPTS, "device.lua")
    rc, out, err = lundi("--plugin", FAKE, "--device", "fake:5", "run", "--no-record", script)
    check(rc == 2 and err == "lundi: --device fake:5: no such device; 1 fake device found "
          "(see 'lundi devices')\nrun 'lundi help run' for usage\n", "fake:5 is refused with the count, the name once", err)
    rc, out, err = lundi("--plugin", FAKE, "--device", "fakes", "devices")
    check(rc == 2 and err.startswith("lundi: invalid --device 'fakes' (expected cpu, vulkan, vulkan:N, fake "
          "or fake:N)\n"), "an unknown name lists the registered backends", err)
    rc, out, err = lundi("--device", "fake:0", "devices")
    check(rc == 2 and "invalid --device 'fake:0'" in err, "no file, no fake backend", err)


globals()["case_" + CASE]()
