#!/usr/bin/env python3
"""Runs the built `lundi` command and checks its output and exit codes.

usage: test_cli.py LUNDI TEST_PLUGIN.so NOT_A_PLUGIN.so CASE
The working directory holds the Lua scripts (tests/cli/scripts)."""
import json
import os
import pty
import re
import select
import signal
import struct
import subprocess
import sys
import tempfile
import termios
import fcntl
import time

LUNDI, PLUGIN, NOT_PLUGIN = (os.path.abspath(a) for a in sys.argv[1:4])
CASE = sys.argv[4]
failures = 0

# `lundi run` records runs in a store: keep it out of the source tree (the working
# directory), in a temporary directory removed at exit. Every lundi started here inherits it.
_db_dir = tempfile.TemporaryDirectory(prefix="lundi-cli-test-")
os.environ["LUNDI_DB"] = os.path.join(_db_dir.name, "lundi.db")


def check(cond, what, detail=""):
    global failures
    if not cond:
        failures += 1
        print(f"FAILED: {what}" + (f"\n{detail}" if detail else ""), file=sys.stderr)


def lundi(*args, env=None, timeout=30):
    e = dict(os.environ)
    e.pop("LUNDI_PROGRESS", None)
    e.pop("LUNDI_PLUGIN_PATH", None)
    e.update(env or {})
    r = subprocess.run([LUNDI, *args], capture_output=True, text=True, env=e, timeout=timeout)
    sanitized(r.stderr)
    return r.returncode, r.stdout, r.stderr


def sanitized(err):
    """Under ASan/UBSan builds, any report is a failure whatever the exit status."""
    check(not re.search(r"Sanitizer|runtime error:", err), "a sanitizer report", err)


def expect(args, rc, out=None, err=None, env=None):
    """Runs lundi and checks rc and, when given, exact stdout / stderr (or a regex object)."""
    got_rc, got_out, got_err = lundi(*args, env=env)
    shown = f"$ lundi {' '.join(args)}\nrc {got_rc}\n--- stdout\n{got_out}--- stderr\n{got_err}"
    check(got_rc == rc, f"lundi {' '.join(args)}: exit {got_rc}, expected {rc}", shown)
    for name, got, want in (("stdout", got_out, out), ("stderr", got_err, err)):
        if want is None:
            continue
        ok = want.search(got) if hasattr(want, "search") else got == want
        check(ok, f"lundi {' '.join(args)}: {name} differs from {want!r}", shown)
    return got_rc, got_out, got_err


def case_version():
    _, out, _ = expect(["--version"], 0)
    lines = out.splitlines()
    check(lines[:2] == ["lundi 0.1.0", "plugin ABI 3"], "version lines", out)
    check(len(lines) == 3 and re.fullmatch(r"Lua 5\.4\.\d+", lines[2]), "Lua version line", out)
    expect(["-V"], 0, out=out)


def case_help():
    _, out, _ = expect(["help"], 0, err="")
    check(out.startswith("usage: lundi [OPTIONS] COMMAND [ARGS]\n"), "usage line", out)
    for cmd in ("run SCRIPT", "plugins [KIND]", "devices", "help [COMMAND]"):
        check(re.search(r"^  " + re.escape(cmd) + r" +\S", out, re.M), f"help lists {cmd}", out)
    for opt in ("--plugin FILE.so", "--device cpu|vulkan[:N]", "--threads N", "-q, --quiet"):
        check(re.search(r"^  " + re.escape(opt) + r" +\S", out, re.M), f"help lists {opt}", out)
    # the two columns line up: every description starts in the same column
    cols = {m.start(2) for m in (re.match(r"  (\S.*?\S)  +(\S)", l) for l in out.splitlines()) if m}
    check(len(cols) == 1, f"help columns aligned (description columns {sorted(cols)})", out)
    check(max(len(l) for l in out.splitlines()) <= 80, "help fits 80 columns", out)
    expect(["--help"], 0, out=out)
    expect(["-h"], 0, out=out)
    # no command at all: usage on stderr, exit 2
    expect([], 2, out="", err=out)


def case_command_help():
    for cmd in ("run", "plugins", "devices", "help"):
        _, out, _ = expect(["help", cmd], 0, err="")
        check(out.startswith(f"usage: lundi {cmd}"), f"help {cmd} starts with its usage", out)
        check(max(len(l) for l in out.splitlines()) <= 90, f"help {cmd} lines fit", out)
        expect([cmd, "--help"], 0, out=out, err="")
        expect([cmd, "-h"], 0, out=out, err="")
    expect(["help", "rnu"], 2, out="",
           err="lundi: no help for 'rnu': unknown command (did you mean 'run'?)\n"
               "run 'lundi help' for usage\n")


def case_unknown_command():
    expect(["runn"], 2, out="",
           err="lundi: unknown command 'runn' (did you mean 'run'?)\nrun 'lundi help' for usage\n")
    expect(["plugin"], 2, err=re.compile(r"did you mean 'plugins'\?"))
    expect(["frobnicate"], 2,
           err="lundi: unknown command 'frobnicate'\nrun 'lundi help' for usage\n")
    expect(["--bogus", "run"], 2,
           err="lundi: unknown option '--bogus'\nrun 'lundi help' for usage\n")


