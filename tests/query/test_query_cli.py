#!/usr/bin/env python3
"""The `lundi runs/show/compare/metrics/export/rerun/sql/gc/which` commands on the query
fixture (fixture.h), checked by parsing what they print.

usage: test_query_cli.py LUNDI QUERY_FIXTURE CASE"""
import csv
import hashlib
import io
import json
import os
import re
import shutil
import struct
import subprocess
import sys
import tempfile
import time

LUNDI, FIXTURE = (os.path.abspath(a) for a in sys.argv[1:3])
CASE = sys.argv[3]
failures = 0
TMP = tempfile.mkdtemp(prefix="lundi-query-cli-")
DB = os.path.join(TMP, "runs.db")


def check(cond, what, detail=""):
    global failures
    if not cond:
        failures += 1
        print(f"FAILED: {what}" + (f"\n{detail}" if detail else ""), file=sys.stderr)


def lundi(*args, rc=0, stdin=None):
    env = dict(os.environ, LUNDI_DB=DB)
    env.pop("LUNDI_PLUGIN_PATH", None)
    r = subprocess.run([LUNDI, *args], capture_output=True, text=True, env=env, timeout=60, input=stdin, cwd=TMP)
    shown = f"$ lundi {' '.join(args)}\nrc {r.returncode}\n--- stdout\n{r.stdout}--- stderr\n{r.stderr}"
    check(not re.search(r"Sanitizer|runtime error:", r.stderr), "a sanitizer report", shown)
    if rc is not None:
        check(r.returncode == rc, f"lundi {' '.join(args)}: exit {r.returncode}, expected {rc}", shown)
    return r.stdout, r.stderr


UUIDS = subprocess.run([FIXTURE, DB], capture_output=True, text=True, check=True).stdout.split()


