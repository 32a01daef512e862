#!/usr/bin/env bash
# Every feature of sasl-smtpd under the units as shipped (dist/systemd), each unit's file-system view rebuilt by
# scripts/unit-sandbox.py from the unit files. Run by InteropTests/SystemdUnitTests.swift as root, inside
#   unit-sandbox.py host --overlay /etc=... --overlay /usr/sbin=... --overlay /var/spool=... --bind /run=... --
# so the package's files land in overlays of a private namespace and the machine's /etc, /usr/sbin and /var/spool
# stay untouched. Prints one "ok: <feature>" line per proven feature; any failure exits non-zero with the reason.
#
# Environment: REPO (the checkout), BIN (the directory holding sasl-smtpd and sasldb), LOGS (a directory outside the
# namespace for logs).
set -euo pipefail

units="$REPO/dist/systemd"
sandbox=(python3 "$REPO/scripts/unit-sandbox.py")
# Three loopback ports free now (the machine's 587, 465 and 106 may be taken).
read -r submission smtps poppassd < <(python3 -c '
import socket
sockets = [socket.socket() for _ in range(3)]
for s in sockets: s.bind(("127.0.0.1", 0))
print(*[s.getsockname()[1] for s in sockets])')
fail() { echo "FAIL: $*" >&2; exit 1; }
ok() { echo "ok: $*"; }

# What the package installs: binaries, users, spool, configuration, a certificate made for the daemon's user.
install -m 0755 "$BIN/sasl-smtpd" /usr/sbin/sasl-smtpd
install -m 0755 "$BIN/sasldb" /usr/sbin/sasldb
systemd-sysusers "$REPO/dist/sysusers.d/sasl-smtpd.conf"
systemd-tmpfiles --create "$REPO/dist/tmpfiles.d/sasl-smtpd.conf"
mkdir -p /etc/sasl-smtpd/tls
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=localhost -addext subjectAltName=DNS:localhost \
  -keyout /etc/sasl-smtpd/tls/key.pem -out /etc/sasl-smtpd/tls/cert.pem 2>/dev/null
chown sasl-smtpd:sasl-smtpd /etc/sasl-smtpd/tls/key.pem
chmod 0600 /etc/sasl-smtpd/tls/key.pem
# The shipped configuration, with test ports (the machine's 587 and 465 may be taken) and a poppassd listener.
sed -e "s/^submission_listen = .*/submission_listen = 127.0.0.1:$submission/" \
  -e "s/^smtps_listen = .*/smtps_listen = 127.0.0.1:$smtps/" \
  "$REPO/dist/etc/sasl-smtpd.conf" >/etc/sasl-smtpd.conf
printf 'hostname = localhost\npoppassd_listen = 127.0.0.1:%s\ndefault_realm = example.org\n' "$poppassd" \
  >>/etc/sasl-smtpd.conf
rm -f /etc/sasl2/sasldb.conf /etc/sasldb2
# Debian's database: root:sasl 0660.
echo 'first-Password-1' | sasldb add -f /etc/sasldb2 --group sasl --group-writable alice@example.org
chmod 0660 /etc/sasldb2
[[ $(stat -c %U:%G:%a /etc/sasldb2) == root:sasl:660 ]] || fail "setup: $(stat -c %U:%G:%a /etc/sasldb2)"

# The service manager's side of sd_notify: each datagram with its sender's pid and uid (SCM_CREDENTIALS), as
# systemd checks NotifyAccess=main with them.
python3 - /run/notify.sock "$LOGS/notify.log" <<'PY' &
import socket, struct, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_PASSCRED, 1)
s.bind(sys.argv[1])
import os; os.chmod(sys.argv[1], 0o777)  # as systemd's /run/systemd/notify: any service may send
with open(sys.argv[2], "a", buffering=1) as log:
    while True:
        data, ancillary, _, _ = s.recvmsg(4096, socket.CMSG_SPACE(12))
        pid, uid, gid = struct.unpack("3i", ancillary[0][2][:12])
        log.write(f"{pid} {uid} " + data.decode().replace("\n", " ") + "\n")
