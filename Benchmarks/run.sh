#!/usr/bin/env bash
# Builds the release sasldb and benchmarks it side by side with Debian's Cyrus SASL tools.
# Usage: Benchmarks/run.sh [bench.py options, e.g. --n 50 --only add,startup]
# Environment: SCRATCH=<swift build scratch path> (default .build); QUICK=1 for a short smoke run (not for figures);
#   SWIFT_BUILD_FLAGS="..." flags for swift build (default: a fully static executable, as the CLI is shipped, since
#   loading ~20 shared libraries costs 4 ms per process; set it to "" to measure the dynamic build).
# Prints everything; the last complete run's output is kept in Benchmarks/results/latest.txt.
# Run nothing else on the machine while measuring.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
scratch="${SCRATCH:-.build}"

# Cyrus's tools, Berkeley DB's utilities, python3: install only what is missing (Debian).
missing=()
for package in sasl2-bin libsasl2-modules db5.3-util python3 time; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q 'install ok installed' || missing+=("$package")
done
if ((${#missing[@]})); then
  echo "installing: ${missing[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

SWIFT_BUILD_FLAGS="${SWIFT_BUILD_FLAGS---static-swift-stdlib -Xswiftc -static-executable}"
read -r -a build_flags <<<"${SWIFT_BUILD_FLAGS}"
echo "building: swift build -c release --scratch-path $scratch ${build_flags[*]} --product sasldb" >&2
swift build -c release --scratch-path "$scratch" "${build_flags[@]}" --product sasldb >&2
bin="$(swift build -c release --scratch-path "$scratch" "${build_flags[@]}" --show-bin-path)/sasldb"
[[ -x "$bin" ]] || { echo "no binary at $bin" >&2; exit 1; }

extra=()
if [[ "${QUICK:-}" == 1 ]]; then
  extra=(--n 20 --warmup 2 --users 10000 --cyrus-loop-users 100 --scram-users 500 --import-runs 1 --scram-runs 1 --list-runs 3)
fi

mkdir -p Benchmarks/results
out="$(mktemp)"
trap 'rm -f "$out"' EXIT
python3 Benchmarks/bench.py --sasldb "$bin" "--build-flags=${SWIFT_BUILD_FLAGS:-}" "${extra[@]}" "$@" | tee "$out"
if [[ "${QUICK:-}" != 1 ]]; then
  cat "$out" >Benchmarks/results/latest.txt
  echo "(written to Benchmarks/results/latest.txt)" >&2
fi
