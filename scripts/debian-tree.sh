#!/usr/bin/env bash
# A Debian 12 tree for the package's install/upgrade/remove/purge test (InteropTests/DebianPackageTests), made once
# per CI run by scripts/test.sh and reused read-only (the test works in an overlay of it):
#   scripts/debian-tree.sh create DIR    debootstrap bookworm into DIR (skipped when DIR already holds one)
#   scripts/debian-tree.sh remove DIR
# Then: SASLDB_DEBIAN_TREE=DIR swift test --skip-build --filter DebianPackageTests
set -euo pipefail

command=${1:-}
tree=${2:-}
[[ -n $command && -n $tree ]] || { echo "usage: $0 create|remove DIR" >&2; exit 64; }
case $command in
create)
  if [[ -x $tree/usr/bin/dpkg && -f $tree/etc/debian_version ]]; then exit 0; fi
  mkdir -p "$tree"
  # What the package depends on (its libraries, adduser, openssl), systemd for sysusers, tmpfiles, socket
  # activation and deb-systemd-helper, and python3 for scripts/unit-sandbox.py (the clients run outside).
  debootstrap --variant=minbase \
    --include=systemd,adduser,openssl,libgdbm6,libdb5.3,libssl3,libidn12,python3,util-linux \
    bookworm "$tree" "${DEBIAN_MIRROR:-http://deb.debian.org/debian}" >&2
  chroot "$tree" apt-get clean
  ;;
remove)
  # Never follow into mounts a failed test may have left behind.
  if findmnt -rn -o TARGET | grep -q "^$(realpath "$tree")/"; then
    echo "$tree has mounts below it; not removing" >&2
    exit 1
  fi
  rm -rf --one-file-system "$tree"
  ;;
*)
  echo "usage: $0 create|remove DIR" >&2
  exit 64
  ;;
esac
