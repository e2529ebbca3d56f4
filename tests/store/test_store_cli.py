#!/usr/bin/env python3
"""`lundi run` recording in the store: what is recorded, how runs end, and the refusal to
start on a store that cannot record.

usage: test_store_cli.py LUNDI CASE   (working directory: tests/store/scripts)"""
import hashlib
import json
import os
import re
import signal
import sqlite3
import struct
import subprocess
import sys
import tempfile
import time

LUNDI = os.path.abspath(sys.argv[1])
CASE = sys.argv[2]
failures = 0
TMP = tempfile.TemporaryDirectory(prefix="lundi-store-cli-")
DB = os.path.join(TMP.name, "lundi.db")


def check(cond, what, detail=""):
    global failures
    if not cond:
        failures += 1
        print(f"FAILED: {what}" + (f"\n{detail}" if detail else ""), file=sys.stderr)


def env(extra=None):
    e = dict(os.environ)
    for k in ("LUNDI_PROGRESS", "LUNDI_PLUGIN_PATH", "LUNDI_DEVICE"):
        e.pop(k, None)
    e["LUNDI_DB"] = DB
    e.update(extra or {})
    return e


def lundi(*args, extra_env=None, timeout=60):
    r = subprocess.run([LUNDI, *args], capture_output=True, text=True, env=env(extra_env), timeout=timeout)
    check(not re.search(r"Sanitizer|runtime error:", r.stderr), "a sanitizer report", r.stderr)
    return r.returncode, r.stdout, r.stderr


def q(sql, *args, db=DB):
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        return con.execute(sql, args).fetchall()
    finally:
        con.close()


