#!/usr/bin/env bash
# The whole test suite on a fresh Debian 12 machine: installs what it needs, builds, lints, runs every test.
set -euo pipefail
cd "$(dirname "$0")/.."

./scripts/install-deps.sh
swift build --build-tests
# The shipped systemd units: verify clean, exposure at most 2.0 (daemon) and 1.5 (password writer).
./scripts/check-units.sh
# The layering of Docs/architecture.md: no service target on another, nothing shared on a service or an executable.
# The script's own tests first: it must refuse the crafted bad graphs before its pass on ours means anything.
python3 scripts/test_check_target_graph.py
python3 scripts/check-target-graph.py
swift format lint --strict --recursive Sources Tests Examples Benchmarks/MechanismBenchmark Benchmarks/SMTPLoad
# The DocC catalog of every library product (Sources/<Target>/<Target>.docc), built with swift-docc-plugin into
# .build/plugins/Swift-DocC/outputs; a documentation error fails the run.
products=$(swift package dump-package)
libraries=$(python3 -c '
import json, sys
for product in json.load(sys.stdin)["products"]:
    if "library" in product["type"]:
        print(" ".join("--target " + target for target in product["targets"]))
' <<<"$products")
# The executable products, for the RPM test's rpmbuild (which must not ask SwiftPM while swift test runs).
SASLDB_EXECUTABLES=$(python3 -c '
import json, sys
print(" ".join(p["name"] for p in json.load(sys.stdin)["products"] if "executable" in p["type"]))
' <<<"$products")
export SASLDB_EXECUTABLES
# shellcheck disable=SC2086 # one --target flag per word
swift package generate-documentation $libraries
# The packages' tests (InteropTests/PackageTests): a Debian 12 tree made once per run by debootstrap, and the .deb of
# this checkout built twice, as a previous version and as this one, for the upgrade. Removed again at the end.
# Everything started or made for the run is undone however it ends.
cleanups=()
cleanup() { for command in "${cleanups[@]}"; do eval "$command" || true; done; }
trap cleanup EXIT
debian_tree=${SASLDB_DEBIAN_TREE:-/tmp/sasldb-debian12-$$}
if [[ $(id -u) == 0 ]]; then
  # A tree given in SASLDB_DEBIAN_TREE is the developer's and stays; one made here goes at the end.
  [[ -n ${SASLDB_DEBIAN_TREE:-} ]] || cleanups+=("./scripts/debian-tree.sh remove '$debian_tree'")
  ./scripts/debian-tree.sh create "$debian_tree"
  export SASLDB_DEBIAN_TREE=$debian_tree
  SASLDB_PREVIOUS_DEB=$(VERSION=0.0.1 OUT=.build/deb-previous ./scripts/build-deb.sh)
  SASLDB_DEB=$(./scripts/build-deb.sh)
  export SASLDB_PREVIOUS_DEB SASLDB_DEB
fi
status=0
# A short bounded run of every libFuzzer target (Fuzz/); a long run is `FUZZ_SECONDS=3600 scripts/fuzz.sh TARGET`.
FUZZ_SECONDS="${FUZZ_SECONDS:-10}" ./scripts/fuzz.sh || status=$?
# Exim for the Dovecot auth socket's interop tests, unpacked beside the build (it cannot be installed with Postfix).
export SASLDB_EXIM_DIR="$PWD/.build/exim-peer"
./scripts/exim-peer.sh "$SASLDB_EXIM_DIR" >/dev/null || status=$?
# A PostgreSQL cluster of the run's own (temporary folder, Unix socket and loopback) for the PostgreSQL backend's
# tests, which find it through SASLDB_TEST_POSTGRES_URL; stopped however the run ends.
cleanups+=("./scripts/postgres-test-cluster.sh stop")
cluster=$(./scripts/postgres-test-cluster.sh start)  # an assignment, so a failed start stops the run (set -e)
eval "$cluster"
swift test --skip-build --parallel --num-workers 2 --disable-swift-testing --xunit-output .build/xunit.xml || status=$?
# One closing line with the counts, read from the XUnit report (the parallel runner prints none of its own).
python3 - .build/xunit.xml <<'PY'
import sys, xml.etree.ElementTree as ET
root = ET.parse(sys.argv[1]).getroot()
suites = [root] if root.tag == "testsuite" else root.iter("testsuite")
tests = failures = skipped = 0
for suite in suites:
    for case in suite.iter("testcase"):
        tests += 1
        if case.find("failure") is not None or case.find("error") is not None:
            failures += 1
        elif case.find("skipped") is not None:
            skipped += 1
print(f"tests: {tests - failures - skipped} passed, {failures} failed, {skipped} skipped")
PY
exit "$status"
