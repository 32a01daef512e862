#!/usr/bin/env bash
# Builds the release sasl-smtpd and smtp-load, then measures Postfix 3.7 authenticating through sasl-smtpd's Dovecot
# auth socket against Postfix 3.7 with Cyrus SASL (sasldb), side by side, on loopback; stops both and removes every
# file it made. Run as root on Debian 12 with scripts/install-deps.sh's packages. See Benchmarks/README.md.
# Usage: Benchmarks/dovecot-run.sh [dovecot_bench.py options, e.g. --quick, --concurrency 1,32, --wait-idle 5]
# Environment: SCRATCH=<swift build scratch path> (default .build). Run nothing else on the machine while measuring.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
scratch="${SCRATCH:-.build}"
[[ $(id -u) == 0 ]] || { echo "run as root (Postfix's master starts as root)" >&2; exit 1; }

# Built as the package ships it (Makefile: the Swift runtime linked statically).
echo "building: swift build -c release --static-swift-stdlib --scratch-path $scratch --product sasl-smtpd / smtp-load" >&2
swift build -c release --static-swift-stdlib --scratch-path "$scratch" --product sasl-smtpd >&2
swift build -c release --static-swift-stdlib --scratch-path "$scratch" --product smtp-load >&2
bin="$(swift build -c release --static-swift-stdlib --scratch-path "$scratch" --show-bin-path)"
for b in sasl-smtpd smtp-load; do [[ -x "$bin/$b" ]] || { echo "no binary at $bin/$b" >&2; exit 1; }; done

mkdir -p Benchmarks/results
out="$(mktemp)"
trap 'rm -f "$out"' EXIT
python3 Benchmarks/dovecot/dovecot_bench.py --smtpd "$bin/sasl-smtpd" --load "$bin/smtp-load" "$@" | tee "$out"
if [[ $# == 0 ]]; then
  cat "$out" >Benchmarks/results/dovecot-latest.txt
  echo "(written to Benchmarks/results/dovecot-latest.txt)" >&2
fi
