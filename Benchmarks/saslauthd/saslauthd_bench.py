#!/usr/bin/env python3
"""Side-by-side saslauthd benchmark: sasl-smtpd's saslauthd socket against Debian's saslauthd -a sasldb.

Run through Benchmarks/saslauthd-run.sh (root, Debian 12), which builds the release sasl-smtpd and the load client.
Python 3 standard library only.

Both servers check the same Berkeley DB sasldb2 file, made by Cyrus's saslpasswd2 in a temporary directory, holding
bench@bench.local with a plaintext password (Cyrus's default). Debian's saslauthd reads only /etc/sasldb2, so it is
started in a private mount namespace (unshare -m) where that file is bind-mounted over /etc/sasldb2: the real
/etc/sasldb2 is neither read nor changed. It runs as Debian starts it (-n 5: five preforked processes), with its
socket in the temporary directory (-m). Ours is sasl-smtpd with saslauthd_socket in the temporary directory,
started as root and dropping to nobody, log_level = notice (saslauthd logs no success either).

The client is saslauthd-load (C, pthreads): each of N threads connects, sends the five strings in one write as libsasl
does, reads the reply until the server closes, checks it is OK. For each concurrency the two servers are measured in
turns (ours first in odd rounds, theirs first in even ones), each turn `--seconds` long; the figures are medians over
the rounds. Server CPU is read from /proc for the server's process tree (utime + stime + cutime + cstime of every
live process of the tree), so CPU per request includes every preforked saslauthd process.
"""

import argparse
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time

# The /proc readings, free_port, say and die of the SMTP benchmark, so both count CPU the same way.
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "smtp"))
from smtp_bench import die, free_port, read_stat, say, tree_cpu  # noqa: E402

LOGIN, REALM, PASSWORD = "bench", "bench.local", "bench-secret-1"


def wait_for_socket(path, seconds=30):
    deadline = time.time() + seconds
    while time.time() < deadline:
        try:
            s = socket.socket(socket.AF_UNIX)
            s.connect(path)
            s.close()
            return
        except OSError:
            time.sleep(0.1)
    die(f"nothing answers on {path}")


class Cyrus:
    name = "saslauthd"

    def __init__(self, workdir, database):
        self.run = os.path.join(workdir, "cyrus")
        os.makedirs(self.run)
        self.socket = os.path.join(self.run, "mux")
        self.database = database
        self.pid = None

    def start(self):
        command = f"mount --bind {self.database} /etc/sasldb2 && exec saslauthd -a sasldb -m {self.run} -n 5"
        subprocess.run(["unshare", "-m", "--propagation", "private", "sh", "-c", command], check=True)
        wait_for_socket(self.socket)
        with open(os.path.join(self.run, "saslauthd.pid")) as f:
            self.pid = int(f.read().split()[0])

    def stop(self):
        if self.pid:
            os.kill(self.pid, signal.SIGTERM)
            for _ in range(100):
                if read_stat(self.pid) is None:
                    break
                time.sleep(0.05)


