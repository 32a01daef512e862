#!/usr/bin/env python3
"""Proves that scripts/check-target-graph.py refuses the graphs it must refuse: crafted dump-package JSON files, each
run through the script as CI runs it (exit status and message)."""
import json
import os
import subprocess
import sys
import tempfile
import unittest

SCRIPT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "check-target-graph.py")


def target(name, kind="regular", by_name=(), products=()):
    dependencies = [{"byName": [other, None]} for other in by_name]
    dependencies += [{"product": [product, "swift-nio", None, None]} for product in products]
    return {"name": name, "type": kind, "dependencies": dependencies}


def layered(*extra):
    """The package's intended layering, plus `extra` targets (replacing those of the same name)."""
    targets = {
        t["name"]: t
        for t in [
            target("CCrypto", kind="system"),
            target("SASLDB", by_name=["CCrypto"]),
            target("SASLMechanisms", by_name=["SASLDB"]),
            target("ServerKit", by_name=["SASLDB", "CCrypto"], products=["NIOCore"]),
            target("SMTPSubmission", by_name=["SASLDB", "SASLMechanisms", "ServerKit"]),
            target("PasswordChange", by_name=["SASLDB", "SASLMechanisms"]),
            target("PasswordService", by_name=["PasswordChange", "ServerKit", "SASLDB"]),
            target("SASLDBPostgres", by_name=["SASLDB"]),
            target("sasl-smtpd", kind="executable", by_name=["SMTPSubmission", "PasswordService", "SASLDBPostgres"]),
            target("sasldb", kind="executable", by_name=["SASLDB", "PasswordChange"]),
            target("sasldb-postgres", kind="executable", by_name=["SASLDB", "SASLDBPostgres"]),
            target("PasswordServiceTests", kind="test", by_name=["PasswordService", "SMTPSubmission", "sasl-smtpd"]),
        ]
    }
    for t in extra:
        targets[t["name"]] = t
    return {"name": "sasldb", "targets": list(targets.values())}


class CheckTargetGraphTests(unittest.TestCase):
    def check(self, package):
        with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as file:
            json.dump(package, file)
        try:
            return subprocess.run([sys.executable, SCRIPT, file.name], capture_output=True, text=True, timeout=30)
        finally:
            os.unlink(file.name)

    def assertRefused(self, package, sentence):
        result = self.check(package)
        self.assertEqual(result.returncode, 1, result.stdout + result.stderr)
        self.assertIn(sentence, result.stderr)

    def test_the_intended_layering_passes(self):
        result = self.check(layered())
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertEqual(result.stderr, "")

    def test_a_service_importing_another_service_is_refused(self):
        bad = target("PasswordService", by_name=["PasswordChange", "ServerKit", "SMTPSubmission"])
        self.assertRefused(
            layered(bad),
            "service PasswordService depends on service SMTPSubmission: PasswordService -> SMTPSubmission",
        )

    def test_a_service_reaching_another_through_a_helper_is_refused(self):
        helper = target("SubmissionHelpers", by_name=["SMTPSubmission"])
        bad = target("AuthService", by_name=["ServerKit", "SubmissionHelpers"])
        self.assertRefused(
            layered(helper, bad),
            "service AuthService depends on service SMTPSubmission: AuthService -> SubmissionHelpers -> SMTPSubmission",
        )

    def test_the_server_kit_depending_on_a_service_is_refused(self):
        bad = target("ServerKit", by_name=["SASLDB", "PasswordService"])
        self.assertRefused(layered(bad), "shared library ServerKit depends on service PasswordService")

    def test_a_library_depending_on_an_executable_is_refused(self):
        bad = target("SASLMechanisms", by_name=["SASLDB", "sasl-smtpd"])
        self.assertRefused(layered(bad), "library SASLMechanisms depends on executable sasl-smtpd: SASLMechanisms -> sasl-smtpd")

    def test_sasldb_depending_on_the_postgres_backend_is_refused(self):
        bad = target("SASLDB", by_name=["CCrypto", "SASLDBPostgres"])
        self.assertRefused(layered(bad), "shared library SASLDB depends on database backend SASLDBPostgres")

    def test_the_file_only_tool_linking_the_postgres_backend_is_refused(self):
        bad = target("sasldb", kind="executable", by_name=["SASLDB", "SASLDBPostgres"])
        self.assertRefused(layered(bad), "the file-only tool sasldb links database backend SASLDBPostgres: sasldb -> SASLDBPostgres")

    def test_every_violation_is_named(self):
        result = self.check(layered(target("SMTPSubmission", by_name=["PasswordService"]),
                                    target("SASLDB", by_name=["sasl-smtpd"])))
        self.assertEqual(result.returncode, 1)
        self.assertIn("SMTPSubmission -> PasswordService", result.stderr)
        self.assertIn("SASLDB -> sasl-smtpd", result.stderr)


if __name__ == "__main__":
    unittest.main()
