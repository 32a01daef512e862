#!/usr/bin/env bash
# A throwaway PostgreSQL cluster for the tests: `start` makes one in a temporary folder (Unix socket in that folder,
# loopback TCP with TLS on a free port) and prints the environment the tests read; `stop` ends it and removes the
# folder. scripts/test.sh runs it around `swift test`; by hand:
#   eval "$(scripts/postgres-test-cluster.sh start)"; swift test --filter SASLDBPostgresTests; scripts/postgres-test-cluster.sh stop
set -euo pipefail
bin=${POSTGRES_BIN:-/usr/lib/postgresql/15/bin}
state=${SASLDB_TEST_POSTGRES_STATE:-/tmp/sasldb-test-postgres.path}
# initdb refuses to run as root: the cluster belongs to the postgres account the Debian package creates.
owner=postgres
as_owner() { if [[ $(id -u) == 0 ]]; then runuser -u "$owner" -- "$@"; else "$@"; fi; }

start() {
  # Descriptors the caller left open must not live on in the server: a caller that waits for them to close (as
  # Foundation's Process does) would wait for ever. 255 is bash's own, reading this script.
  for fd in /proc/$$/fd/*; do
    fd=${fd##*/}
    if ((fd > 2 && fd != 255)); then eval "exec $fd>&-" 2>/dev/null || true; fi
  done
  [[ -x $bin/initdb ]] || { echo "no PostgreSQL in $bin: run scripts/install-deps.sh" >&2; exit 1; }
  [[ $(id -u) == 0 ]] || owner=$(id -un)
  dir=$(mktemp -d /tmp/sasldb-pg.XXXXXX)
  chmod 755 "$dir"
  chown "$owner" "$dir"
  port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  as_owner "$bin/initdb" -D "$dir/data" -U postgres -E UTF8 --locale=C.UTF-8 -A trust >/dev/null
  # A certificate for 127.0.0.1 and localhost, signed by itself: the tests verify against it (verify-full).
  openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=localhost \
    -addext "subjectAltName=DNS:localhost,IP:127.0.0.1" -keyout "$dir/server.key" -out "$dir/server.crt" 2>/dev/null
  chown "$owner" "$dir/server.key" "$dir/server.crt"
  chmod 600 "$dir/server.key"
  cat >>"$dir/data/postgresql.conf" <<CONF
listen_addresses = '127.0.0.1'
port = $port
unix_socket_directories = '$dir'
ssl = on
ssl_cert_file = '$dir/server.crt'
ssl_key_file = '$dir/server.key'
max_connections = 200
fsync = off
CONF
  # The socket trusts local accounts (the tests are the cluster's administrator); TCP asks for a password.
  cat >"$dir/data/pg_hba.conf" <<CONF
local all all trust
host all postgres 127.0.0.1/32 trust
host all all 127.0.0.1/32 scram-sha-256
CONF
  as_owner "$bin/pg_ctl" -D "$dir/data" -l "$dir/log" -w start >/dev/null
  echo "$dir" >"$state"
  cat >"$dir/env" <<ENV
export SASLDB_TEST_POSTGRES_URL='postgresql://postgres@:$port/postgres?host=$dir'
export SASLDB_TEST_POSTGRES_PORT='$port'
export SASLDB_TEST_POSTGRES_CA='$dir/server.crt'
export SASLDB_TEST_POSTGRES_CTL='$dir/ctl'
ENV
  # The stop/start tests run this to take the server down and bring it back.
  cat >"$dir/ctl" <<CTL
#!/usr/bin/env bash
set -e
for fd in /proc/\$\$/fd/*; do
  fd=\${fd##*/}
  if ((fd > 2 && fd != 255)); then eval "exec \$fd>&-" 2>/dev/null || true; fi
done
if [[ \$(id -u) == 0 ]]; then exec runuser -u $owner -- "$bin/pg_ctl" -D "$dir/data" -l "$dir/log" -w -m fast "\$1"; fi
exec "$bin/pg_ctl" -D "$dir/data" -l "$dir/log" -w -m fast "\$1"
CTL
  chmod 755 "$dir/ctl"
  cat "$dir/env"
}

stop() {
  [[ -f $state ]] || return 0
  dir=$(cat "$state")
  if [[ -d $dir/data ]]; then
    owner=$(stat -c %U "$dir/data")
    as_owner "$bin/pg_ctl" -D "$dir/data" -w -m immediate stop >/dev/null 2>&1 || true
  fi
  rm -rf "$dir" "$state"
}

case "${1:-}" in
  start) stop; start ;;
  stop) stop ;;
  *) echo "usage: $0 start|stop" >&2; exit 64 ;;
esac
