#!/usr/bin/env python3
"""The PostgreSQL backend against the file backend, side by side in one run, and the bulk import rate.

1. AUTH PLAIN over STARTTLS (connect, EHLO, STARTTLS, EHLO, AUTH PLAIN, QUIT) at concurrency 32 with smtp-load,
   against two sasl-smtpd processes that differ only in sasldb_path: a sasldb2 file, and a PostgreSQL store in a
   private cluster (scripts/postgres-test-cluster.sh, Unix socket). Runs interleaved; medians. Server CPU per session
   is the daemon's (cgroup v2 or /proc, as smtp_bench.py), and for PostgreSQL also with the database's processes;
   queries per AUTH is the database's committed transactions (pg_stat_database) over the sessions.
2. `sasldb import` of 100,000 `user@realm:password` lines into an empty PostgreSQL store (plaintext only, Cyrus's
   default policy, so the figure is the store's and not PBKDF2's; 3 runs, each into a new database, median), the
   same import again over those users, and `sasldb convert` of the same users from a file; users per second, goal
   >= 20,000. `--import-only` runs this part alone.

Run as root through Benchmarks/postgres-run.sh (builds release binaries).
"""

import argparse
import os
import pwd
import grp
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from smtp_bench import (  # noqa: E402  (the shared harness of the SMTP benchmark)
    CPUGroup, REALM, Ours, die, free_port, interleaved, med, say, setup_files, tree_cpu,
)

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CLUSTER = os.path.join(ROOT, "scripts", "postgres-test-cluster.sh")


class Cluster:
    """A private PostgreSQL cluster: its admin URL, psql access and its processes' CPU."""

    def __init__(self, workdir):
        self.state = os.path.join(workdir, "cluster.path")
        env = dict(os.environ, SASLDB_TEST_POSTGRES_STATE=self.state)
        out = subprocess.run(["bash", CLUSTER, "start"], capture_output=True, text=True, env=env, check=True).stdout
        values = dict(line[len("export "):].split("=", 1) for line in out.splitlines() if line.startswith("export "))
        self.url = values["SASLDB_TEST_POSTGRES_URL"].strip("'")
        self.port = values["SASLDB_TEST_POSTGRES_PORT"].strip("'")
        self.socket = os.path.dirname(values["SASLDB_TEST_POSTGRES_CA"].strip("'"))
        with open(os.path.join(self.socket, "data", "postmaster.pid")) as f:
            self.pid = int(f.readline())

    def psql(self, sql, database="postgres"):
        return subprocess.run(["psql", "-X", "-A", "-t", "-h", self.socket, "-p", self.port, "-U", "postgres", "-d",
                               database, "-c", sql], capture_output=True, text=True, check=True).stdout.strip()

    def database_url(self, name):
        return self.url.replace("/postgres?", f"/{name}?")

    def cpu(self):
        return tree_cpu(self.pid)

    def commits(self, database):
        # Idle backends flush their statistics within 10 s (PGSTAT_IDLE_INTERVAL).
        time.sleep(11)
        return int(self.psql(f"SELECT xact_commit FROM pg_stat_database WHERE datname = '{database}'"))

    def stop(self):
        subprocess.run(["bash", CLUSTER, "stop"], env=dict(os.environ, SASLDB_TEST_POSTGRES_STATE=self.state))


def sasldb(args, *arguments, stdin=None):
    t0 = time.monotonic()
    out = subprocess.run([args.sasldb, *arguments], input=stdin, capture_output=True,
                         env=dict(os.environ, SASLDB_CONFIG="/dev/null"))
    if out.returncode != 0:
        die(f"sasldb {' '.join(arguments)} failed ({out.returncode}): {out.stderr.decode()}")
    return time.monotonic() - t0


def sasldb_timed(args, *arguments, stdin=None):
    """Wall seconds and CPU seconds of `sasldb` and its helper (sasldb-postgres, which it waits for)."""
    before = os.times()
    seconds = sasldb(args, *arguments, stdin=stdin)
    after = os.times()
    cpu = (after.children_user - before.children_user) + (after.children_system - before.children_system)
    return seconds, cpu