def case_global_options():
    expect(["--device", "gpu", "devices"], 2,
           err="lundi: invalid --device 'gpu' (expected cpu, vulkan or vulkan:N)\n"
               "run 'lundi help' for usage\n")
    expect(["devices", "--device=vulkan:x"], 2,
           err=re.compile(r"^lundi: invalid --device 'vulkan:x' .*\nrun 'lundi help devices' for usage\n$"))
    expect(["--threads", "0", "devices"], 2, err=re.compile(r"invalid --threads '0'"))
    expect(["--threads"], 2, err=re.compile(r"^lundi: option --threads needs a value\n"))
    expect(["--plugin"], 2, err=re.compile(r"^lundi: option --plugin needs a value\n"))
    expect(["--threads", "2", "devices"], 0, out=re.compile(r"^cpu +2 threads\n"))
    expect(["devices", "--threads=3"], 0, out=re.compile(r"^cpu +3 threads\n"))
    expect(["--quiet", "--device", "cpu", "run", "ok.lua"], 0, out="ok\n", err="")


def case_run_params():
    args = ["--steps=50", "--lr=1e-4", "--name=mnist", "--flag", "--off=false", "--neg=-3",
            "--empty=", "--db=x.db", "--dotted.key=v", "--text=12abc", "--twice=1",
            "--twice=2", "--", "a", "--b=1"]
    expect(["run", "params.lua", *args], 0, out="ok\n", err="")
    # lundi's own options before the script, after the command name
    expect(["run", "--threads", "1", "-q", "params.lua", *args], 0, out="ok\n", err="")
    expect(["--threads=1", "run", "params.lua", *args], 0, out="ok\n", err="")


def case_run_bad_params():
    hint = "run 'lundi help run' for usage\n"
    expect(["run", "ok.lua", "--=3"], 2, out="",
           err=re.compile(r"^lundi: malformed script parameter '--=3' \(expected --key=value or --flag"))
    expect(["run", "ok.lua", "-x"], 2, out="",
           err=re.compile(r"^lundi: malformed script parameter '-x' .*lundi's own options go before the script\)\n" + re.escape(hint) + "$"))
    expect(["run", "ok.lua", "steps=3"], 2, out="",
           err=re.compile(r"^lundi: unexpected argument 'steps=3' after the script .*put other arguments after '--'\)\n"))
    expect(["run", "ok.lua", "--1x=3"], 2, err=re.compile(r"malformed script parameter '--1x=3'"))
    expect(["run"], 2, out="",
           err="lundi: missing the script to run (lundi run SCRIPT)\n" + hint)
    expect(["run", "--steps=3", "ok.lua"], 2,
           err=re.compile(r"^lundi: unknown option '--steps=3' before the script \(script parameters go after it: lundi run SCRIPT --steps=3\)\n"))


def case_run_lundi_option_placement():
    hint = "run 'lundi help run' for usage\n"
    for arg in ("--plugin=./x.so", "--plugin"):
        expect(["run", "ok.lua", arg], 2, out="",
               err=f"lundi: '{arg}' comes after the script, where it would be a script parameter; lundi's "
                   "--plugin goes before it (lundi run --plugin FILE SCRIPT)\n" + hint)
    expect(["run", "ok.lua", "--no-record"], 2, out="",
           err=re.compile(r"^lundi: '--no-record' comes after the script.*\(lundi run --no-record SCRIPT\)\n"))
    # --no-record before the command, like the other options; no store is made
    with tempfile.TemporaryDirectory() as d:
        db = os.path.join(d, "fresh.db")
        expect(["--no-record", "run", "ok.lua"], 0, err="", env={"LUNDI_DB": db})
        check(not os.path.exists(db), "lundi --no-record run records nothing", db)
        expect(["--no-record", "runs"], 2, out="",
               err="lundi: --no-record is an option of 'lundi run' only\nrun 'lundi help runs' for usage\n")


def case_run_error_traceback():
    _, _, err = expect(["run", "error.lua"], 1, out="",
                       err=re.compile(r"^lundi: error\.lua:2: boom\nstack traceback:\n"))
    check("error.lua:2: in " in err, "traceback names the erroring line", err)
    check("error.lua:4: in main chunk" in err, "traceback names the calling line", err)


def case_run_plugin_callback_error():
    _, _, err = expect(["run", "plugin_error.lua"], 1, out="")
    check(err.startswith("lundi: plugin_error.lua:16: "), "the error names the script line that sampled", err)
    check("scheduler 'fails_at_step_2' (plugin_error.lua:2)" in err, "names the plugin and where it was registered", err)
    check("plugin_error.lua:10: no step 2" in err, "names the failing line in the plugin", err)
    check(err.count("stack traceback:") == 1 and "plugin_error.lua:10: in function" in err
          and "plugin_error.lua:16: in main chunk" in err, "one traceback, through the plugin and the script", err)


def case_run_syntax_error():
    expect(["run", "syntax.lua"], 1, out="",
           err="lundi: syntax.lua:1: unexpected symbol near '='\n")


