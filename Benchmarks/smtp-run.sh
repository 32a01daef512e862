#!/usr/bin/env bash
# Builds the release sasl-smtpd and the smtp-load client, sets up sasl-smtpd and a private Postfix 3.7 + Cyrus SASL
# (sasldb) instance on loopback, measures both side by side with the same client and TLS settings, stops them and
# removes every file it made. Run as root on Debian 12. See Benchmarks/README.md ("SMTP submission").
# Usage: Benchmarks/smtp-run.sh [smtp_bench.py options, e.g. --only tls,cram --reps 2]
# Environment: SCRATCH=<swift build scratch path> (default .build); QUICK=1 for a short smoke run (not for figures,
#   does not write Benchmarks/results/smtp-latest.txt).
# Run nothing else on the machine while measuring.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
scratch="${SCRATCH:-.build}"
[[ $(id -u) == 0 ]] || { echo "run as root (Postfix's master starts as root)" >&2; exit 1; }

# Postfix, Cyrus SASL's tools and modules (sasldb, PLAIN, CRAM-MD5), openssl, python3: install only what is missing.
# Postfix is preseeded to "No configuration": the install writes no /etc/postfix/main.cf and starts nothing.
missing=()
for package in postfix sasl2-bin libsasl2-modules libsasl2-modules-db openssl python3; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q 'install ok installed' || missing+=("$package")
done
if ((${#missing[@]})); then
  echo "installing: ${missing[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  echo "postfix postfix/main_mailer_type select No configuration" | debconf-set-selections
  echo "postfix postfix/mailname string bench.local" | debconf-set-selections
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  # Never leave a system Postfix running (port 25) because of this install.
  if [[ " ${missing[*]} " == *" postfix "* ]] && [[ -f /etc/postfix/main.cf ]] && postfix status >/dev/null 2>&1; then
    echo "stopping the system Postfix the install started" >&2
    postfix stop >/dev/null 2>&1 || true
  fi
fi

# 10,000 idle connections need as many descriptors in the daemon and in the client.
ulimit -Hn 65536 2>/dev/null || true
ulimit -n "$(ulimit -Hn)"
if (($(ulimit -n) < 12000)); then
  echo "warning: open files limit is $(ulimit -n); the 10,000-connection section needs about 10,100" >&2
fi

# Built as the package ships it (Makefile: the Swift runtime linked statically).
echo "building: swift build -c release --static-swift-stdlib --scratch-path $scratch --product sasl-smtpd / smtp-load" >&2
swift build -c release --static-swift-stdlib --scratch-path "$scratch" --product sasl-smtpd >&2
swift build -c release --static-swift-stdlib --scratch-path "$scratch" --product smtp-load >&2
bin="$(swift build -c release --static-swift-stdlib --scratch-path "$scratch" --show-bin-path)"
for b in sasl-smtpd smtp-load; do [[ -x "$bin/$b" ]] || { echo "no binary at $bin/$b" >&2; exit 1; }; done

extra=()
[[ "${QUICK:-}" == 1 ]] && extra=(--quick)

mkdir -p Benchmarks/results
out="$(mktemp)"
trap 'rm -f "$out"' EXIT
python3 Benchmarks/smtp/smtp_bench.py --smtpd "$bin/sasl-smtpd" --load "$bin/smtp-load" "${extra[@]}" "$@" | tee "$out"
if [[ "${QUICK:-}" != 1 && $# == 0 ]]; then
  cat "$out" >Benchmarks/results/smtp-latest.txt
  echo "(written to Benchmarks/results/smtp-latest.txt)" >&2
fi