class Ours:
    name = "ours"

    def __init__(self, binary, workdir, database):
        self.dir = os.path.join(workdir, "ours")
        os.makedirs(self.dir)
        os.chmod(workdir, 0o755)
        self.socket = os.path.join(self.dir, "run", "mux")
        self.log = os.path.join(self.dir, "sasl-smtpd.log")
        cert, key = os.path.join(self.dir, "cert.pem"), os.path.join(self.dir, "key.pem")
        subprocess.run(
            ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=bench.local",
             "-keyout", key, "-out", cert], check=True, capture_output=True)
        self.config = os.path.join(self.dir, "sasl-smtpd.conf")
        settings = {
            "hostname": "bench.local",
            "submission_listen": f"127.0.0.1:{free_port()}",
            "tls_certificate": cert,
            "tls_key": key,
            "sasldb_path": database,
            "default_realm": REALM,
            "sink": f"maildir:{os.path.join(self.dir, 'Maildir')}",
            "passwd_socket": "",
            "saslauthd_socket": self.socket,
            "user": "nobody",
            "group": "nogroup",
            "log_level": "notice",
        }
        with open(self.config, "w") as f:
            for k, v in settings.items():
                f.write(f"{k} = {v}\n")
        self.binary, self.process = binary, None

    @property
    def pid(self):
        return self.process.pid

    def start(self):
        check = subprocess.run([self.binary, "--config", self.config, "--check-config"], capture_output=True, text=True)
        if check.returncode != 0:
            die(f"sasl-smtpd --check-config failed:\n{check.stdout}{check.stderr}")
        log = open(self.log, "ab")
        self.process = subprocess.Popen([self.binary, "--config", self.config], stdout=log, stderr=log,
                                        stdin=subprocess.DEVNULL, start_new_session=True)
        log.close()
        wait_for_socket(self.socket)

    def stop(self):
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(40)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def measure(load, server, concurrency, seconds):
    before = tree_cpu(server.pid)
    out = subprocess.run(
        [load, server.socket, str(concurrency), str(seconds), LOGIN, PASSWORD, "smtp", REALM, "127.0.0.1;1", "OK"],
        capture_output=True, text=True, check=True)
    cpu = tree_cpu(server.pid) - before
    result = json.loads(out.stdout)
    if result["failures"]:
        die(f"{server.name}: {result['failures']} of {result['requests']} requests failed")
    result["cpu_us_per_request"] = cpu / result["requests"] * 1e6 if result["requests"] else 0
    return result


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--smtpd", required=True, help="release sasl-smtpd binary")
    ap.add_argument("--load", required=True, help="saslauthd-load binary")
    ap.add_argument("--seconds", type=float, default=5)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--concurrency", default="1,32")
    args = ap.parse_args()
    if os.geteuid() != 0:
        die("run as root (saslauthd's namespace, sasl-smtpd's privilege drop)")
    levels = [int(x) for x in args.concurrency.split(",")]
    workdir = tempfile.mkdtemp(prefix="saslauthd-bench-")
    database = os.path.join(workdir, "sasldb2")
    subprocess.run(["saslpasswd2", "-p", "-c", "-f", database, "-u", REALM, LOGIN], input=PASSWORD.encode(),
                   check=True)
    os.chmod(database, 0o644)
    # sasl-smtpd keeps no lookup of a file changed within the last 3 s (FileReadCache's racy-read rule): measure a
    # store that is not being written, as in service.
    time.sleep(4)
    servers = [Ours(args.smtpd, workdir, database), Cyrus(workdir, database)]
    try:
        for server in servers:
            server.start()
        say("saslauthd protocol: sasl-smtpd's saslauthd socket vs Debian saslauthd 2.1.28 -a sasldb -n 5, same sasldb2")
        say(f"load: saslauthd-load, {args.rounds} rounds x {args.seconds:g} s per server and concurrency, interleaved")
        say(f"machine: {os.cpu_count()} CPUs, load average before: {os.getloadavg()[0]:.2f}")
        for server in servers:
            measure(args.load, server, 4, 1)  # warm-up
        say()
        say(f"{'concurrency':>11}  {'server':<10} {'req/s':>9} {'p50 ms':>8} {'p99 ms':>8} {'CPU us/req':>11}")
        summary = []
        for level in levels:
            results = {server.name: [] for server in servers}
            for round in range(args.rounds):
                order = servers if round % 2 == 0 else list(reversed(servers))
                for server in order:
                    results[server.name].append(measure(args.load, server, level, args.seconds))
            medians = {}
            for server in servers:
                rows = results[server.name]
                medians[server.name] = {k: statistics.median(r[k] for r in rows)
                                        for k in ("rps", "p50_ms", "p99_ms", "cpu_us_per_request")}
                m = medians[server.name]
                say(f"{level:>11}  {server.name:<10} {m['rps']:>9.0f} {m['p50_ms']:>8.3f} {m['p99_ms']:>8.3f} "
                    f"{m['cpu_us_per_request']:>11.1f}")
            ours, theirs = medians["ours"], medians["saslauthd"]
            summary.append((level, ours["rps"] / theirs["rps"],
                            ours["cpu_us_per_request"] / theirs["cpu_us_per_request"]))
        say()
        say("ratios (ours / saslauthd): req/s above 1 and CPU below 1 mean ours is better")
        for level, rps, cpu in summary:
            say(f"  concurrency {level:>3}: req/s {rps:.2f}x, CPU per request {cpu:.2f}x")
        say(f"load average after: {os.getloadavg()[0]:.2f}")
    finally:
        for server in servers:
            server.stop()
        subprocess.run(["rm", "-rf", workdir])


if __name__ == "__main__":
    main()
