#!/usr/bin/env python3
"""Are two recorded runs the same computation? For refactors that must not change numbers.

  same_runs.py A.db B.db [RUN_A [RUN_B]]   (runs default to the last one of each store)

Compares every metric value (exact float equality; keys ending in _seconds are timings and
only counted), the params, the plugins used, and the outputs: checkpoints and other files
by sha256, PNG images by their decoded pixels (their text chunks name the run, so the bytes
differ). Prints each difference and exits 1 if there is any.
"""
import os
import sqlite3
import sys
import zlib


def last_run(db):
    return db.execute("SELECT max(id) FROM runs").fetchone()[0]


def png_pixels(blob):
    """The concatenated IDAT data, inflated: the pixels whatever the text chunks say."""
    if blob is None or blob[:8] != b"\x89PNG\r\n\x1a\n":
        return None
    i, idat = 8, b""
    while i + 8 <= len(blob):
        n = int.from_bytes(blob[i:i + 4], "big")
        kind = blob[i + 4:i + 8]
        if kind == b"IDAT":
            idat += blob[i + 8:i + 8 + n]
        i += 12 + n
    return zlib.decompress(idat)


def blob_of(row, db_path):
    """The row with its bytes: stored in the row, or in the file its path names (relative to
    the store's folder)."""
    kind, name, mime, sha, data, path = row
    if data is None and path:
        full = path if os.path.isabs(path) else os.path.join(os.path.dirname(os.path.abspath(db_path)), path)
        try:
            with open(full, "rb") as f:
                data = f.read()
        except OSError:
            data = None
    return kind, name, mime, sha, data


def main():
    if len(sys.argv) < 3:
        print(__doc__.strip())
        return 2
    a, b = sqlite3.connect(sys.argv[1]), sqlite3.connect(sys.argv[2])
    ra = int(sys.argv[3]) if len(sys.argv) > 3 else last_run(a)
    rb = int(sys.argv[4]) if len(sys.argv) > 4 else last_run(b)
    diffs = []

    q = "SELECT key, step, value FROM metrics WHERE run_id = ? ORDER BY key, step"
    ma = {(k, s): v for k, s, v in a.execute(q, (ra,))}
    mb = {(k, s): v for k, s, v in b.execute(q, (rb,))}
    timed = [k for k in ma if k[0].endswith("_seconds")]
    for k in sorted(set(ma) | set(mb)):
        if k[0].endswith("_seconds"):
            continue
        if k not in ma or k not in mb:
            diffs.append("metric %s step %d only in %s" % (k[0], k[1], "B" if k in mb else "A"))
        elif ma[k] != mb[k] and not (ma[k] != ma[k] and mb[k] != mb[k]):  # NaN == NaN here
            diffs.append("metric %s step %d: %r != %r" % (k[0], k[1], ma[k], mb[k]))

    for table, cols in (("params", "key, value"), ("plugins_used", "kind, name, version, params")):
        q = "SELECT %s FROM %s WHERE run_id = ? ORDER BY %s" % (cols, table, cols)
        pa, pb = a.execute(q, (ra,)).fetchall(), b.execute(q, (rb,)).fetchall()
        if pa != pb:
            diffs.append("%s differ:\n  A %s\n  B %s" % (table, pa, pb))

    q = "SELECT kind, name, mime, sha256, data, path FROM outputs WHERE run_id = ? ORDER BY kind, name"
    oa = [blob_of(o, sys.argv[1]) for o in a.execute(q, (ra,))]
    ob = [blob_of(o, sys.argv[2]) for o in b.execute(q, (rb,))]
    if [o[:2] for o in oa] != [o[:2] for o in ob]:
        diffs.append("outputs differ: A %s, B %s" % ([o[:2] for o in oa], [o[:2] for o in ob]))
    else:
        for x, y in zip(oa, ob):
            if x[3] == y[3]:
                continue
            px, py = png_pixels(x[4]), png_pixels(y[4])
            if px is None or px != py:
                diffs.append("output %s %s: different %s" % (x[0], x[1], "pixels" if px else "bytes"))

    for d in diffs:
        print(d)
    print("%d metric values, %d outputs compared (%d timing values skipped): %s" %
          (len(ma) - len(timed), len(oa), len(timed), "same" if not diffs else "%d differences" % len(diffs)))
    return 1 if diffs else 0


if __name__ == "__main__":
    sys.exit(main())