def case_run_missing_script():
    expect(["run", "no_such_script.lua"], 1, out="",
           err="lundi: cannot open no_such_script.lua: No such file or directory\n")


def case_run_not_a_plugin():
    with tempfile.TemporaryDirectory() as d:
        marker = os.path.join(d, "ran")
        for args in (["--plugin", NOT_PLUGIN, "run", "ok.lua", f"--marker={marker}"],
                     ["run", f"--plugin={NOT_PLUGIN}", "ok.lua", f"--marker={marker}"]):
            expect(args, 1, out="",
                   err=f"lundi: {NOT_PLUGIN} is not a lundi plugin: it does not export "
                       "lundi_plugin_abi_version (build it with LUNDI_PLUGIN_ENTRY)\n")
            check(not os.path.exists(marker), "the script must not run after a plugin fails")
        expect(["--plugin", os.path.join(d, "missing.so"), "run", "ok.lua"], 1, out="",
               err=re.compile(r"^lundi: cannot load plugin .*missing\.so: .*No such file"))
        # a bad .so on LUNDI_PLUGIN_PATH is reported and skipped: the script still runs
        os.symlink(NOT_PLUGIN, os.path.join(d, "bad.so"))
        expect(["run", "ok.lua"], 0, out="ok\n", env={"LUNDI_PLUGIN_PATH": d},
               err=re.compile(r"^lundi: warning: " + re.escape(os.path.join(d, "bad.so")) + r" is not a lundi plugin.*\(skipped\)\n$"))
        # the good plugin loads and the script runs
        expect(["--plugin", PLUGIN, "run", "ok.lua", f"--marker={marker}"], 0, out="ok\n", err="")
        check(os.path.exists(marker), "the script ran with a good plugin")


