#!/usr/bin/env bash
# The main job with an embedded default: builds sasldb and sasl-smtpd, creates a demo database under ./.state, adds a
# demo user, verifies and lists it, then runs the submission daemon on it in the foreground (127.0.0.1:2587 with
# STARTTLS, 127.0.0.1:2465 with TLS, delivering into ./.state/Maildir), printing the swaks and curl command lines that
# send a test message through it. Ctrl-C stops it. Nothing outside this folder is touched.
# Extra arguments go to sasl-smtpd, for example: ./scripts/demo.sh --submission-listen 127.0.0.1:3587
set -euo pipefail
cd "$(dirname "$0")/.."

./scripts/install-deps.sh
swift build -c release --product sasldb
swift build -c release --product sasl-smtpd
bin=$(swift build -c release --show-bin-path)
state=.state
mkdir -p "$state"
chmod 700 "$state"
export SASLDB_PATH="$PWD/$state/sasldb2"

echo "demo database: $SASLDB_PATH"
printf 'demo-password\n' | "$bin/sasldb" add --stdin --realm demo.local demo
printf 'demo-password\n' | "$bin/sasldb" verify --stdin --realm demo.local demo
"$bin/sasldb" list
"$bin/sasldb" check

# The daemon: a self-signed certificate (made with openssl) and the spool appear under ./.state; the demo user is the
# one just added. Its configuration is ./.state/sasl-smtpd.conf: edit it and send SIGHUP to reload.
echo "starting: sasl-smtpd --demo $state $* (Ctrl-C stops it)"
exec "$bin/sasl-smtpd" --demo "$state" "$@"