def sha_file(p):
    with open(p, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def png_texts(data):
    out, i = {}, 8
    check(data[:8] == b"\x89PNG\r\n\x1a\n", "a PNG signature")
    while i < len(data):
        n, = struct.unpack(">I", data[i:i + 4])
        kind = data[i + 4:i + 8]
        if kind == b"tEXt":
            k, v = data[i + 8:i + 8 + n].split(b"\0", 1)
            out[k.decode()] = v.decode("latin-1")
        i += 12 + n
    return out


def case_records_finished():
    rc, out, err = lundi("run", "record.lua", "--steps=50", "--lr=1e-4", "--flag", "--off=false",
                         "--name=trial", "--seed=7", "--text=12abc")
    check(rc == 0 and out.startswith("ok "), "record.lua ran", out + err)
    uuid = out.split()[1]
    (rid, name, status, msg, seed, device, path, sha, text, pid, host), = q(
        "SELECT id, name, status, exit_message, seed, device, script_path, script_sha256,"
        " script_text, pid, host FROM runs WHERE uuid = ?", uuid)
    check((name, status, msg, seed, device) == ("trial", "finished", None, 7, "cpu"),
          "the run row", repr((name, status, msg, seed, device)))
    check(path == os.path.abspath("record.lua"), "the script path", path)
    check(sha == sha_file("record.lua"), "the script sha256")
    check(text == open("record.lua").read(), "the script text")
    params = dict((k, (v, t)) for k, v, t in q("SELECT key, value, type FROM params WHERE run_id = ?", rid))
    want = {"steps": ("50", "int"), "lr": ("1e-4", "float"), "flag": ("true", "bool"),
            "off": ("false", "bool"), "name": ("trial", "string"), "seed": ("7", "int"),
            "text": ("12abc", "string"), "from_lua": ("2.5", "float")}
    check(params == want, "params with their types", repr(params))
    check(q("SELECT count(*) FROM metrics WHERE run_id = ? AND key = 'loss'", rid) == [(11,)], "11 loss values")
    check(q("SELECT step FROM metrics WHERE key = 'acc'") == [(101,)], "the default step continues")
    check(q("SELECT last_step, last_value, min_value FROM metric_summary WHERE key = 'loss'") == [(100, 0.01, 0.01)],
          "the loss summary")
    check(q("SELECT value FROM tags WHERE key = 'model'") == [("unet",)], "the tag")
    plugins = q("SELECT kind, name, version, params, origin FROM plugins_used WHERE run_id = ? ORDER BY rowid", rid)
    check(len(plugins) == 2, "two distinct plugin instances recorded", repr(plugins))
    if len(plugins) == 2:
        check(plugins[0][:3] == ("scheduler", "ddpm", "1.0.0") and plugins[0][4] == "builtin", "plugin row", repr(plugins[0]))
        check(json.loads(plugins[0][3])["num_train_timesteps"] == 1000, "default params as JSON")
        check(json.loads(plugins[1][3])["num_train_timesteps"] == 500, "given params as JSON")
    outs = {r[0]: r[1:] for r in q("SELECT name, kind, mime, size, sha256, data, metadata FROM outputs WHERE run_id = ?", rid)}
    check(set(outs) == {"samples", "lin", "traj", "note"}, "outputs", repr(set(outs)))
    kind, mime, size, sha, png, meta = outs["samples"]
    check((kind, mime, size) == ("image", "image/png", len(png)), "the image row")
    check(sha == hashlib.sha256(png).hexdigest(), "the image sha256")
    texts = png_texts(png)
    check(texts.get("parameters") == "Steps: 50, Sampler: ddim, CFG scale: 7.5, Seed: 42, Size: 8x8, Model hash: 1a2b3c4d",
          "the parameters chunk", repr(texts))
    check(json.loads(texts.get("lundi", "{}")) == {"run": uuid, "output": "samples"}, "the lundi chunk", repr(texts))
    m = json.loads(meta)
    check((m["width"], m["height"], m["images"]) == (2 * 8 + 3 * 2, 2 * 8 + 3 * 2, 4), "image metadata", meta)
    kind, mime, size, sha, st, meta = outs["lin"]
    check((kind, mime) == ("checkpoint", "application/x-safetensors"), "the checkpoint row")
    n, = struct.unpack("<Q", st[:8])
    header = json.loads(st[8:8 + n])
    check(header["weight"]["shape"] == [2, 3] and header["bias"]["shape"] == [2], "checkpoint tensors", repr(header))
    kind, mime, size, sha, st, meta = outs["traj"]
    n, = struct.unpack("<Q", st[:8])
    header = json.loads(st[8:8 + n])
    check(kind == "trajectory" and header["x.0"]["shape"] == [4, 1, 8, 8] and "x.1" in header, "trajectory tensors", repr(header))
    check(outs["note"][0] == "text" and outs["note"][4] == b"hello", "the text output")
    check(not [f for f in os.listdir(TMP.name) if ".tmp" in f], "no temporary files left", repr(os.listdir(TMP.name)))


def case_seed_and_float_display():
    with tempfile.TemporaryDirectory() as d:
        none, own = os.path.join(d, "noseed.lua"), os.path.join(d, "ownseed.lua")
        open(none, "w").write("print('ok')\n")
        open(own, "w").write("local r = lundi.current_run()\nr:param('seed', 42)\nr:param('ema_decay', 0.99)\n")
        for script in (none, own):
            rc, out, err = lundi("run", script)
            check(rc == 0, f"{script} ran", out + err)
    check(q("SELECT name, seed FROM runs WHERE name IN ('noseed', 'ownseed') ORDER BY id") ==
          [("noseed", None), ("ownseed", 42)], "no seed is NULL; the script's seed param is the run's seed",
          repr(q("SELECT name, seed FROM runs")))
    rc, out, err = lundi("show", "noseed")
    check(rc == 0 and not re.search(r", seed \d", out), "show prints no seed for a run without one", out + err)
    rc, out, err = lundi("show", "ownseed")
    check(rc == 0 and ", seed 42" in out and re.search(r"^  ema_decay +0\.99$", out, re.M), "seed 42, ema_decay 0.99",
          out + err)


def case_records_failed():
    rc, out, err = lundi("run", "record.lua", "--fail=now")
    check(rc == 1, "exit 1", err)
    (status, msg), = q("SELECT status, exit_message FROM runs")
    check(status == "failed", "status failed", status)
    check(msg.startswith("record.lua:18: boom now\nstack traceback:\n") and msg.endswith("record.lua:18: in main chunk"),
          "the error with the first Lua frame of its traceback", msg)
    check(q("SELECT count(*) FROM metrics") == [(22,)], "metrics flushed at the end")
    # A script that cannot be loaded is not recorded (nothing ran).
    rc, out, err = lundi("run", "no_such.lua")
    check(rc == 1 and q("SELECT count(*) FROM runs") == [(1,)], "no run for a missing script", err)


def case_records_interrupted():
    p = subprocess.Popen([LUNDI, "run", "interrupt.lua"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         text=True, env=env())
    line = p.stdout.readline()
    check(line == "started\n", "the script started", line)
    time.sleep(0.2)
    p.send_signal(signal.SIGINT)
    out, err = p.communicate(timeout=30)
    check(p.returncode == 130, "exit 130", err)
    (status, msg), = q("SELECT status, exit_message FROM runs")
    check(status == "interrupted" and msg.startswith("interrupted at interrupt.lua:"), "status interrupted", f"{status} {msg}")
    check(q("SELECT count(*), sum(value) FROM metrics") == [(100, 5050.0)], "every buffered value flushed at the end")


def case_sigkill_then_reaped():
    p = subprocess.Popen([LUNDI, "run", "kill.lua"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         text=True, env=env())
    flushed = 0
    while flushed < 2000:
        line = p.stdout.readline()
        if not line:
            break
        flushed = int(line)
    check(flushed >= 2000, "the script flushed", p.stderr.read() if flushed < 2000 else "")
    p.kill()
    p.wait()
    check(q("SELECT status FROM runs") == [("running",)], "still 'running' right after SIGKILL")
    # Readers see it crashed before any writer reaps it, and write nothing
    rc, out, err = lundi("runs", "--columns", "name,status", "--format", "csv")
    check(rc == 0 and out == "name,status\nkill,crashed\n", "lundi runs shows it crashed", out + err)
    rc, out, err = lundi("runs", "--where", "status = 'crashed'", "--columns", "name", "--format", "csv")
    check(rc == 0 and out == "name\nkill\n", "--where status = 'crashed' finds it", out + err)
    rc, out, err = lundi("show", "1")
    check(rc == 0 and re.search(r"^status +crashed", out, re.M), "lundi show says crashed", out + err)
    check(q("SELECT status FROM runs") == [("running",)], "reading did not write")
    lundi("run", "--quiet", "marker.lua", f"--marker={os.path.join(TMP.name, 'm')}")  # the next invocation
    (status, msg), = q("SELECT status, exit_message FROM runs WHERE name = 'kill'")
    check(status == "failed" and msg == f"crashed (process {p.pid} is gone)", "reaped as crashed", f"{status} {msg}")
    (n, distinct, top), = q("SELECT count(*), count(DISTINCT step), max(step) FROM metrics WHERE key = 'loss'")
    check(n >= flushed and n == distinct and top == n - 1, f"the flushed metrics are there ({flushed} flushed, {n} present)")


def case_two_runs_at_once():
    procs = [subprocess.Popen([LUNDI, "run", "writer.lua", f"--key={k}", "--n=10000"], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True, env=env()) for k in ("a", "b")]
    for p in procs:
        out, err = p.communicate(timeout=60)
        check(p.returncode == 0 and out == "done\n", "a writer finished", err)
    check(q("SELECT count(*) FROM runs WHERE status = 'finished'") == [(2,)], "two finished runs")
    check(q("SELECT key, count(*), sum(value) FROM metrics GROUP BY key ORDER BY key") ==
          [("a", 10000, 0.5 * 9999 * 10000 / 2), ("b", 10000, 0.5 * 9999 * 10000 / 2)], "all 20,000 values")


def refuse(setup, needle):
    marker = os.path.join(TMP.name, "marker")
    setup()
    before = sha_file(DB)
    rc, out, err = lundi("run", "marker.lua", f"--marker={marker}")
    check(rc == 1, "exit 1", err)
    check(needle in err and DB in err, f"the message names the file and says {needle!r}", err)
    check("the script was not started" in err and "--no-record" in err, "the message says what to do", err)
    check(not os.path.exists(marker), "the script did no work")
    check(sha_file(DB) == before, "the store file is unchanged")
    check(not os.path.exists(DB + "-wal"), "no -wal file was created")
    rc, out, err = lundi("run", "--no-record", "marker.lua", f"--marker={marker}")
    check(rc == 0 and os.path.exists(marker), "--no-record runs the script", err)
    check(sha_file(DB) == before, "--no-record leaves the store alone")
    os.remove(marker)


def case_refuses_corrupt_store():
    def junk():
        with open(DB, "wb") as f:
            f.write(os.urandom(16384))
    refuse(junk, "is not a usable lundi database")


def case_refuses_newer_store():
    def newer():
        lundi("run", "marker.lua", f"--marker={os.path.join(TMP.name, 'x')}")
        con = sqlite3.connect(DB)
        con.execute("PRAGMA user_version = 7")
        con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        con.execute("PRAGMA journal_mode = DELETE")
        con.close()
    refuse(newer, "has schema version 7; this lundi (0.1.0) supports up to 3; upgrade lundi")


def case_plain_lua_runs():
    rc, out, err = lundi("run", "--no-record", "plain_run.lua", f"--db={DB}")
    check(rc == 0 and out == "ok\n", "plain_run.lua", out + err)
    rows = dict((n, (s, m, seed)) for n, s, m, seed in q("SELECT name, status, exit_message, seed FROM runs"))
    check(rows.get("closed") == ("finished", None, 3), "<close> ends finished", repr(rows))
    s, m, _ = rows.get("errored", (None, None, None))
    check(s == "failed" and m and "bad thing" in m, "<close> with an error ends failed", repr(rows))
    check(rows.get("explicit") == ("failed", "by hand", 0), "finish(status, message)", repr(rows))
    check(rows.get("collected") == ("finished", None, 0), "collected: the status of the lundi run", repr(rows))
    check(q("SELECT key, value, type FROM params ORDER BY key") ==
          [("b", "false", "bool"), ("f", "0.5", "float"), ("n", "1", "int"), ("s", "x", "string")], "param types")
    rc, out, err = lundi("run", "--no-record", "plain_run.lua", f"--db={DB}", "--fail")
    check(rc == 1, "a failing script")
    check(q("SELECT status, exit_message FROM runs WHERE name = 'collected' ORDER BY id DESC LIMIT 1") ==
          [("failed", "the script of `lundi run` did not finish")], "collected after a failure")


def case_help_documents_recording():
    rc, out, err = lundi("help", "run")
    check(rc == 0 and "--no-record" in out and "refuses to start" in out, "lundi help run", out)


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
