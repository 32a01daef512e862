#!/usr/bin/env bash
# The .deb on a fresh Debian 12: install, the daemon under its own user, the package's saslpasswd2 keeping
# /etc/sasldb2 root:sasl 0660, self-service changes over poppassd and the local socket through the writer unit,
# upgrade from the previous build, remove, purge. Run by InteropTests/DebianPackageTests.swift as root.
#
# Environment: TREE (a debootstrapped bookworm, scripts/debian-tree.sh; left untouched: the test works in an overlay
# of it), DEB and PREVIOUS_DEB (scripts/build-deb.sh with two versions), REPO, WORK (a scratch directory).
# Prints one "ok: <step>" line per proven step; any failure exits non-zero with the reason.
set -euo pipefail

fail() { echo "FAIL: $*" >&2; exit 1; }
ok() { echo "ok: $*"; }

root=$WORK/root
mkdir -p "$root" "$WORK/upper" "$WORK/work"
mount -t overlay overlay -o "lowerdir=$TREE,upperdir=$WORK/upper,workdir=$WORK/work" "$root"
mount -t proc proc "$root/proc"
mount --bind /dev "$root/dev"
mount -t tmpfs tmpfs "$root/run"
mount -t tmpfs tmpfs "$root/tmp"
cleanup() {
  [[ -n ${daemon_pid:-} ]] && pkill -KILL -P "$daemon_pid" 2>/dev/null
  [[ -n ${writer_pid:-} ]] && kill "$writer_pid" 2>/dev/null
  wait 2>/dev/null || true
  umount -R "$root" 2>/dev/null || umount -lR "$root"
}
trap cleanup EXIT
in_tree() { chroot "$root" "$@"; }
cp "$DEB" "$root/tmp/sasldb.deb"
cp "$PREVIOUS_DEB" "$root/tmp/sasldb-previous.deb"
cp "$REPO/scripts/unit-sandbox.py" "$root/tmp/unit-sandbox.py"
# The machine's state before, to compare with after the purge.
snapshot() { in_tree find / -xdev \( -path /proc -o -path /tmp -o -path /run -o -path /dev \) -prune -o -print | sort; }
snapshot >"$WORK/before.list"

in_tree dpkg -i /tmp/sasldb-previous.deb >"$WORK/dpkg.log" 2>&1 || fail "install: $(cat "$WORK/dpkg.log")"
in_tree dpkg -s sasldb | grep '^Status: install ok installed' >/dev/null || fail "not installed"
[[ $(in_tree stat -c %U:%G:%a /etc/sasldb2) == root:sasl:660 ]] || fail "new /etc/sasldb2: $(in_tree stat -c %U:%G:%a /etc/sasldb2)"
in_tree id sasl-smtpd | grep '(sasl)' >/dev/null || fail "sasl-smtpd is not in group sasl"
[[ $(in_tree stat -c %U:%a /var/spool/sasl-smtpd) == sasl-smtpd:700 ]] || fail "spool"
[[ $(in_tree stat -c %U:%a /etc/sasl-smtpd/tls/key.pem) == sasl-smtpd:600 ]] || fail "key"
in_tree test -L /etc/systemd/system/multi-user.target.wants/sasl-smtpd.service || fail "the unit is not enabled"
in_tree test -L /etc/systemd/system/sockets.target.wants/sasl-smtpd-writer.socket || fail "the socket is not enabled"
ok "install: sasl-smtpd user in group sasl, /etc/sasldb2 root:sasl 0660, spool, key, units enabled"

in_tree dpkg -i /tmp/sasldb.deb >>"$WORK/dpkg.log" 2>&1 || fail "upgrade: $(cat "$WORK/dpkg.log")"
new_version=$(dpkg-deb -f "$DEB" Version)
[[ $(in_tree dpkg-query -W -f '${Version}' sasldb) == "$new_version" ]] || fail "upgrade did not land"
ok "upgrade from the previous build to $new_version"

