#!/bin/sh
# Installs lundi into a scratch DESTDIR the way `meson install` would, then builds the docs'
# example plugin against the installed lundi.pc (plain and with --define-prefix), and has
# the installed `lundi` list it: headers, lundi.pc, the library and the CLI, all installed.
# args: <build dir> <flow_euler.c> <cc>
set -eu
build=$1 src=$2 cc=$3
tmp=$(mktemp -d /tmp/lundi_inst_XXXXXX)
trap 'rm -rf "$tmp"' EXIT
meson install -C "$build" --destdir "$tmp/root" --no-rebuild --quiet >"$tmp/install.log" 2>&1 ||
  { cat "$tmp/install.log" >&2; exit 1; }
pc=$(find "$tmp/root" -name lundi.pc)
[ -n "$pc" ] || { echo "meson install wrote no lundi.pc" >&2; exit 1; }
for h in lundi.h plugin.h plugin_api.h metrics.h data.h session.h; do
  find "$tmp/root" -path "*/include/lundi/$h" | grep -q . || { echo "lundi/$h is not installed" >&2; exit 1; }
done
export PKG_CONFIG_PATH="$(dirname "$pc")"
for define in "" --define-prefix; do
  cflags=$(pkg-config $define --cflags-only-I lundi | tr ' ' '\n' | grep "^-I$tmp" || true)
  libdir=$(pkg-config $define --variable=libdir lundi)
  [ -n "$cflags" ] && [ -e "$libdir/liblundi.so" ] ||
    { echo "pkg-config $define: include '$cflags' or libdir '$libdir' is not the installed tree" >&2; exit 1; }
  # lua5.4's own .pc is the system's: take its flags without --define-prefix
  "$cc" -shared -fPIC -O2 -Wall -Wextra -Werror $cflags $(pkg-config --cflags lua5.4) "$src" \
    -o "$tmp/flow_euler.so" -L"$libdir" -llundi
done
lundi=$(find "$tmp/root" -path "*/bin/lundi")
out=$(LD_LIBRARY_PATH="$libdir" "$lundi" --plugin "$tmp/flow_euler.so" plugins scheduler)
echo "$out" | grep -q "^scheduler flow_euler " || { echo "installed lundi does not list flow_euler:"; echo "$out"; exit 1; } >&2
echo "installed SDK: $(dirname "$pc") ok"
