#!/bin/sh
# Builds flow_euler.c the way a plugin author would, against lundi-uninstalled.pc, checks
# that the result exports the two entry symbols, and has test_plugin load and exercise it.
# args: <dir of lundi-uninstalled.pc> <flow_euler.c> <test_plugin executable> <cc>
set -eu
pcdir=$1 src=$2 test_exe=$3 cc=$4
tmp=$(mktemp -d /tmp/lundi_oot_XXXXXX)
trap 'rm -rf "$tmp"' EXIT
export PKG_CONFIG_PATH="$pcdir${PKG_CONFIG_PATH:+:$PKG_CONFIG_PATH}"
cflags=$(pkg-config --cflags lundi-uninstalled)
libs=$(pkg-config --libs lundi-uninstalled)
"$cc" -shared -fPIC -O2 -Wall -Wextra -Werror $cflags "$src" -o "$tmp/flow_euler.so" $libs
for sym in lundi_plugin_abi_version lundi_plugin_init; do
  if ! nm -D --defined-only "$tmp/flow_euler.so" | grep -q " $sym\$"; then
    echo "out-of-tree flow_euler.so does not export $sym" >&2
    exit 1
  fi
done
LUNDI_TEST_EXTERNAL_SO="$tmp/flow_euler.so" "$test_exe" load_external