echo 'first-Password-1' | in_tree /usr/lib/sasldb/cyrus/saslpasswd2 -p -c -u example.org alice
[[ $(in_tree stat -c %U:%G:%a /etc/sasldb2) == root:sasl:660 ]] || fail "after saslpasswd2: $(in_tree stat -c %U:%G:%a /etc/sasldb2)"
in_tree /usr/lib/sasldb/cyrus/sasldblistusers2 | grep '^alice@example.org: userPassword' >/dev/null || fail "not listed"
ok "the package's saslpasswd2 wrote /etc/sasldb2, still root:sasl 0660"

# The Cyrus names, opt-in: diverted to the package's personalities and back.
in_tree /usr/share/sasldb/cyrus-names enable
[[ $(in_tree readlink /usr/sbin/saslpasswd2) == /usr/lib/sasldb/cyrus/saslpasswd2 ]] || fail "saslpasswd2 not diverted"
in_tree dpkg-divert --list /usr/sbin/sasldblistusers2 | grep 'diversion of /usr/sbin/sasldblistusers2 to /usr/sbin/sasldblistusers2.cyrus by sasldb' >/dev/null ||
  fail "sasldblistusers2 not diverted"
usage=$(in_tree saslpasswd2 -h 2>&1 || true)
[[ $usage == *"saslpasswd2: usage: saslpasswd2 "* ]] || fail "the diverted saslpasswd2 does not run: $usage"
in_tree /usr/share/sasldb/cyrus-names disable
in_tree test ! -e /usr/sbin/saslpasswd2 || fail "disable left /usr/sbin/saslpasswd2"
[[ -z $(in_tree dpkg-divert --list 'sasl*' | grep sasldb || true) ]] || fail "disable left a diversion"
ok "cyrus-names: saslpasswd2 and sasldblistusers2 diverted on request and given back"

