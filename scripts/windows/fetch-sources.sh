#!/usr/bin/env bash
# Downloads the Debian 12 source packages the Windows build needs, with a private deb-src
# list: the system's apt configuration, lists and cache are left alone.
#   scripts/windows/fetch-sources.sh DEST_DIR PACKAGE...
# Writes DEST_DIR/versions.txt ("package version" per line) and leaves each package's
# unpacked tree in DEST_DIR/PACKAGE (Debian patches applied by dpkg-source).
set -euo pipefail
dest=$1; shift
mkdir -p "$dest/apt/lists/partial" "$dest/apt/cache/archives/partial" "$dest/apt/sources.d" "$dest/dl"
dest=$(cd "$dest" && pwd)

# The same archive URIs, suites and keys as the system's deb entries, as deb-src.
srcfile="$dest/apt/sources.d/debian-src.sources"
: >"$srcfile"
for f in /etc/apt/sources.list.d/*.sources; do
  [ -f "$f" ] || continue
  awk 'BEGIN{RS="";FS="\n"} /(^|\n)Types:[^\n]*deb( |$|\n)/ && /deb\.debian\.org|security\.debian\.org|snapshot\.debian\.org/ {
         out=""; for(i=1;i<=NF;i++){ line=$i; if(line ~ /^Types:/) line="Types: deb-src"; if(line !~ /^#/) out=out line "\n" }
         printf "%s\n", out }' "$f" >>"$srcfile"
done
if [ -f /etc/apt/sources.list ]; then
  grep -E '^deb +(\[[^]]*\] +)?https?://(deb|security)\.debian\.org' /etc/apt/sources.list |
    sed -E 's/^deb /deb-src /' >"$dest/apt/sources.list" || true
else
  : >"$dest/apt/sources.list"
fi
if ! grep -q . "$srcfile" && ! grep -q . "$dest/apt/sources.list"; then
  echo "fetch-sources: no Debian archive entry found in /etc/apt to derive deb-src from" >&2
  exit 1
fi

apt_opts=(-o "Dir::Etc::sourcelist=$dest/apt/sources.list" -o "Dir::Etc::sourceparts=$dest/apt/sources.d"
          -o "Dir::State::Lists=$dest/apt/lists" -o "Dir::Cache=$dest/apt/cache"
          -o "Debug::NoLocking=1" -o "APT::Sandbox::User=root")
if [ ! -f "$dest/apt/updated" ] || [ -n "$(find "$dest/apt/updated" -mmin +720)" ]; then
  echo "fetch-sources: apt-get update (private deb-src list)" >&2
  apt-get "${apt_opts[@]}" -q update >&2
  touch "$dest/apt/updated"
fi

: >"$dest/versions.tmp"
for pkg in "$@"; do
  # Newest first; a version whose files the mirror no longer holds is skipped.
  versions=$(apt-cache "${apt_opts[@]}" showsrc "$pkg" | awk '/^Version:/{print $2}' | sort -rV | uniq)
  [ -n "$versions" ] || { echo "fetch-sources: no source package '$pkg' in the archive" >&2; exit 1; }
  stamp="$dest/$pkg/.cdeck-version"
  got=
  for ver in $versions; do
    if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$ver" ]; then got=$ver; break; fi
    echo "fetch-sources: $pkg $ver" >&2
    rm -rf "$dest/$pkg" "$dest/dl/$pkg"
    mkdir -p "$dest/dl/$pkg"
    if (cd "$dest/dl/$pkg" && apt-get "${apt_opts[@]}" -q source --download-only "$pkg=$ver" >"$dest/dl/$pkg.log" 2>&1); then
      dsc=$(ls "$dest/dl/$pkg"/*.dsc | head -1)
      dpkg-source --no-check -x "$dsc" "$dest/$pkg" >>"$dest/dl/$pkg.log" 2>&1
      echo "$ver" >"$stamp"
      got=$ver
      break
    fi
    echo "fetch-sources: $pkg $ver is not downloadable from the mirror; trying an older version" >&2
  done
  [ -n "$got" ] || { echo "fetch-sources: no version of '$pkg' could be downloaded (see $dest/dl/$pkg.log)" >&2; exit 1; }
  echo "$pkg $got" >>"$dest/versions.tmp"
done
mv "$dest/versions.tmp" "$dest/versions.txt"
