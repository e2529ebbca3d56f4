#!/usr/bin/env bash
# Runs the whole test suite (after tools/setup.sh) and ends with "N passed, N failed".
# LUNDI_SANITIZE=1 (the default) also builds ./build-asan with ASan+UBSan and runs the
# core, op, training, plugin, Lua, CLI, simulator and unet1d suites there.
set -uo pipefail
cd "$(dirname "$0")/.."
jobs=$(nproc)

meson test -C build --num-processes "$jobs" --print-errorlogs >build/test-output.txt 2>&1
summarize() { # log.json -> "passed failed" and prints failures
  python3 - "$1" <<'PY'
import json, sys
ok = bad = 0
for line in open(sys.argv[1]):
    r = json.loads(line)
    if r["result"] in ("OK", "EXPECTEDFAIL", "SKIP"):
        ok += 1
    else:
        bad += 1
        print(f"FAILED: {r['name']} ({r['result']})", file=sys.stderr)
        print((r.get("stdout") or "")[-3000:], file=sys.stderr)
print(ok, bad)
PY
}
read -r pass fail < <(summarize build/meson-logs/testlog.json) || true
pass=${pass:-0} fail=${fail:-1}

if [ "${LUNDI_SANITIZE:-1}" = 1 ]; then
  if [ ! -f build-asan/build.ninja ]; then
    meson setup build-asan --buildtype=debugoptimized -Db_sanitize=address,undefined -Db_lundef=false >/dev/null
  fi
  if ! ninja -C build-asan >build-asan/build-output.txt 2>&1; then
    tail -n 30 build-asan/build-output.txt >&2
    echo "0 passed, 1 failed"
    exit 1
  fi
  # The Lua device tests drive lavapipe, whose own allocations LSan would report; the unet
  # CPU-vs-Vulkan curve runs 30 steps here (200 in the plain build).
  ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
  LSAN_OPTIONS=suppressions="$PWD/tests/vulkan_lsan.supp" LUNDI_TEST_UNET_STEPS=30 \
    meson test -C build-asan --num-processes "$jobs" --suite core --suite grad --suite train --suite safetensors --suite nn --suite optim \
      --suite plugin --suite lua --suite luaplugin --suite builtin --suite cli \
      --suite store --suite query --suite image --suite data --suite eval --suite text --suite transformer --suite text_diffusion --suite sim --suite unet1d \
      --print-errorlogs >build-asan/test-output.txt 2>&1
  read -r p2 f2 < <(summarize build-asan/meson-logs/testlog.json) || true
  p2=${p2:-0} f2=${f2:-1}
  echo "asan+ubsan: $p2 passed, $f2 failed"
  pass=$((pass + p2)); fail=$((fail + f2))
fi
tail -n 12 build/test-output.txt | grep -E "^(Ok|Fail|Timeout)" || true
echo "$pass passed, $fail failed"
[ "$fail" = 0 ]