def interrupt(script_args, signals=1, settle=0.3):
    """Starts `lundi run loop.lua ...`, waits for "started", sends SIGINT; returns rc, err, marker."""
    with tempfile.TemporaryDirectory() as d:
        marker = os.path.join(d, "closed")
        p = subprocess.Popen([LUNDI, "run", "loop.lua", f"--marker={marker}", *script_args],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        line = p.stdout.readline()
        check(line == "started\n", "the looping script started", line + p.stderr.read() if line != "started\n" else "")
        time.sleep(settle)
        for i in range(signals):
            p.send_signal(signal.SIGINT)
            time.sleep(0.3)
        try:
            out, err = p.communicate(timeout=15)
        except subprocess.TimeoutExpired:
            p.kill()
            out, err = p.communicate()
            check(False, "lundi did not stop after Ctrl-C")
        sanitized(err)
        closed = open(marker).read() if os.path.exists(marker) else None
        return p.returncode, err, closed


def case_run_interrupt():
    rc, err, closed = interrupt([])
    check(rc == 130, f"exit status after Ctrl-C is 130 (got {rc})", err)
    check(re.fullmatch(r"lundi: interrupted at loop\.lua:\d+\n", err), "interrupted message", err)
    check(closed and re.fullmatch(r"closed: interrupted at loop\.lua:\d+", closed),
          f"__close ran with the interruption (marker {closed!r})")


def case_run_interrupt_tensors():
    rc, err, closed = interrupt(["--tensors"])
    check(rc == 130, f"exit status after Ctrl-C in tensor work is 130 (got {rc})", err)
    check(err.startswith("lundi: interrupted"), "interrupted message", err)
    check(closed and closed.startswith("closed: interrupted"), f"__close ran (marker {closed!r})")


def case_second_interrupt_kills():
    # The script swallows the first interruption with pcall; the second Ctrl-C kills at once.
    rc, err, closed = interrupt(["--swallow"], signals=2)
    check(rc == -signal.SIGINT, f"killed by SIGINT after the second Ctrl-C (got {rc})", err)
    check(closed is None, "no clean-up after a forced kill")


def plugin_block(out):
    m = re.search(r"^sampler cli_test .*?(?:\n\n|\Z)", out, re.M | re.S)
    return m.group(0).rstrip("\n") if m else None


CLI_TEST_BLOCK = (
    "sampler cli_test 1.2.3 \u2014 a sampler for the cli tests ({path})\n"
    "  steps           int     50     [1, 1000]   number of sampling steps\n"
    "  guidance_scale  float   7.5                classifier-free guidance weight\n"
    "  clip            bool    false              clip the result to [-1, 1]\n"
    "  tag             string  \"\"\n"
    "  mode            choice  fast   fast|exact  speed or accuracy")


def case_plugins_list():
    _, out, _ = expect(["--plugin", PLUGIN, "plugins"], 0, err="")
    check(plugin_block(out) == CLI_TEST_BLOCK.format(path=PLUGIN), "the test plugin's listing",
          f"got:\n{plugin_block(out)}\nwant:\n{CLI_TEST_BLOCK.format(path=PLUGIN)}")
    # every block: a header line, then two-space-indented parameter rows; blocks by kind
    kinds = ["scheduler", "denoiser", "conditioner", "sampler"]
    order = []
    for block in out.strip("\n").split("\n\n"):
        head, *rows = block.split("\n")
        m = re.fullmatch(r"(\w+) [a-z0-9_.-]+ \S+ \u2014 .* \((.+)\)", head)
        check(m and m.group(1) in kinds, f"plugin header format: {head!r}")
        if m:
            order.append(kinds.index(m.group(1)))
        for r in rows:  # a parameter, or a long range / choice list on a line of its own
            check(re.match(r"  [a-z_][a-z0-9_]* +(int|float|bool|string|choice) +\S", r)
                  or re.fullmatch(r" {8,}\S+", r), f"parameter row: {r!r}")
    check(order == sorted(order), "plugins are grouped by kind", out)
    # without --plugin it is absent; with LUNDI_PLUGIN_PATH it is there
    _, out2, _ = expect(["plugins"], 0, err="")
    check(plugin_block(out2) is None, "the test plugin only appears when loaded", out2)
    with tempfile.TemporaryDirectory() as d:
        os.symlink(PLUGIN, os.path.join(d, "cli_test.so"))
        _, out3, _ = expect(["plugins"], 0, env={"LUNDI_PLUGIN_PATH": d})
    check(plugin_block(out3) == CLI_TEST_BLOCK.format(path=os.path.join(d, "cli_test.so")),
          "LUNDI_PLUGIN_PATH loads the plugin", out3)
    # the same file given twice is loaded once (issue 13: it used to be a fatal duplicate)
    _, out4, _ = expect(["--plugin", PLUGIN, "--plugin", PLUGIN, "plugins"], 0, err="")
    check(out4.count("sampler cli_test ") == 1, "listed once", out4)


def case_plugin_path_lenient():
    with tempfile.TemporaryDirectory() as d:
        os.symlink(PLUGIN, os.path.join(d, "a_good.so"))
        os.symlink(NOT_PLUGIN, os.path.join(d, "b_bad.so"))
        env = {"LUNDI_PLUGIN_PATH": f"/nonexistent/lundi:{d}"}
        rc, out, err = expect(["plugins", "sampler"], 0, env=env)
        lines = err.splitlines()
        check(len(lines) == 2 and lines[0].startswith("lundi: warning: LUNDI_PLUGIN_PATH: cannot open plugin "
              "directory '/nonexistent/lundi'") and lines[0].endswith("(skipped)")
              and "b_bad.so is not a lundi plugin" in lines[1], "one warning per bad entry", err)
        check("cli_test" in out and "image" in out, "the good file and the built-ins are listed", out)
        # the same file in the path and in --plugin is loaded once
        _, out, err = expect(["--plugin", PLUGIN, "plugins", "sampler"], 0, env={"LUNDI_PLUGIN_PATH": d})
        check("already registered" not in err and out.count("sampler cli_test ") == 1, "listed once", out + err)
        expect(["--plugin", os.path.join(d, "a_good.so"), "run", "--no-record", "ok.lua"], 0,
               env={"LUNDI_PLUGIN_PATH": d})
        # an explicit --plugin that is bad stays an error
        expect(["--plugin", NOT_PLUGIN, "plugins"], 1, err=re.compile("is not a lundi plugin"))


def case_lua_plugin_file():
    plugin = os.path.abspath("lua_file_plugin.lua")
    _, out, _ = expect(["--plugin", plugin, "plugins", "scheduler"], 0, err="")
    check(re.search(r"^scheduler lua_file_sched 0\.2 .* \(" + re.escape(plugin) + r":2\)$", out, re.M)
          and re.search(r"^  scale +float +0\.5 ", out, re.M), "lundi plugins shows a Lua plugin's schema", out)
    expect(["--plugin", plugin, "run", "--no-record", "uses_lua_file_plugin.lua"], 0, out="steps 3 t0 9 x 0.75\n", err="")
    with tempfile.TemporaryDirectory() as d:
        os.symlink(plugin, os.path.join(d, "a.lua"))
        with open(os.path.join(d, "b_broken.lua"), "w") as f:
            f.write(open("broken_plugin.lua.txt").read())
        env = {"LUNDI_PLUGIN_PATH": d}
        _, out, err = expect(["plugins", "scheduler"], 0, env=env)
        check("scheduler lua_file_sched " in out, "a .lua file on LUNDI_PLUGIN_PATH is loaded", out)
        check(re.fullmatch(r"lundi: warning: plugin \S+b_broken\.lua failed to load \(nothing registered from it\): "
                           r"\S+b_broken\.lua:2: .*\(skipped\)\n", err, re.S), "a broken one is named and skipped", err)
        expect(["--plugin", plugin, "plugins"], 0, env=env)  # the same file twice: loaded once
        expect(["--plugin", os.path.join(d, "b_broken.lua"), "plugins"], 1,
               err=re.compile(r"^lundi: plugin \S+b_broken\.lua failed to load .*b_broken\.lua:2: "))


def case_plugins_kind():
    _, out, _ = expect(["plugins", "sampler", "--plugin", PLUGIN], 0, err="")
    check(plugin_block(out) is not None, "plugins sampler lists the sampler", out)
    check(all(l.startswith(("sampler ", "  ")) for l in out.splitlines() if l),
          "plugins sampler lists only samplers", out)
    _, out, _ = expect(["--plugin", PLUGIN, "plugins", "samplers"], 0)
    check(plugin_block(out) is not None, "the plural works too", out)
    _, out, _ = expect(["--plugin", PLUGIN, "plugins", "scheduler"], 0)
    check(plugin_block(out) is None and all(l.startswith(("scheduler ", "  ", "no scheduler plugins")) for l in out.splitlines() if l),
          "plugins scheduler lists only schedulers", out)
    expect(["plugins", "bogus"], 2, out="",
           err="lundi: unknown plugin kind 'bogus' (valid kinds: scheduler, denoiser, conditioner, sampler)\n"
               "run 'lundi help plugins' for usage\n")
    expect(["plugins", "samplr"], 2,
           err=re.compile(r"^lundi: unknown plugin kind 'samplr' \(did you mean 'sampler'\? valid kinds: "))
    expect(["plugins", "sampler", "denoiser"], 2, err=re.compile(r"one KIND at most"))
    expect(["plugins", "--format=xml"], 2, err=re.compile(r"invalid --format 'xml' \(expected text or json\)"))


def case_plugins_json():
    _, out, _ = expect(["--plugin", PLUGIN, "plugins", "--format", "json"], 0, err="")
    data = json.loads(out)
    mine = [p for p in data if p["name"] == "cli_test"]
    check(len(mine) == 1, "the test plugin is in the JSON", out)
    if mine:
        p = mine[0]
        check(p["kind"] == "sampler" and p["version"] == "1.2.3" and p["origin"] == PLUGIN, "JSON header fields", str(p))
        params = {q["name"]: q for q in p["params"]}
        check(params["steps"]["default"] == 50 and params["steps"]["min"] == 1 and params["steps"]["max"] == 1000, "int param", str(params["steps"]))
        check(params["guidance_scale"]["default"] == 7.5 and "min" not in params["guidance_scale"], "float param")
        check(params["clip"]["default"] is False, "bool default is a JSON boolean")
        check(params["tag"]["default"] == "" and params["tag"]["help"] == "", "string param")
        check(params["mode"]["choices"] == ["fast", "exact"], "choices are a list")
    for q in data:
        check(set(q) == {"kind", "name", "version", "description", "origin", "params"}, f"fields of {q.get('name')}")


def case_devices():
    _, out, _ = expect(["devices"], 0, err="")
    lines = out.splitlines()
    check(re.fullmatch(r"cpu +\d+ threads", lines[0]), "the CPU line", out)
    check(re.search(r"^vulkan(:\d+ +\S| +none: \S)", out, re.M), "a Vulkan line (devices or why none)", out)
    check(re.search(r"^default: (cpu|vulkan:\d+)", out, re.M), "the default device", out)
    _, out, _ = expect(["--device", "cpu", "devices"], 0)
    check("default: cpu\n" in out, "--device cpu is the default", out)


def case_run_device():
    no_driver = {"VK_ICD_FILENAMES": "/nonexistent/icd.json", "LUNDI_DEVICE": ""}
    _, out, err = expect(["run", "device.lua"], 0, env=no_driver)
    check(out == "device cpu cpu\n", "no driver: the script runs on the CPU", out)
    notes = [l for l in err.splitlines() if "Vulkan not used" in l]
    check(len(notes) == 1 and "running on the CPU" in notes[0] and "driver" in notes[0],
          "no driver: one line says why Vulkan was not used", err)
    expect(["run", "--quiet", "device.lua"], 0, err="", env=no_driver)
    expect(["run", "--device", "vulkan", "device.lua"], 2,
           err=re.compile(r"^lundi: --device vulkan: Vulkan is not available: .*\(see 'lundi devices'\)\nrun 'lundi help run' for usage\n$"), env=no_driver)
    expect(["run", "device.lua"], 2, env={**no_driver, "LUNDI_DEVICE": "vulkan"},
           err=re.compile(r"^lundi: LUNDI_DEVICE=vulkan: Vulkan is not available: "))
    _, out, _ = expect(["run", "--device", "cpu", "device.lua"], 0, err="")
    check(out == "device cpu cpu\n", "--device cpu", out)
    _, dev_out, _ = lundi("devices")
    if "vulkan:0" in dev_out:
        _, out, _ = expect(["run", "--device", "vulkan", "device.lua"], 0, err="")
        check(re.fullmatch(r"device (vulkan:\d+) \1\n", out), "--device vulkan: the default device and tensors", out)
        _, out, _ = expect(["run", "--device", "vulkan:0", "device.lua"], 0, env={"LUNDI_DEVICE": "cpu"})
        check(out == "device vulkan:0 vulkan:0\n", "--device wins over LUNDI_DEVICE", out)
        expect(["run", "--device", "vulkan:9", "device.lua"], 2,
               err=re.compile(r"^lundi: --device vulkan:9: no such device; \d+ Vulkan devices? found"))


PLAIN_LINE = re.compile(r"train (\d+)/20 \((\d+)%\) [\d.?]+ (it/s|s/it) \d+s( eta \S+)? loss 0\.\d+ lr 0\.0001")


def case_progress_plain():
    env = {"LUNDI_PROGRESS_INTERVAL": "0.05"}
    _, out, err = expect(["run", "progress.lua", "--steps=20", "--step_ms=10"], 0, out="", env=env)
    lines = err.splitlines()
    check(3 <= len(lines) <= 21, f"periodic lines every 0.05 s over ~0.2 s (got {len(lines)})", err)
    steps = []
    for l in lines:
        m = PLAIN_LINE.fullmatch(l)
        check(m, f"plain progress line format: {l!r}")
        if m:
            steps.append(int(m.group(1)))
            check(int(m.group(2)) == int(m.group(1)) * 100 // 20, f"percentage of {l!r}")
    check(steps == sorted(steps), "steps increase", err)
    check(lines and lines[-1].startswith("train 20/20 (100%)") and " eta " not in lines[-1],
          "the final line has 20/20 and no ETA", err)
    check(all(" eta " in l for l in lines[:-1]), "the periodic lines have an ETA", err)
    check("\r" not in err, "no carriage returns off a terminal", repr(err))
    # the default interval (10 s) prints only the final line in a short run
    _, _, err = expect(["run", "progress.lua", "--steps=5", "--step_ms=1"], 0)
    check(len(err.splitlines()) == 1 and err.startswith("train 5/5 (100%)"), "only the final line", err)


def case_progress_quiet():
    env = {"LUNDI_PROGRESS_INTERVAL": "0"}
    expect(["--quiet", "run", "progress.lua", "--steps=5", "--step_ms=1"], 0, out="", err="", env=env)
    expect(["run", "-q", "progress.lua", "--steps=5", "--step_ms=1"], 0, out="", err="", env=env)
    expect(["run", "progress.lua", "--steps=5", "--step_ms=1"], 0, out="", err="",
           env={"LUNDI_PROGRESS": "0", "LUNDI_PROGRESS_INTERVAL": "0"})


def case_progress_lua():
    expect(["run", "progress_api.lua"], 0, out="ok\n", err="", env={"LUNDI_PROGRESS": "0"})
    # extra tables: keys sorted, floats with %.4g, integers in full, strings and booleans as is
    expect(["run", "progress_extra.lua"], 0, out="",
           err=re.compile(r"^fmt 2/4 \(50%\) [\d.?]+ (it/s|s/it) \d+s big 1\.235e\+08 loss 0\.04123 "
                          r"lr 0\.0001 n 7 ok true phase warmup\n$"))


def case_progress_tty():
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 72, 0, 0))
    e = dict(os.environ)
    e.pop("LUNDI_PROGRESS", None)
    start = time.time()
    p = subprocess.Popen([LUNDI, "run", "progress.lua", "--steps=30", "--step_ms=15"],
                         stdin=slave, stdout=slave, stderr=slave, env=e, close_fds=True)
    os.close(slave)
    data = b""
    deadline = time.time() + 20
    while time.time() < deadline:
        r, _, _ = select.select([master], [], [], 0.5)
        if r:
            try:
                chunk = os.read(master, 4096)
            except OSError:
                break
            if not chunk:
                break
            data += chunk
        elif p.poll() is not None:
            break
    p.wait(timeout=10)
    wall = time.time() - start
    os.close(master)
    text = data.decode("utf-8", "replace").replace("\r\n", "\n")
    sanitized(text)
    check(p.returncode == 0, f"exit 0 on a terminal (got {p.returncode})", text)
    draws = [d for d in text.split("\r") if d]
    check(len(draws) >= 3, f"the bar is redrawn in place with \\r (got {len(draws)} draws)", repr(text))
    check(len(draws) <= wall * 10 + 2, f"at most ~10 redraws a second (got {len(draws)} in {wall:.2f} s)", repr(text))
    widths = {len(m.group(0)) for m in re.finditer(r"\[[=> ]*\]", text)}
    check(len(widths) == 1, f"the bar keeps its width (got {sorted(widths)})", repr(text))
    check(text.endswith("\n") and text.count("\n") == 1, "one line, ended by a newline at finish", repr(text))
    for d in draws:
        line = d.rstrip("\n")
        check(len(line) <= 71, f"a draw fits 72 columns: {line!r}")
    final = draws[-1].rstrip("\n").rstrip()
    check(re.fullmatch(r"train 30/30 \[=+\] 100% [\d.]+ it/s \d+s loss 0\.025 lr 0\.0001", final), f"final bar: {final!r}")
    check(any(re.match(r"train \d+/30 \[=*>? *\] +\d+% ", d) for d in draws[:-1]), "intermediate bars", repr(text))