def sha(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def case_runs_table():
    out, _ = lundi("runs")
    lines = out.splitlines()
    check(lines[0].split() == ["id", "uuid", "name", "status", "start_time", "duration"], "header", out)
    check([l.split()[2] for l in lines[1:]] == ["delta", "gamma", "beta", "alpha"], "newest first", out)
    check(lines[1].split()[1] == UUIDS[3][:8], "short uuid", out)
    out, _ = lundi("runs", "--where", "metrics.loss < 0.05 and params.sampler = 'ddim'", "--order-by", "metrics.loss")
    lines = out.splitlines()
    check(lines[0].split()[-2:] == ["metrics.loss", "params.sampler"], "filter fields become columns", out)
    check([l.split()[2] for l in lines[1:]] == ["gamma", "alpha"], "filtered and ordered", out)
    # every row is as wide as the header's columns say: the status column lines up
    col = lines[0].index("status")
    check(all(l[col:].split()[0] in ("failed", "finished") for l in lines[1:]), "status column aligned", out)
    out, err = lundi("runs", "--where", "name = 'nobody'")
    check(out == "" and err == "no runs match\n", "empty result message, no note when the keys exist", err)
    # keys no run has are named, with the nearest key that exists
    out, err = lundi("runs", "--where", "params.stepz = 20 or metrics.los < 1 or tags.nosuchtag = 'x' or params.steps = 1")
    check(out == "" and err == "no runs match\nnote: no run has params.stepz (did you mean params.steps?)\n"
          "note: no run has metrics.los (did you mean metrics.loss?)\nnote: no run has tags.nosuchtag\n",
          "a note per missing key", err)
    out, _ = lundi("runs", "--limit", "1", "--order-by", "id")
    check(len(out.splitlines()) == 2 and out.splitlines()[1].split()[2] == "alpha", "limit", out)
    out, _ = lundi("runs", "--deleted", "--columns", "name")
    check("gone" in out.split(), "--deleted", out)
    lundi("runs", "--limit", "0", rc=2)
    lundi("runs", "--format", "xml", rc=2)
    lundi("runs", "stray", rc=2)


def case_runs_csv_json():
    out, _ = lundi("runs", "--format", "csv", "--order-by", "id", "--columns", "id,name,params.steps,metrics.loss,tags.note,tags.model")
    rows = list(csv.DictReader(io.StringIO(out)))
    check([r["name"] for r in rows] == ["alpha", "beta", "gamma", "delta"], "csv rows", out)
    check(rows[0]["tags.note"] == "it's" and rows[0]["metrics.loss"] == "0.03", "csv values", out)
    check(rows[3]["tags.model"] == "" and rows[3]["params.steps"] == "50", "csv NULL and string param", out)
    out, _ = lundi("runs", "--format", "csv", "--columns", "tags.`odd key`,name", "--where", "id = 4")
    rows = list(csv.reader(io.StringIO(out)))
    check(rows == [["tags.`odd key`", "name"], ["100%_done", "delta"]], "csv header with a quoted key", out)
    # RFC 4180: a field with a comma, a quote or a newline is quoted, quotes doubled
    out, _ = lundi("sql", "SELECT 'a,b' AS x, 'say \"hi\"' AS y, 'l1' || char(10) || 'l2' AS z", "--format", "csv")
    check(out == 'x,y,z\n"a,b","say ""hi""","l1\nl2"\n', "csv quoting", repr(out))
    check(list(csv.reader(io.StringIO(out)))[1] == ["a,b", 'say "hi"', "l1\nl2"], "csv parses back", out)
    out, _ = lundi("runs", "--format", "json", "--order-by", "id", "--columns", "id,uuid,name,params.steps,params.lr,metrics.loss,tags.model")
    data = json.loads(out)
    check([d["name"] for d in data] == ["alpha", "beta", "gamma", "delta"], "json rows", out)
    check(data[0]["id"] == 1 and data[0]["uuid"] == UUIDS[0] and data[0]["params.steps"] == 50, "json types", out)
    check(data[0]["params.lr"] == 0.001 and data[2]["params.lr"] == "auto", "json param types", out)
    check(data[0]["metrics.loss"] == 0.03 and data[3]["metrics.loss"] is None, "json metric and null", out)
    out, _ = lundi("runs", "--format", "json", "--where", "name = 'nobody'")
    check(json.loads(out) == [], "json empty array", out)


def case_runs_errors():
    _, err = lundi("runs", "--where", "metric.loss < 0.05", rc=2)
    check("lundi: --where: unknown field 'metric.loss' at column 1" in err, "unknown field", err)
    check("\n  metric.loss < 0.05\n  ^\n" in err, "caret under column 1", err)
    _, err = lundi("runs", "--where", "metrics.loss < 0.05 and params.sampler = 'ddim", rc=2)
    check("unterminated string starting at column 42" in err, "unterminated", err)
    check("\n" + " " * 43 + "^\n" in err, "caret under column 42", err)
    _, err = lundi("runs", "--where", "metrics.loss < ", rc=2)
    check("expected a value after '<' at column 16" in err, "missing value", err)
    _, err = lundi("runs", "--order-by", "metrics.loss sideways", rc=2)
    check("lundi: --order-by: expected ASC, DESC or ','" in err, "order-by error", err)
    _, err = lundi("runs", "--columns", "name,nope", rc=2)
    check("lundi: --columns: unknown field 'nope' at column 6" in err, "columns error", err)
    before = sha(DB)
    for attack in ("'; DROP TABLE runs; --", "name = 'x'; DROP TABLE runs; --", "name = ''; DROP TABLE runs; --'"):
        lundi("runs", "--where", attack, rc=2)
    out, _ = lundi("runs", "--where", "params.x = '''; DROP TABLE runs; --'")
    check(out == "", "an attack as a value matches nothing", out)
    check(sha(DB) == before, "the DB is unchanged")
    _, err = lundi("--db", os.path.join(TMP, "none.db"), "runs", rc=1)
    check("none.db does not exist" in err, "missing DB", err)


def case_show():
    out, _ = lundi("show", "1")
    for want in ("run 1  alpha", f"uuid       {UUIDS[0]}", "status     finished", "script     /tmp/scripts/train.lua",
                 "sampler   'ddim'", "steps     50", "model     unet-small", "(in the database)", "runs.db.blobs/",
                 "ddim 1.0  (builtin)"):
        check(want in out, f"show has {want!r}", out)
    check(re.search(r"^  loss +0\.03 +0\.03 +0\.5 +6 ", out, re.M), "loss: last, min, max, count", out)
    check(re.search(r"^sha256     [0-9a-f]{64}$", out, re.M), "script sha256", out)
    out, _ = lundi("show", "gamma")
    check("status     failed: boom" in out, "failed with its message", out)
    out2, _ = lundi("show", UUIDS[2][:6])
    check(out2 == out, "by uuid prefix")
    out, _ = lundi("show", "-1")
    check(out.startswith("run 4  delta"), "-1 is the last", out)
    _, err = lundi("show", "42", rc=1)
    check(f"lundi: no run 42 in {DB}; 'lundi runs' lists them" in err, "no run 42", err)
    lundi("show", rc=2)
    lundi("show", "1", "2", rc=2)
    out, _ = lundi("show", "--help")
    check(out.startswith("usage: lundi show RUN"), "help", out)


def case_compare():
    out, _ = lundi("compare", "1", "2", "3")
    lines = out.splitlines()
    check(lines[0].split() == ["1", "alpha", "2", "beta", "3", "gamma"], "header", out)
    rows = {l[2:].split()[0]: l for l in lines[1:]}
    check(rows["params.sampler"].startswith("* "), "differing row marked", out)
    check(rows["seed"].startswith("  "), "equal row unmarked", out)
    check(re.search(r"0\.01 \(best\)$", rows["metrics.loss"]), "lowest loss is best", out)
    check("0.91 (best)" in rows["metrics.acc"], "highest accuracy is best", out)
    out, _ = lundi("compare", "1", "2", "--diff")
    check("seed" not in out and "params.sampler" in out, "--diff", out)
    out, _ = lundi("compare", "1", "2", "--format", "json")
    data = {d["field"]: d for d in json.loads(out)}
    check(data["metrics.loss"]["best"] == "1 alpha" and data["metrics.loss"]["differs"] == 1, "json best", out)
    check(data["params.cfg"]["differs"] == 0 and data["params.cfg"]["1 alpha"] == 7.5, "json equal row", out)
    _, err = lundi("compare", "1", "77", rc=1)
    check("no run 77" in err, "bad run", err)


def case_metrics():
    out, _ = lundi("metrics", "1", "loss")
    check(out == "0 0.5\n1 0.3\n2 0.2\n3 0.1\n4 0.05\n5 0.03\n", "step value lines", out)
    out, _ = lundi("metrics", "1", "loss", "2")
    check(out.startswith("# run 1 alpha\n0 0.5\n") and "\n\n# run 2 beta\n0 0.4\n" in out, "two runs", out)
    out, _ = lundi("metrics", "1", "loss", "--plot")
    check("\u2588\u2585\u2584\u2582\u2581\u2581" in out, "sparkline", out)
    check("min 0.03 (step 5)  max 0.5 (step 0)  last 0.03 (step 5)  6 values" in out, "min/max/last", out)
    png = os.path.join(TMP, "loss.png")
    out, _ = lundi("metrics", "1", "loss", "2", "3", "--png", png, "--size", "640x400")
    check(out == f"wrote {png} (640x400, 3 runs)\n", "wrote message", out)
    with open(png, "rb") as f:
        data = f.read()
    check(data[:8] == b"\x89PNG\r\n\x1a\n", "PNG signature")
    check(struct.unpack(">II", data[16:24]) == (640, 400), "PNG size")
    _, err = lundi("metrics", "1", "nope", rc=1)
    check("run 1 has no metric 'nope' (it has: acc, loss)" in err, "missing key", err)
    lundi("metrics", "1", rc=2)
    lundi("metrics", "1", "loss", "--size", "9x9", "--png", png, rc=2)


def case_export():
    out_dir = os.path.join(TMP, "exp")
    out, _ = lundi("export", "1", out_dir)
    check(out == f"exported run 1 (alpha) to {out_dir}: 3 outputs, the script, manifest.json\n", "message", out)
    with open(os.path.join(out_dir, "manifest.json")) as f:
        m = json.load(f)
    check(m["run"]["uuid"] == UUIDS[0] and m["params"]["steps"] == 50 and m["params"]["ema"] is True, "manifest run", m)
    check(m["metrics"]["loss"]["last"] == 0.03 and m["metrics"]["loss"]["min"] == 0.03, "manifest metrics", m)
    check(len(m["outputs"]) == 3, "manifest outputs", m)
    for o in m["outputs"]:
        p = os.path.join(out_dir, o["file"])
        check(os.path.getsize(p) == o["size"] and sha(p) == o["sha256"], f"{o['file']} matches its sha256")
    with open(os.path.join(out_dir, m["script"])) as f:
        check(f.read() == "-- train\nprint(params.steps)\n", "the script")
    lundi("export", "1", rc=2)
    _, err = lundi("export", "9", out_dir, rc=1)
    check("no run 9" in err, "bad run", err)


def case_which():
    out_dir = os.path.join(TMP, "exp")
    lundi("export", "1", out_dir)
    png = os.path.join(out_dir, "sample.png")
    out, _ = lundi("which", png)
    check(out.startswith(f"{png}: output 1 of run 1\n\nrun 1  alpha\n"), "which finds the run", out)
    check(re.search(r"^>    1  image", out, re.M), "the output is marked", out)
    # the chunk alone is enough: change the pixels, keep the chunk
    with open(png, "rb") as f:
        data = bytearray(f.read())
    other = os.path.join(TMP, "other.png")
    shutil.copy(png, other)
    _, err = lundi("which", os.path.join(TMP, "nope.png"), rc=1)
    check("nope.png" in err, "missing file", err)
    with open(other, "wb") as f:
        f.write(b"not a png")
    lundi("which", other, rc=1)


def case_sql():
    before = sha(DB)
    out, err = lundi("sql", "SELECT id, name FROM runs ORDER BY id")
    check(out.split() == ["id", "name", "1", "alpha", "2", "beta", "3", "gamma", "4", "delta", "5", "gone"], "select", out)
    check(err == "(5 rows)\n", "row count", err)
    out, _ = lundi("sql", "SELECT count(*) AS n FROM metrics", "--format", "json")
    check(json.loads(out) == [{"n": 22}], "json", out)
    # the help's own example: the schema's SQL, the last column, is shown whole in a table
    out, err = lundi("sql", "SELECT name, sql FROM sqlite_schema WHERE name = 'params'")
    check("PRIMARY KEY(run_id, key))" in out and "..." not in out and err == "(1 row)\n", "last column whole", out + err)
    out, err = lundi("sql", "SELECT sql, name FROM sqlite_schema WHERE name = 'params'")
    check("..." in out and "--format csv or json shows them whole" in err, "a cut cell says so", out + err)
    out, _ = lundi("sql", "-", "--format", "csv", stdin="SELECT name FROM runs WHERE id = 2")
    check(out == "name\nbeta\n", "stdin", out)
    for bad, needle in (("INSERT INTO tags VALUES (1, 'k', 'v')", "refused: INSERT into tags"),
                        ("DROP TABLE runs", "refused: "), ("DELETE FROM runs", "refused: DELETE from runs"),
                        ("ATTACH DATABASE 'x.db' AS x", "refused: ATTACH"),
                        ("PRAGMA journal_mode = DELETE", "refused: PRAGMA journal_mode with a value"),
                        ("SELECT 1; DELETE FROM runs", "one statement at a time")):
        _, err = lundi("sql", bad, rc=1)
        check(needle in err, f"{bad} refused", err)
    check(sha(DB) == before and not os.path.exists(os.path.join(TMP, "x.db")), "the DB is unchanged")
    lundi("sql", rc=2)


def case_gc():
    blobs = os.path.join(TMP, "runs.db.blobs")
    out, _ = lundi("show", "1")
    keep = os.path.join(TMP, re.search(r"(runs\.db\.blobs/\S+)", out).group(1))
    out, _ = lundi("show", "5")
    gone = os.path.join(TMP, re.search(r"(runs\.db\.blobs/\S+)", out).group(1))
    os.makedirs(os.path.join(blobs, "ee"), exist_ok=True)
    orphan = os.path.join(blobs, "ee", "eeee")
    with open(orphan, "wb") as f:
        f.write(b"x" * 1000)
    old = time.time() - 7200
    os.utime(orphan, (old, old))
    os.utime(gone, (old, old))
    out, _ = lundi("gc", "--dry-run")
    check("would remove run 5 output 4 secret (6 B in the database)" in out, "dry run lists the output", out)
    check(f"would remove {orphan} (1000 B)" in out.replace("/./", "/") or "eeee (1000 B)" in out, "dry run lists the orphan", out)
    check(out.splitlines()[-1] == "gc: would remove 2 outputs and 2 files, freeing 294.0 KiB", "dry run total", out)
    check(os.path.exists(orphan) and os.path.exists(gone) and os.path.exists(keep), "dry run removes nothing")
    out, _ = lundi("gc")
    check(out.splitlines()[-1] == "gc: removed 2 outputs and 2 files, freed 294.0 KiB", "gc total", out)
    check(not os.path.exists(orphan) and not os.path.exists(gone) and os.path.exists(keep), "orphans removed, referenced kept")
    out, _ = lundi("show", "5")
    check("outputs" not in out and "run 5  gone  (deleted)" in out, "the deleted run keeps its record", out)
    out, _ = lundi("gc", "--delete", "beta")
    check(out.startswith("marked run 2 deleted\n"), "--delete", out)
    out, _ = lundi("runs", "--columns", "name")
    check("beta" not in out.split(), "deleted run hidden", out)
    out, _ = lundi("export", "1", os.path.join(TMP, "after"))
    check("3 outputs" in out, "alpha still exports after gc", out)


def case_rerun():
    db2 = os.path.join(TMP, "rerun.db")
    script = os.path.join(TMP, "s.lua")
    with open(script, "w") as f:
        f.write('print("steps=" .. tostring(params.steps) .. " lr=" .. tostring(params.lr))\n')
    out, _ = lundi("--db", db2, "run", script, "--steps=3", "--lr=0.5", "--name=first")
    check(out == "steps=3 lr=0.5\n", "the first run", out)
    out, err = lundi("--db", db2, "rerun", "last")
    check(out == "steps=3 lr=0.5\n", "the rerun gets the same params", out + err)
    check(re.search(r"run 2 reran run 1 \(" + UUIDS[0][:0] + r"[0-9a-f-]{36}\)", err), "rerun message", err)
    with open(script, "w") as f:
        f.write('print("changed")\n')
    out, err = lundi("--db", db2, "rerun", "1", "--steps=7")
    check(out == "steps=7 lr=0.5\n", "the recorded text, with an override", out + err)
    check("changed since run 1; running the recorded text" in err, "says it used the recorded text", err)
    out, _ = lundi("--db", db2, "runs", "--order-by", "id", "--format", "json",
                   "--columns", "id,name,status,params.steps,params.lr,tags.rerun_of,uuid")
    runs = json.loads(out)
    check([r["status"] for r in runs] == ["finished"] * 3, "all finished", out)
    check(runs[1]["params.steps"] == 3 and runs[1]["params.lr"] == 0.5 and runs[1]["name"] == "first", "same params", out)
    check(runs[2]["params.steps"] == 7, "override recorded", out)
    check(runs[1]["tags.rerun_of"] == runs[0]["uuid"] and runs[2]["tags.rerun_of"] == runs[0]["uuid"], "rerun_of tag", out)
    _, err = lundi("--db", db2, "rerun", "9", rc=1)
    check("no run 9" in err, "bad run", err)


def case_help():
    for cmd in ("runs", "show", "compare", "metrics", "export", "rerun", "sql", "gc", "which"):
        out, _ = lundi("help", cmd)
        check(out.startswith(f"usage: lundi {cmd}"), f"help {cmd}", out)
        check(max(len(l) for l in out.splitlines()) <= 80, f"help {cmd} fits 80 columns", out)
        out2, _ = lundi(cmd, "--help")
        check(out2 == out, f"{cmd} --help")
    out, _ = lundi("help")
    check(max(len(l) for l in out.splitlines()) <= 80, "lundi help fits 80 columns", out)
    for cmd in ("runs", "show", "compare", "metrics", "export", "rerun", "sql", "gc", "which"):
        check(re.search(r"^  " + cmd + r"\b", out, re.M), f"lundi help lists {cmd}", out)


try:
    globals()["case_" + CASE]()
finally:
    shutil.rmtree(TMP, ignore_errors=True)
sys.exit(1 if failures else 0)
