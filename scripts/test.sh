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
libraries=$(swift package dump-package | python3 -c '
import json, sys
for product in json.load(sys.stdin)["products"]:
    if "library" in product["type"]:
        print(" ".join("--target " + target for target in product["targets"]))
')
# shellcheck disable=SC2086 # one --target flag per word
swift package generate-documentation $libraries
# The packages' tests (InteropTests/PackageTests): a Debian 12 tree made once per run by debootstrap, and the .deb of
# this checkout built twice, as a previous version and as this one, for the upgrade. Removed again at the end.
debian_tree=${SASLDB_DEBIAN_TREE:-/tmp/sasldb-debian12-$$}
if [[ $(id -u) == 0 ]]; then
  # A tree given in SASLDB_DEBIAN_TREE is the developer's and stays; one made here goes at the end.
  [[ -n ${SASLDB_DEBIAN_TREE:-} ]] || trap './scripts/debian-tree.sh remove "$debian_tree"' EXIT
  ./scripts/debian-tree.sh create "$debian_tree"
  export SASLDB_DEBIAN_TREE=$debian_tree
  SASLDB_PREVIOUS_DEB=$(VERSION=0.0.1 OUT=.build/deb-previous ./scripts/build-deb.sh)
  SASLDB_DEB=$(./scripts/build-deb.sh)
  export SASLDB_PREVIOUS_DEB SASLDB_DEB
fi
status=0
# A short bounded run of every libFuzzer target (Fuzz/); a long run is `FUZZ_SECONDS=3600 scripts/fuzz.sh TARGET`.
FUZZ_SECONDS="${FUZZ_SECONDS:-10}" ./scripts/fuzz.sh || status=$?
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