# ---- rerun reproduces a run: its directory, its plugin files, its recorded script ----

def lundi_in(cwd, *args, env=None, rc=None):
    """lundi run in cwd; checks rc when given; returns (rc, stdout, stderr)."""
    e = dict(os.environ)
    e.pop("LUNDI_PROGRESS", None)
    e.pop("LUNDI_PLUGIN_PATH", None)
    e.update(env or {})
    r = subprocess.run([LUNDI, *args], capture_output=True, text=True, env=e, cwd=cwd, timeout=60)
    sanitized(r.stderr)
    shown = f"$ (cd {cwd}; lundi {' '.join(args)})\nrc {r.returncode}\n--- stdout\n{r.stdout}--- stderr\n{r.stderr}"
    if rc is not None:
        check(r.returncode == rc, f"lundi {' '.join(args)}: exit {r.returncode}, expected {rc}", shown)
    return r.returncode, r.stdout, r.stderr


def sha256_of(path):
    import hashlib
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def runs_json(cwd, db, cols):
    _, out, _ = lundi_in(cwd, "--db", db, "runs", "--order-by", "id", "--format", "json", "--columns", cols, rc=0)
    return json.loads(out)


def write(path, text):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        f.write(text)


def case_rerun_plugin_files():
    with tempfile.TemporaryDirectory() as d:
        d = os.path.realpath(d)
        work, other, db = os.path.join(d, "work"), os.path.join(d, "other"), os.path.join(d, "runs.db")
        os.makedirs(other)
        so = os.path.join(work, "x.so")
        os.makedirs(work)
        with open(PLUGIN, "rb") as f, open(so, "wb") as g:
            g.write(f.read())
        write(os.path.join(work, "p.lua"), 'local s = lundi.sampler("cli_test")\nprint("made " .. s.name)\n')
        lundi_in(work, "--db", db, "--plugin", "./x.so", "run", "p.lua", rc=0)
        want = sha256_of(so)
        _, out, _ = lundi_in(other, "--db", db, "show", "1", rc=0)
        check(re.search(r"^  plugin  " + re.escape(so) + "  sha256 " + want + "$", out, re.M),
              "show lists the --plugin file by absolute path and sha256", out)
        check(re.search(r"^cwd +" + re.escape(work) + "$", out, re.M), "show has the working directory", out)
        # from another directory, without --plugin: the recorded file is loaded again
        rc, out, err = lundi_in(other, "--db", db, "rerun", "1", rc=0)
        check(out == "made cli_test\n", "the rerun loads the recorded plugin file", out + err)
        # a changed file: refused, naming it and both hashes; --allow-changed warns and goes on
        with open(so, "ab") as f:
            f.write(b"\0")
        now = sha256_of(so)
        rc, out, err = lundi_in(other, "--db", db, "rerun", "1", rc=1)
        check(out == "" and f"plugin file {so} changed since run 1: recorded sha256 {want}, now {now}" in err,
              "a changed plugin file is refused with both hashes", err)
        check("--allow-changed" in err, "the refusal names --allow-changed", err)
        rc, out, err = lundi_in(other, "--db", db, "rerun", "1", "--allow-changed", rc=0)
        check(out == "made cli_test\n" and f"lundi: warning: plugin file {so} changed since run 1" in err,
              "--allow-changed warns and reruns", out + err)
        n_runs = len(runs_json(other, db, "id"))
        os.remove(so)
        rc, out, err = lundi_in(other, "--db", db, "rerun", "1", rc=1)
        check(f"plugin file {so} of run 1 is gone" in err and want in err, "a gone plugin file is refused", err)
        check(len(runs_json(other, db, "id")) == n_runs, "a refused rerun records no run")
        # a plugin found on LUNDI_PLUGIN_PATH is recorded as such and reloaded without it
        pdir = os.path.join(d, "plugins")
        os.makedirs(pdir)
        os.symlink(PLUGIN, os.path.join(pdir, "cli_test.so"))
        lundi_in(work, "--db", db, "run", "p.lua", env={"LUNDI_PLUGIN_PATH": pdir}, rc=0)
        _, out, _ = lundi_in(other, "--db", db, "show", "last", rc=0)
        check(re.search(r"^  path    " + re.escape(os.path.realpath(PLUGIN)) + "  sha256 " + sha256_of(PLUGIN) + "$",
                        out, re.M), "a LUNDI_PLUGIN_PATH file is recorded (resolved)", out)
        rc, out, err = lundi_in(other, "--db", db, "rerun", "last", rc=0)
        check(out == "made cli_test\n", "rerun reloads a LUNDI_PLUGIN_PATH file without the variable", out + err)


