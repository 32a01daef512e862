#!/usr/bin/env bash
# The main job with an embedded default: builds sasldb, creates a demo database under ./.state,
# adds a demo user and lists it. Nothing outside this folder is touched.
set -euo pipefail
cd "$(dirname "$0")/.."

./scripts/install-deps.sh
swift build -c release --product sasldb
bin=$(swift build -c release --show-bin-path)/sasldb
state=.state
mkdir -p "$state"
chmod 700 "$state"
export SASLDB_PATH="$PWD/$state/sasldb2"

echo "demo database: $SASLDB_PATH"
printf 'demo-password\n' | "$bin" add --stdin --realm demo.local demo
printf 'demo-password\n' | "$bin" verify --stdin --realm demo.local demo
"$bin" list
"$bin" check
