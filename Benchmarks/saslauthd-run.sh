#!/usr/bin/env bash
# Builds the release sasl-smtpd and the saslauthd-load client, then measures sasl-smtpd's saslauthd socket beside
# Debian's saslauthd -a sasldb on the same sasldb2 file (Benchmarks/saslauthd/saslauthd_bench.py). Run as root on
# Debian 12, with nothing else running. See Benchmarks/README.md ("saslauthd protocol").
# Usage: Benchmarks/saslauthd-run.sh [saslauthd_bench.py options, e.g. --seconds 10 --rounds 5]
# Environment: SCRATCH=<swift build scratch path> (default .build).
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
scratch="${SCRATCH:-.build}"
[[ $(id -u) == 0 ]] || { echo "run as root (saslauthd runs in a mount namespace of its own)" >&2; exit 1; }
for tool in saslauthd saslpasswd2 "${CC:-cc}" openssl unshare python3; do
  command -v "$tool" >/dev/null || { echo "$tool is missing: run scripts/install-deps.sh" >&2; exit 1; }
done

# Built as the package ships it (Makefile: the Swift runtime linked statically).
swift build -c release --static-swift-stdlib --scratch-path "$scratch" --product sasl-smtpd >&2
bin="$(swift build -c release --static-swift-stdlib --scratch-path "$scratch" --show-bin-path)"
load="$(mktemp -d)/saslauthd-load"
trap 'rm -rf "$(dirname "$load")"' EXIT
"${CC:-cc}" -O2 -Wall -Wextra -pthread -o "$load" Benchmarks/saslauthd/saslauthd-load.c

mkdir -p Benchmarks/results
out="$(mktemp)"
trap 'rm -rf "$(dirname "$load")" "$out"' EXIT
python3 Benchmarks/saslauthd/saslauthd_bench.py --smtpd "$bin/sasl-smtpd" --load "$load" "$@" | tee "$out"
if [[ $# == 0 ]]; then
  cp "$out" Benchmarks/results/saslauthd-latest.txt
  echo "(written to Benchmarks/results/saslauthd-latest.txt)" >&2
fi