def bulk_import(args, cluster, workdir):
    say()
    say(f"2. bulk import of {args.users} users (user@realm:password lines, plaintext only) into PostgreSQL, "
        f"{args.import_reps} runs, each into a new database; medians")
    lines = "".join(f"user{i}@{REALM}:password-{i}\n" for i in range(args.users)).encode()
    runs = []
    for rep in range(args.import_reps):
        name = f"bulk{rep}"
        cluster.psql(f"CREATE DATABASE {name}")
        url = cluster.database_url(name)
        sasldb(args, "db", "init", "-f", url)
        db_before = cluster.cpu()
        seconds, cpu = sasldb_timed(args, "import", "-f", url, stdin=lines)
        runs.append((seconds, cpu, cluster.cpu() - db_before))
    rows = cluster.psql("SELECT count(*) FROM sasldb", database=name)
    seconds = med([r[0] for r in runs])
    say(f"   sasldb import: {seconds:.2f} s, {args.users / seconds:,.0f} users/s ({rows} rows); goal >= 20,000; "
        f"runs: {', '.join(f'{args.users / r[0]:,.0f}' for r in runs)} users/s")
    say(f"   CPU: sasldb + sasldb-postgres {med([r[1] for r in runs]):.2f} s, "
        f"PostgreSQL (live processes) {med([r[2] for r in runs]):.2f} s")
    seconds, cpu = sasldb_timed(args, "import", "-f", url, stdin=lines)
    say(f"   again into the last database (every user exists, secrets replaced): {seconds:.2f} s, "
        f"{args.users / seconds:,.0f} users/s, CPU {cpu:.2f} s")
    cluster.psql("CREATE DATABASE bulkconv")
    bulk2 = cluster.database_url("bulkconv")
    sasldb(args, "db", "init", "-f", bulk2)
    bulk_file = os.path.join(workdir, "bulk.sasldb2")
    sasldb(args, "convert", "--to", "bdb", url, bulk_file)
    seconds = sasldb(args, "convert", bulk_file, bulk2)
    say(f"   sasldb convert file -> PostgreSQL: {seconds:.2f} s, {args.users / seconds:,.0f} users/s")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--smtpd")
    ap.add_argument("--load")
    ap.add_argument("--sasldb", required=True)
    ap.add_argument("--sessions", type=int, default=2000)
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--users", type=int, default=100_000)
    ap.add_argument("--import-reps", type=int, default=3, help="bulk imports, each into a new database")
    ap.add_argument("--import-only", action="store_true", help="only part 2 (no daemons: --smtpd, --load unused)")
    args = ap.parse_args()
    if not args.import_only and not (args.smtpd and args.load):
        die("--smtpd and --load are needed unless --import-only")
    if os.geteuid() != 0:
        die("run as root (the daemons drop to nobody)")
    CPUGroup.setup()
    workdir = tempfile.mkdtemp(prefix="pg-bench.", dir="/var/tmp")
    os.chmod(workdir, 0o755)
    cluster = Cluster(workdir)
    servers = []
    try:
        say("PostgreSQL backend vs file backend, loopback, side by side")
        say(f"host: {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}; "
            f"PostgreSQL: {cluster.psql('SHOW server_version')} (private cluster, socket)")
        if args.import_only:
            bulk_import(args, cluster, workdir)
            return
        certs, sasldb_file = setup_files(workdir)
        cert, key = certs["rsa2048"]
        cluster.psql("CREATE DATABASE bench")
        url = cluster.database_url("bench")
        sasldb(args, "db", "init", "-f", url)
        sasldb(args, "convert", sasldb_file, url)
        maildir = os.path.join(workdir, "Maildir")
        os.mkdir(maildir, 0o700)
        os.chown(maildir, pwd.getpwnam("nobody").pw_uid, grp.getgrnam("postfix").gr_gid)
        ports = {"file": free_port(), "postgres": free_port()}
        daemons = {}
        for label, location in (("file", sasldb_file), ("postgres", url)):
            daemon = Ours(args.smtpd, workdir, label, [
                ("hostname", "localhost"), ("tls_certificate", cert), ("tls_key", key),
                ("tls_minimum_version", "1.3"), ("sasldb_path", location), ("default_realm", REALM),
                ("sink", "maildir:" + maildir), ("user", "nobody"), ("group", "postfix"),
                ("poppassd_listen", ""), ("passwd_socket", ""), ("max_connections", "1000"),
                ("max_connections_per_address", "1000"),
                ("submission_listen", f"127.0.0.1:{ports[label]}"),
            ])
            daemon.name = label
            daemon.check()
            daemon.start(ports[label])
            servers.append(daemon)
            daemons[label] = daemon

        say(f"1. connect, EHLO, STARTTLS, EHLO, AUTH PLAIN, QUIT at concurrency 32; {args.sessions} sessions per run, "
            f"{args.reps} runs each, interleaved")
        pairs = [(daemons["file"], ports["file"]), (daemons["postgres"], ports["postgres"])]
        commits_before = cluster.commits("bench")
        db_cpu_before = cluster.cpu()
        results = interleaved(argparse.Namespace(load=args.load, quick=False), pairs, "tls-auth", args.sessions, 32,
                              args.reps)
        db_cpu = cluster.cpu() - db_cpu_before
        commits = cluster.commits("bench") - commits_before
        warm = max(5 * 32, 100)
        pg_sessions = sum(r.ok for r in results["postgres"]) + warm
        say()
        say(f"{'figure':<44}{'file':>12}{'postgres':>12}")
        for name, get, fmt in (("sessions/s", lambda r: r.rate, "{:.0f}"),
                               ("p50 ms", lambda r: r.data["p50_ms"], "{:.2f}"),
                               ("p99 ms", lambda r: r.data["p99_ms"], "{:.2f}"),
                               ("daemon CPU ms/session", lambda r: r.cpu_ms, "{:.3f}")):
            say(f"{name:<44}{fmt.format(med([get(r) for r in results['file']])):>12}"
                f"{fmt.format(med([get(r) for r in results['postgres']])):>12}")
        say(f"{'database CPU ms/session (postgres processes)':<44}{'-':>12}{db_cpu * 1000 / pg_sessions:>12.3f}")
        say(f"{'queries per AUTH (committed transactions)':<44}{'-':>12}{commits / pg_sessions:>12.3f}")

        bulk_import(args, cluster, workdir)
    finally:
        for server in servers:
            server.stop()
        cluster.stop()
        CPUGroup.teardown()
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
