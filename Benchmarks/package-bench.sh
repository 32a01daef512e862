#!/usr/bin/env bash
# The figures for the package: each installed binary's size, and the per-call time of the package's saslpasswd2 and
# `sasldb add` next to Debian's saslpasswd2 (hyperfine, median of RUNS runs, the three side by side in one run).
# Usage: Benchmarks/package-bench.sh path/to/sasldb_*.deb   (scripts/build-deb.sh makes it)
# The package is unpacked into a temporary folder, not installed; every database is a temporary file.
set -euo pipefail
deb=${1:?usage: $0 sasldb.deb}
runs=${RUNS:-30}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
dpkg-deb -x "$deb" "$work/root"

echo "installed sizes ($(dpkg-deb -f "$deb" Package) $(dpkg-deb -f "$deb" Version)):"
find "$work/root/usr/bin" "$work/root/usr/sbin" -type f -printf '  %p %s\n' |
  sed "s|$work/root||" | awk '{ printf "  %-24s %9d bytes (%.1f MiB)\n", $1, $2, $2 / 1048576 }'

# An empty site file: the host's /etc/sasl2/sasldb.conf must not change what is measured.
: >"$work/sasldb.conf"
export SASLDB_CONFIG=$work/sasldb.conf
ours=$work/root/usr/lib/sasldb/cyrus/saslpasswd2
sasldb=$work/root/usr/bin/sasldb
# Each command sets the same user's password in a Berkeley DB file of its own holding 100 other users, as an
# administrator's `saslpasswd2 -c` on a small site does.
for name in cyrus ours add; do
  for i in $(seq 100); do echo "user$i@example.org:password-$i"; done |
    "$sasldb" import -f "$work/$name.db" --format bdb >/dev/null 2>&1
done
hyperfine --style basic --warmup 3 --runs "$runs" --export-json "$work/result.json" \
  -n "Debian saslpasswd2" "echo secret-Password-1 | /usr/sbin/saslpasswd2 -p -c -f $work/cyrus.db -u example.org alice" \
  -n "sasldb saslpasswd2" "echo secret-Password-1 | $ours -p -c -f $work/ours.db -u example.org alice" \
  -n "sasldb add" "echo secret-Password-1 | $sasldb add -f $work/add.db alice@example.org" >&2
python3 - "$work/result.json" <<'PY'
import json, sys
results = json.load(open(sys.argv[1]))["results"]
base = results[0]["median"]
print(f"per call, median of {len(results[0]['times'])} runs (hyperfine, one run):")
for r in results:
    print(f"  {r['command']:<20} {r['median'] * 1000:7.2f} ms  ({r['median'] / base:.2f}x Debian's saslpasswd2)")
PY
