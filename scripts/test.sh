#!/usr/bin/env bash
# The whole test suite on a fresh Debian 12 machine: installs what it needs, builds, lints, runs every test.
set -euo pipefail
cd "$(dirname "$0")/.."

./scripts/install-deps.sh
swift build --build-tests
swift format lint --strict --recursive Sources Tests
swift test --skip-build --parallel --num-workers 2