PY
notify_pid=$!
touch "$LOGS/notify.log"
wait_for() { # pattern file seconds
  for _ in $(seq $((${3:-20} * 10))); do grep -q -- "$1" "$2" && return 0; sleep 0.1; done
  fail "no '$1' in $2: $(cat "$2")"
}

touch "$LOGS/writer.log" "$LOGS/daemon.log"
"${sandbox[@]}" socket "$units/sasl-smtpd-writer.socket" >"$LOGS/writer.log" 2>&1 &
writer_pid=$!
wait_for listening "$LOGS/writer.log"
[[ $(stat -c %U:%G:%a /run/sasl-smtpd-writer.sock) == root:sasl-smtpd:660 ]] || fail "writer socket mode"

start_daemon() {
  NOTIFY_SOCKET=/run/notify.sock "${sandbox[@]}" service "$units/sasl-smtpd.service" >>"$LOGS/daemon.log" 2>&1 &
  daemon_pid=$!
}
# unshare --fork does not pass signals on: the daemon is signalled as its own pid (the sender of READY=1), and what
# is left at the end through its unshare's children.
stop_all() {
  kill "$notify_pid" "$writer_pid" 2>/dev/null || true
  if [[ -n ${daemon_pid:-} ]]; then pkill -KILL -P "$daemon_pid" 2>/dev/null || true; fi
}
trap stop_all EXIT

start_daemon
wait_for "READY=1" "$LOGS/notify.log" 30
read -r main_pid main_uid _ < <(grep "READY=1" "$LOGS/notify.log" | head -1)
[[ $main_uid == $(id -u sasl-smtpd) ]] || fail "READY=1 came from uid $main_uid"
[[ $(ps -o user= -p "$main_pid") == sasl-smtpd ]] || fail "the daemon runs as $(ps -o user= -p "$main_pid")"
ok "Type=notify: READY=1 from the main process, which runs as sasl-smtpd"
[[ $(stat -c %U:%a /run/sasl-smtpd) == sasl-smtpd:755 ]] || fail "RuntimeDirectory: $(stat -c %U:%a /run/sasl-smtpd)"
[[ -S /run/sasl-smtpd/passwd.sock ]] || fail "no password socket"
ok "RuntimeDirectory=: /run/sasl-smtpd made for the daemon's user, holding passwd_socket"

send() { # extra swaks options...
  swaks --server 127.0.0.1 --auth PLAIN --auth-user alice@example.org --auth-password "$password" \
    --from alice@example.org --to bob@example.net --silent 2 "$@" >>"$LOGS/swaks.log" 2>&1
}
spooled() { find /var/spool/sasl-smtpd/Maildir/new -type f | wc -l; }
password='first-Password-1'
send --port "$submission" --tls || fail "STARTTLS submission"
[[ $(spooled) == 1 ]] || fail "no message in the Maildir spool"
ok "STARTTLS on submission, AUTH PLAIN, message in the Maildir spool"
send --port "$smtps" --tls-on-connect || fail "implicit TLS submission"
[[ $(spooled) == 2 ]] || fail "the second message is not in the spool"
ok "implicit TLS, message in the Maildir spool"

poppassd_change() { # address old new
  python3 "$REPO/Tests/Interop/poppassd-change.py" "$1" alice@example.org "$2" "$3"
}
verify() { echo "$1" | sasldb verify -f /etc/sasldb2 --stdin alice@example.org >/dev/null; }
inode=$(stat -c %i /etc/sasldb2)
poppassd_change /run/sasl-smtpd/passwd.sock 'first-Password-1' 'second-Password-2' || fail "password socket change"
verify 'second-Password-2' || fail "the change over the socket did not land"
[[ $(stat -c %U:%G:%a /etc/sasldb2) == root:sasl:660 && $(stat -c %i /etc/sasldb2) != "$inode" ]] ||
  fail "after the socket change: $(stat -c %U:%G:%a:%i /etc/sasldb2)"
