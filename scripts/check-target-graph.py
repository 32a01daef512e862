#!/usr/bin/env python3
"""Checks the package's target graph against the layering of Docs/architecture.md.

Reads the JSON of `swift package dump-package` (run here, or from the file given as the only argument) and fails,
naming each offending path of dependencies, when:
  - a service target (SMTPSubmission, PasswordService, AuthService) depends on another service target;
  - a shared library (ServerKit, SASLMechanisms, SASLDB, PasswordChange,
    PAMAuthentication) depends on a service or an executable;
  - any library target depends on an executable target;
  - a shared library, or the file-only `sasldb` tool, depends on a database backend (SASLDBPostgres): file-only
    users must not link postgres-nio (and with it Foundation, ~5 ms per start of the tool).
Dependencies are followed through the package's own targets, so a path through a helper library counts too.
"""
import json
import subprocess
import sys

SERVICES = {"SMTPSubmission", "PasswordService", "AuthService"}
SHARED = {"ServerKit", "SASLMechanisms", "SASLDB", "PasswordChange", "PAMAuthentication"}
DATABASE_BACKENDS = {"SASLDBPostgres"}
FILE_ONLY_EXECUTABLES = {"sasldb"}
LIBRARY_TYPES = {"regular", "system"}


def local_dependencies(target, names):
    """The names of the package's own targets that `target` depends on directly (products of others are left out)."""
    found = []
    for dependency in target.get("dependencies", []):
        for kind in ("byName", "target"):
            if kind in dependency and dependency[kind][0] in names:
                found.append(dependency[kind][0])
    return found


def paths_from(start, graph):
    """Every target reachable from `start`, with the shortest path that reaches it."""
    paths = {start: [start]}
    queue = [start]
    while queue:
        current = queue.pop(0)
        for following in graph.get(current, []):
            if following not in paths:
                paths[following] = paths[current] + [following]
                queue.append(following)
    return paths


def violations(package):
    """The sentences naming each forbidden dependency of `package` (the dump-package JSON), empty when none."""
    kinds = {target["name"]: target["type"] for target in package["targets"]}
    graph = {target["name"]: local_dependencies(target, kinds) for target in package["targets"]}
    found = []
    for name, kind in sorted(kinds.items()):
        if name in FILE_ONLY_EXECUTABLES:
            for reached, path in sorted(paths_from(name, graph).items()):
                if reached in DATABASE_BACKENDS:
                    found.append(f"the file-only tool {name} links database backend {reached}: {' -> '.join(path)}")
        if kind not in LIBRARY_TYPES:
            continue
        for reached, path in sorted(paths_from(name, graph).items()):
            if reached == name:
                continue
            edge = " -> ".join(path)
            if name in SERVICES and reached in SERVICES:
                found.append(f"service {name} depends on service {reached}: {edge}")
            elif name in SHARED and reached in SERVICES:
                found.append(f"shared library {name} depends on service {reached}: {edge}")
            elif name in SHARED and reached in DATABASE_BACKENDS:
                found.append(f"shared library {name} depends on database backend {reached}: {edge}")
            elif kinds[reached] == "executable":
                found.append(f"library {name} depends on executable {reached}: {edge}")
    return found


def main(arguments):
    if len(arguments) > 1:
        with open(arguments[1], encoding="utf-8") as file:
            package = json.load(file)
    else:
        dump = subprocess.run(["swift", "package", "dump-package"], check=True, capture_output=True, text=True)
        package = json.loads(dump.stdout)
    found = violations(package)
    for sentence in found:
        print(f"target graph: {sentence}", file=sys.stderr)
    if found:
        print("target graph: services build on ServerKit, SASLMechanisms and SASLDB, never on each other; "
              "see Docs/architecture.md", file=sys.stderr)
        return 1
    print(f"target graph: {len(package['targets'])} targets, layering respected")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
