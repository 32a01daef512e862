#!/usr/bin/env bash
# Builds the release sasl-smtpd, sasldb, sasldb-postgres and smtp-load, then measures the PostgreSQL backend against
# the file backend side by side (Benchmarks/smtp/postgres_bench.py) in a private PostgreSQL cluster, and the bulk
# import rate; removes everything it made. Run as root on Debian 12, with nothing else running.
# Usage: Benchmarks/postgres-run.sh [postgres_bench.py options, e.g. --sessions 500 --reps 2 --users 20000]
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
scratch="${SCRATCH:-.build}"
[[ $(id -u) == 0 ]] || { echo "run as root (the daemons drop to nobody)" >&2; exit 1; }
# Built as the package ships it (Makefile: the Swift runtime linked statically).
for product in sasl-smtpd sasldb sasldb-postgres smtp-load; do
  swift build -c release --static-swift-stdlib --scratch-path "$scratch" --product "$product" >&2
done
bin="$(swift build -c release --static-swift-stdlib --scratch-path "$scratch" --show-bin-path)"
mkdir -p Benchmarks/results
python3 Benchmarks/smtp/postgres_bench.py --smtpd "$bin/sasl-smtpd" --load "$bin/smtp-load" --sasldb "$bin/sasldb" "$@" \
  | tee Benchmarks/results/postgres-latest.txt
