#!/usr/bin/env bash
# Unpacks Debian's Exim (exim4-daemon-heavy: the build with the dovecot authenticator) into a private directory,
# without installing it: Debian's exim4 and postfix packages conflict, and the tests need Postfix installed. The tests
# of the Dovecot auth socket run this Exim with its own configuration (exim4 -C, -bh: one SMTP session on stdin, no
# daemon, no spool of the system) and find it through SASLDB_EXIM_DIR.
#
#   scripts/exim-peer.sh DIR     # then: SASLDB_EXIM_DIR=DIR swift test --skip-build --filter EximDovecotAuthTests
#
# DIR gets usr/sbin/exim4 and the passwd and group files nss_wrapper (package libnss-wrapper) shows Exim: Debian's
# Exim looks up its compiled-in user Debian-exim at start-up, which exists only where exim4 is installed.
set -euo pipefail
dir=${1:?usage: exim-peer.sh DIR}
mkdir -p "$dir"
dir=$(cd "$dir" && pwd)
if [[ ! -x "$dir/usr/sbin/exim4" ]]; then
  work=$(mktemp -d)
  trap 'rm -rf "$work"' EXIT
  # apt-get download writes into the current directory; _apt cannot read a root-only temporary directory.
  chmod 0755 "$work"
  (cd "$work" && apt-get download -qq exim4-daemon-heavy)
  dpkg -x "$work"/exim4-daemon-heavy_*.deb "$dir"
fi
{ cat /etc/passwd; echo "Debian-exim:x:65534:65534:Exim:/nonexistent:/usr/sbin/nologin"; } >"$dir/passwd"
{ cat /etc/group; echo "Debian-exim:x:65534:"; } >"$dir/group"
echo "$dir"