def case_rerun_edited_script():
    with tempfile.TemporaryDirectory() as d:
        d = os.path.realpath(d)
        work, other, db = os.path.join(d, "work"), os.path.join(d, "other"), os.path.join(d, "runs.db")
        os.makedirs(other)
        script = os.path.join(work, "scripts", "ex", "s.lua")
        # beside the script's folder (found from its own location), and in the working directory
        write(os.path.join(work, "lib", "near.lua"), 'return "near"\n')
        write(os.path.join(work, "data.lua"), 'return "data"\n')
        write(os.path.join(work, "scripts", "ex", "mod.lua"), 'return "mod"\n')
        write(script, 'local here = debug.getinfo(1, "S").source:match("^@(.*[/\\\\])") or "./"\n'
                      'package.path = here .. "?.lua;" .. package.path\n'
                      'print(dofile(here .. "../../lib/near.lua"), dofile("data.lua"), require("mod"),'
                      ' arg[0] == params.want, params.v)\n')
        lundi_in(work, "--db", db, "run", script, f"--want={script}", "--v=1", rc=0)
        _, out, _ = lundi_in(other, "--db", db, "show", "1", rc=0)
        for rel in ("lib/near.lua", "data.lua", "scripts/ex/mod.lua"):
            f = os.path.join(work, rel)
            check(re.search(r"^  lua     " + re.escape(f) + "  sha256 " + sha256_of(f) + "$", out, re.M),
                  f"show lists {rel} (dofile, require) with its sha256", out)
        rc, out, err = lundi_in(other, "--db", db, "rerun", "1", rc=0)
        check(out == "near\tdata\tmod\ttrue\t1\n", "an unchanged script reruns from the run's directory", out + err)
        with open(script, "a") as f:
            f.write('print("edited")\n')
        rc, out, err = lundi_in(other, "--db", db, "rerun", "1", rc=0)
        check(out == "near\tdata\tmod\ttrue\t1\n", "the recorded text runs from the script's folder and the "
              "run's directory", out + err)
        check(f"{script} changed since run 1; running the recorded text" in err, "says it ran the recorded text", err)
        runs = runs_json(other, db, "id,script,tags.rerun_script,tags.rerun_of,uuid")
        check(runs[1]["tags.rerun_script"] == "file", "an unchanged script is tagged rerun_script=file", str(runs))
        check(runs[2]["script"] == script, "the new run records the original script path", str(runs))
        check(runs[2]["tags.rerun_script"] == "recorded_text" and runs[2]["tags.rerun_of"] == runs[0]["uuid"],
              "tagged rerun_script=recorded_text", str(runs))
        check(not [n for n in os.listdir(os.path.dirname(script)) if n.startswith(".")], "nothing left beside the script")
        # a Lua file the script loaded changed: refused like a plugin file
        near = os.path.join(work, "lib", "near.lua")
        old = sha256_of(near)
        write(near, 'return "NEAR"\n')
        rc, out, err = lundi_in(other, "--db", db, "rerun", "1", rc=1)
        check(f"lua file {near} changed since run 1: recorded sha256 {old}, now {sha256_of(near)}" in err,
              "a changed dofile'd file is refused", err)
        rc, out, err = lundi_in(other, "--db", db, "rerun", "--allow-changed", "1", rc=0)
        check(out.startswith("NEAR\t"), "--allow-changed before the run", out + err)