grep -q "logger=password-writer" <(grep "user=alice@example.org socket uid=0 result=changed" "$LOGS/writer.log") ||
  fail "the writer unit did not audit the change"
ok "password socket: the writer unit replaced /etc/sasldb2, still root:sasl 0660"
poppassd_change "127.0.0.1:$poppassd" 'second-Password-2' 'third-Password-3' || fail "poppassd change"
verify 'third-Password-3' || fail "the poppassd change did not land"
password='third-Password-3'
send --port "$submission" --tls || fail "AUTH with the new password"
ok "poppassd on loopback: changed through the writer unit, the next AUTH takes the new password"

sed -i 's/^hostname = localhost/hostname = reloaded.localhost/' /etc/sasl-smtpd.conf
kill -HUP "$main_pid"
wait_for "RELOADING=1 MONOTONIC_USEC=[0-9]" "$LOGS/notify.log"
for _ in $(seq 100); do [[ $(grep -c "READY=1" "$LOGS/notify.log") -ge 2 ]] && break; sleep 0.1; done
[[ $(sed -n '/RELOADING=1/,$p' "$LOGS/notify.log" | grep -c "READY=1") == 1 ]] || fail "no READY=1 after the reload"
greeting=$(swaks --server 127.0.0.1 --port "$submission" --to bob@example.net --quit-after EHLO 2>&1 || true)
[[ $greeting == *"<-  220 reloaded.localhost "* ]] || fail "the reloaded host name is not in the greeting: $greeting"
ok "SIGHUP (ExecReload): RELOADING=1 with MONOTONIC_USEC, READY=1, the new configuration serves"

kill -TERM "$main_pid"
wait_for "STOPPING=1" "$LOGS/notify.log"
status=0
wait "$daemon_pid" || status=$?
[[ $status == 0 ]] || fail "graceful stop exited $status"
ok "graceful stop: STOPPING=1, exit 0"

# sink = sendmail under the same unit: a sendmail that writes where the unit lets the daemon write.
printf '#!/bin/sh\ncat > /var/spool/sasl-smtpd/sendmail.out\necho "$@" >> /var/spool/sasl-smtpd/sendmail.out\n' \
  >/usr/sbin/test-sendmail
chmod 0755 /usr/sbin/test-sendmail
echo 'sink = sendmail:/usr/sbin/test-sendmail' >>/etc/sasl-smtpd.conf
: >"$LOGS/notify.log"
start_daemon
wait_for "READY=1" "$LOGS/notify.log" 30
send --port "$submission" --tls || fail "submission to the sendmail sink"
grep -q -- "-f alice@example.org -- bob@example.net" /var/spool/sasl-smtpd/sendmail.out || fail "sendmail sink"
ok "sink = sendmail runs under the unit"
read -r main_pid _ < <(grep "READY=1" "$LOGS/notify.log" | head -1)
kill -TERM "$main_pid"
wait "$daemon_pid" || true

# A configuration error ends the daemon with a status the unit does not restart on.
echo 'no_such_key = 1' >>/etc/sasl-smtpd.conf
status=0
NOTIFY_SOCKET=/run/notify.sock "${sandbox[@]}" service "$units/sasl-smtpd.service" >>"$LOGS/daemon.log" 2>&1 ||
  status=$?
prevent=$(sed -n 's/^RestartPreventExitStatus=//p' "$units/sasl-smtpd.service")
[[ " $prevent " == *" $status "* ]] || fail "a configuration error exited $status, not one of: $prevent"
ok "a configuration error exits $status, listed in RestartPreventExitStatus="
unset daemon_pid
