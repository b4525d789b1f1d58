#!/usr/bin/env bash
# Installs the Debian 12 packages ChannelDeck needs (DESIGN.md section 7), only those that
# are missing. Uses sudo when not root. Sourced by the other scripts; usable alone:
#   scripts/deps.sh [extra-package ...]
set -euo pipefail

CDECK_PACKAGES=(
  build-essential cmake ninja-build pkg-config git python3
  libimgui-dev libglfw3-dev python3-glad libcurl4-openssl-dev nlohmann-json3-dev
  doctest-dev libsqlite3-dev libre2-dev libcpp-httplib-dev libssl-dev libstb-dev libfreetype-dev
  fonts-inter fonts-dejavu-core libgl1-mesa-dri xvfb xauth ca-certificates
  libpq-dev postgresql-15 postgresql-client-15 postgresql-common curl
  haproxy libfaketime libdbus-1-dev dbus-daemon dbus-bin
)

# The Windows cross-build and its checks under Wine (scripts/windows/check).
CDECK_WINDOWS_PACKAGES=(
  mingw-w64 wine64 zip unzip tcl perl unicode-data python3-six dpkg-dev
)

cdeck_install_deps() {
  local missing=()
  local pkg
  for pkg in "${CDECK_PACKAGES[@]}" "$@"; do
    if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed"; then
      missing+=("$pkg")
    fi
  done
  if [ ${#missing[@]} -eq 0 ]; then
    return 0
  fi
  echo "channeldeck: installing missing packages: ${missing[*]}" >&2
  local sudo=()
  if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null || { echo "channeldeck: need root or sudo to install: ${missing[*]}" >&2; return 1; }
    sudo=(sudo)
  fi
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -q
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
  cdeck_install_deps "$@"
fi