def case_export_plugin_files():
    with tempfile.TemporaryDirectory() as d:
        d = os.path.realpath(d)
        work, db = os.path.join(d, "work"), os.path.join(d, "runs.db")
        write(os.path.join(work, "lib.lua"), 'return 1\n')
        write(os.path.join(work, "p.lua"), 'dofile("lib.lua")\nlundi.sampler("cli_test")\n')
        lundi_in(work, "--db", db, "--plugin", PLUGIN, "run", "p.lua", rc=0)
        out_dir = os.path.join(d, "exp")
        _, out, err = lundi_in(work, "--db", db, "export", "last", out_dir, rc=0)
        check("2 of 2 loaded files in plugins/" in out, "export says what it copied", out + err)
        with open(os.path.join(out_dir, "manifest.json")) as f:
            m = json.load(f)
        files = m.get("plugin_files", [])
        want = [{"path": os.path.realpath(PLUGIN), "sha256": sha256_of(PLUGIN), "role": "plugin",
                 "file": "plugins/" + os.path.basename(PLUGIN)},
                {"path": os.path.join(work, "lib.lua"), "sha256": sha256_of(os.path.join(work, "lib.lua")),
                 "role": "lua", "file": "plugins/lib.lua"}]
        check(files == want, "manifest plugin_files", json.dumps(files, indent=1))
        check(m["run"].get("cwd") == work, "manifest has the working directory", json.dumps(m["run"]))
        for w in want:
            copy = os.path.join(out_dir, w["file"])
            check(os.path.exists(copy) and sha256_of(copy) == w["sha256"], f"{w['file']} copied with its bytes")
        write(os.path.join(work, "lib.lua"), 'return 2\n')
        out_dir2 = os.path.join(d, "exp2")
        _, out, err = lundi_in(work, "--db", db, "export", "last", out_dir2, rc=0)
        check("1 of 2 loaded files" in out and "lib.lua was not copied: it changed since the run" in err,
              "a changed file is not copied, with a warning", out + err)
        with open(os.path.join(out_dir2, "manifest.json")) as f:
            lib = json.load(f)["plugin_files"][1]
        check(lib["file"] is None and lib["not_copied"] == "the file changed since the run" and
              lib["sha256_now"] == sha256_of(os.path.join(work, "lib.lua")), "the manifest says why", str(lib))
        check(not os.path.exists(os.path.join(out_dir2, "plugins", "lib.lua")), "the changed file is not copied")


if __name__ == "__main__":
    fn = globals().get("case_" + CASE)
    if not fn:
        print(f"unknown case {CASE}", file=sys.stderr)
        sys.exit(2)
    fn()
    if failures:
        print(f"{CASE}: {failures} check(s) failed", file=sys.stderr)
        sys.exit(1)
    print(f"{CASE}: ok")
