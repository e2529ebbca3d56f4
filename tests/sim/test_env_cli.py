#!/usr/bin/env python3
"""sim/cli_stdout: `lundi run` of a script that makes environments prints on stdout what the
script prints and nothing else: Debian's debug Chipmunk announces its first cpSpace on stdout,
and runtime/sim/space.c keeps that off (stdout here is a pipe, as when output is parsed).

usage: test_env_cli.py LUNDI SCRIPT"""
import os
import subprocess
import sys
import tempfile

lundi, script = sys.argv[1], sys.argv[2]
with tempfile.TemporaryDirectory(prefix="lundi-sim-cli-") as d:
    env = dict(os.environ, LUNDI_DB=os.path.join(d, "lundi.db"))
    failures = 0
    for args in (["run", "--no-record", script], ["run", script]):
        r = subprocess.run([lundi, *args], capture_output=True, text=True, env=env, timeout=60)
        if r.returncode != 0 or r.stdout != "pusht 20 two_way\n":
            failures += 1
            print(f"FAILED: lundi {' '.join(args)}: rc {r.returncode}\n--- stdout\n{r.stdout}--- stderr\n{r.stderr}",
                  file=sys.stderr)
sys.exit(1 if failures else 0)