# The units as installed, each in its own view (no systemd can boot here): test ports, a loopback poppassd.
read -r submission poppassd < <(python3 -c '
import socket
sockets = [socket.socket() for _ in range(2)]
for s in sockets: s.bind(("127.0.0.1", 0))
print(*[s.getsockname()[1] for s in sockets])')
sed -i -e "s/^submission_listen = .*/submission_listen = 127.0.0.1:$submission/" -e "s/^smtps_listen = .*/smtps_listen =/" \
  "$root/etc/sasl-smtpd.conf"
printf 'poppassd_listen = 127.0.0.1:%s\ndefault_realm = example.org\n' "$poppassd" >>"$root/etc/sasl-smtpd.conf"
# chroot itself in the background (not through in_tree, which would put a subshell between): $! is then the
# process that becomes unit-sandbox.py.
chroot "$root" python3 /tmp/unit-sandbox.py socket /lib/systemd/system/sasl-smtpd-writer.socket >"$WORK/writer.log" 2>&1 &
writer_pid=$!
chroot "$root" python3 /tmp/unit-sandbox.py service /lib/systemd/system/sasl-smtpd.service >"$WORK/daemon.log" 2>&1 &
daemon_pid=$!
for _ in $(seq 300); do grep -q 'msg=ready' "$WORK/daemon.log" && break; sleep 0.1; done
grep -q 'msg=ready' "$WORK/daemon.log" || fail "the daemon did not start: $(cat "$WORK/daemon.log")"
pgrep -u "$(in_tree id -u sasl-smtpd)" -x sasl-smtpd >/dev/null || fail "no sasl-smtpd process runs as sasl-smtpd"
ok "the daemon starts under its unit as sasl-smtpd"

change() { # address old new
  python3 "$REPO/Tests/Interop/poppassd-change.py" "$1" alice@example.org "$2" "$3"
}
verify() { echo "$1" | in_tree sasldb verify --stdin alice@example.org >/dev/null; }
change "$root/run/sasl-smtpd/passwd.sock" 'first-Password-1' 'second-Password-2' || fail "socket change"
verify 'second-Password-2' || fail "the socket change did not land"
change "127.0.0.1:$poppassd" 'second-Password-2' 'third-Password-3' || fail "poppassd change"
verify 'third-Password-3' || fail "the poppassd change did not land"
[[ $(in_tree stat -c %U:%G:%a /etc/sasldb2) == root:sasl:660 ]] || fail "after the changes: $(in_tree stat -c %U:%G:%a /etc/sasldb2)"
swaks --server 127.0.0.1 --port "$submission" --tls --auth PLAIN --auth-user alice@example.org \
  --auth-password 'third-Password-3' --from alice@example.org --to bob@example.net >"$WORK/swaks.log" 2>&1 ||
  fail "submission: $(cat "$WORK/swaks.log")"
ok "self-service changes over the local socket and poppassd landed; AUTH takes the new password"
# unshare --fork passes no signal on: SIGTERM goes to the daemon, its child.
pkill -TERM -P "$daemon_pid"
wait "$daemon_pid" || fail "the daemon did not stop cleanly"
kill "$writer_pid"
wait "$writer_pid" 2>/dev/null || true
unset daemon_pid writer_pid

in_tree dpkg -r sasldb >>"$WORK/dpkg.log" 2>&1 || fail "remove: $(cat "$WORK/dpkg.log")"
in_tree test ! -e /usr/sbin/sasl-smtpd || fail "remove left the daemon"
in_tree test -f /etc/sasl-smtpd.conf || fail "remove took the conffile"
in_tree test -f /etc/sasldb2 || fail "remove took the database"
ok "remove: programs gone, configuration and database kept"

in_tree dpkg -P sasldb >>"$WORK/dpkg.log" 2>&1 || fail "purge: $(cat "$WORK/dpkg.log")"
in_tree test ! -e /etc/sasl-smtpd.conf || fail "purge left /etc/sasl-smtpd.conf"
in_tree test -f /etc/sasldb2 || fail "purge deleted a database holding users"
snapshot >"$WORK/after.list"
# What Debian's policy keeps: the system accounts, the database with the site's users, the message still waiting in
# the spool (its directories, not the empty ones), dpkg's own records and logs.
left=$(comm -13 "$WORK/before.list" "$WORK/after.list" |
  grep -vE '^/etc/(passwd|group|shadow|gshadow)-?$|^/etc/sasldb2$|^/var/(lib/dpkg|log|cache/debconf|lib/systemd/deb-systemd-helper-enabled)(/|$)' |
  grep -vE '^/var/spool/sasl-smtpd(/Maildir(/(new|envelope)(/[^/]+)?)?)?$' || true)
[[ -z $left ]] || fail "purge left: $left"
[[ $(find "$root/var/spool/sasl-smtpd/Maildir/new" -type f | wc -l) == 1 ]] || fail "purge took the waiting message"
ok "purge: nothing left but the accounts, the database holding users and the waiting message"
rm -rf "$root/var/spool/sasl-smtpd"

# A database the package made and nobody used goes with the purge; the one it makes follows a dpkg-statoverride.
in_tree rm -f /etc/sasldb2
in_tree dpkg-statoverride --add root sasl 0640 /etc/sasldb2
in_tree dpkg -i /tmp/sasldb.deb >>"$WORK/dpkg.log" 2>&1 || fail "reinstall"
[[ $(in_tree stat -c %U:%G:%a /etc/sasldb2) == root:sasl:640 ]] || fail "statoverride not followed: $(in_tree stat -c %U:%G:%a /etc/sasldb2)"
ok "a new /etc/sasldb2 follows dpkg-statoverride (root:sasl 0640)"
in_tree dpkg-statoverride --remove /etc/sasldb2
in_tree dpkg -P sasldb >>"$WORK/dpkg.log" 2>&1 || fail "second purge"
in_tree test ! -e /etc/sasldb2 || fail "purge left the unused database it made"
ok "purge removes the empty database it made"
