#!/usr/bin/env python3
"""What one AUTH costs sasl-smtpd's Dovecot and saslauthd sockets: instructions (callgrind) or syscalls (strace).

Counts, not times, so it works on a busy machine. The script makes a temporary directory under /var/tmp (a sasldb2
written by Cyrus's saslpasswd2, a configuration with both sockets, an SMTP listener
on loopback that stays idle, and `user =` empty), starts the daemon as `nobody`
(under callgrind, or plain with strace attached later), sends warm-up requests, starts counting, sends the measured
requests with one client, and prints the counts per request:

- `dovecot`: one connection, as a Postfix smtpd process keeps one; N requests `AUTH <id> PLAIN ... resp=<base64>`,
  one after another, each answered `OK` before the next is sent.
- `saslauthd`: N connections, one request each (login, password, service, realm), as libsasl and testsaslauthd do.

Run as root (the daemon is started as nobody); give it a release binary for figures (a debug one shows where the
calls go, with larger counts):

    python3 Benchmarks/authprofile/auth_profile.py --smtpd .build-release/release/sasl-smtpd --tool strace
    python3 Benchmarks/authprofile/auth_profile.py --smtpd .build-release/release/sasl-smtpd --tool callgrind

callgrind runs on a copy stripped with `objcopy --strip-debug` (valgrind 3.19 refuses Swift 6's DWARF) and reuses the
components of Benchmarks/smtp/callgrind_profile.py.
"""

import argparse
import base64
import os
import pwd
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "smtp"))
import callgrind_profile as cg  # noqa: E402

USER, REALM, PASSWORD, LOGIN = cg.USER, cg.REALM, cg.PASSWORD, cg.LOGIN


def say(text=""):
    print(text, flush=True)


def wait_for_socket(path, seconds, process):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            cg.die(f"the daemon exited with {process.returncode} before listening on {path}")
        if os.path.exists(path):
            try:
                with socket.socket(socket.AF_UNIX) as s:
                    s.connect(path)
                    return
            except OSError:
                pass
        time.sleep(0.2)
    cg.die(f"nothing listens on {path} after {seconds} s")


def prepare(workdir, smtpd, tool):
    """Writes sasldb2, the configuration and (for callgrind) the stripped binary; returns (binary, config, sockets)."""
    nobody = pwd.getpwnam("nobody")
    sasldb, maildir = cg.make_store(workdir)
    for path in (workdir, sasldb, maildir):
        os.chown(path, nobody.pw_uid, nobody.pw_gid)
    os.chmod(sasldb, 0o600)
    binary = os.path.abspath(smtpd)
    if tool == "callgrind":
        binary = os.path.join(workdir, "sasl-smtpd")
        subprocess.run(["objcopy", "--strip-debug", smtpd, binary], check=True)
    dovecot = os.path.join(workdir, "run", "auth")
    saslauthd = os.path.join(workdir, "run", "mux")
    os.mkdir(os.path.dirname(dovecot), 0o755)
    os.chown(os.path.dirname(dovecot), nobody.pw_uid, nobody.pw_gid)
    config = os.path.join(workdir, "sasl-smtpd.conf")
    settings = [
        ("hostname", "localhost"), ("submission_listen", ""),
        ("plain_listen", f"127.0.0.1:{cg.free_port()}"), ("require_tls", "no"),
        ("mechanisms_without_tls", "CRAM-MD5"), ("sasldb_path", sasldb), ("default_realm", REALM),
        ("sink", "maildir:" + maildir), ("user", ""), ("log_level", "info"), ("poppassd_listen", ""),
        ("passwd_socket", ""), ("dovecot_auth_socket", dovecot), ("saslauthd_socket", saslauthd),
    ]
    with open(config, "w") as f:
        for k, v in settings:
            f.write(f"{k} = {v}\n")
    os.chown(config, nobody.pw_uid, nobody.pw_gid)
    return binary, config, {"dovecot": dovecot, "saslauthd": saslauthd, "sasldb": sasldb}


class DovecotClient:
    """One connection, many requests, as Postfix's smtpd keeps it."""

    def __init__(self, path):
        self.sock = socket.socket(socket.AF_UNIX)
        self.sock.connect(path)
        self.file = self.sock.makefile("rb")
        while self.file.readline().rstrip(b"\n") != b"DONE":
            pass
        self.sock.sendall(b"VERSION\t1\t2\nCPID\t%d\n" % os.getpid())
        self.next_id = 1
        self.response = base64.b64encode(b"\0" + LOGIN.encode() + b"\0" + PASSWORD.encode())

    def requests(self, count):
        for _ in range(count):
            request_id = self.next_id
            self.next_id += 1
            self.sock.sendall(b"AUTH\t%d\tPLAIN\tservice=smtp\tnologin\tlip=127.0.0.1\trip=127.0.0.1\tsecured\t"
                              b"resp=%s\n" % (request_id, self.response))
            line = self.file.readline()
            if not line.startswith(b"OK\t%d\t" % request_id):
                cg.die(f"request {request_id} answered {line!r}")

    def close(self):
        self.file.close()
        self.sock.close()


def saslauthd_requests(path, count):
    """One connection per request, as libsasl's saslauthd client does."""
    fields = [USER.encode(), PASSWORD.encode(), b"smtp", REALM.encode()]
    request = b"".join(struct.pack(">H", len(f)) + f for f in fields)
    for _ in range(count):
        with socket.socket(socket.AF_UNIX) as s:
            s.connect(path)
            s.sendall(request)
            reply = b""
            while True:
                chunk = s.recv(64)
                if not chunk:
                    break
                reply += chunk
            if reply[2:4] != b"OK":
                cg.die(f"saslauthd request answered {reply!r}")


class Driver:
    """Sends the requests of one protocol."""

    def __init__(self, protocol, sockets):
        self.protocol, self.path = protocol, sockets[protocol]
        self.client = DovecotClient(self.path) if protocol == "dovecot" else None

    def run(self, count):
        if self.client:
            self.client.requests(count)
        else:
            saslauthd_requests(self.path, count)

    def close(self):
        if self.client:
            self.client.close()


def wait_until_settled(sasldb):
    """The daemon keeps nothing it read from a file changed within the last 3 s (FileReadCache): start after that."""
    time.sleep(max(0.0, 4.0 - (time.time() - os.stat(sasldb).st_ctime)))


def threads(pid):
    return sorted(int(t) for t in os.listdir(f"/proc/{pid}/task"))


def start(argv, workdir, sockets, seconds, args):
    """Starts the daemon with `argv`, waits for its sockets and a settled store, sends the warm-up requests; returns
    the process and the driver."""
    log = open(os.path.join(workdir, "sasl-smtpd.log"), "wb")
    process = subprocess.Popen(argv, stdout=log, stderr=log, stdin=subprocess.DEVNULL, cwd=workdir,
                               start_new_session=True)
    log.close()
    try:
        for path in (sockets["dovecot"], sockets["saslauthd"]):
            wait_for_socket(path, seconds, process)
        wait_until_settled(sockets["sasldb"])
        driver = Driver(args.protocol, sockets)
        driver.run(args.warmup)
    except BaseException:
        process.kill()
        process.wait()
        raise
    return process, driver


def strace_profile(args, workdir, binary, config, sockets):
    argv = ["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups", binary, "--config", config]
    process, driver = start(argv, workdir, sockets, 60, args)
    try:
        out = os.path.join(workdir, "strace.out")
        attach = [a for t in threads(process.pid) for a in ("-p", str(t))]
        tracer = subprocess.Popen(["strace", "-c", "-f", "-o", out] + attach, stderr=subprocess.DEVNULL)
        time.sleep(1.0)  # strace attaches thread by thread
        driver.run(args.requests)
        time.sleep(0.5)  # the last close and the timers it cancels
        tracer.send_signal(signal.SIGINT)
        tracer.wait(60)
        driver.close()
        calls = {}
        with open(out) as f:
            for line in f:
                parts = line.split()
                if len(parts) >= 5 and parts[0][0].isdigit() and parts[-1] != "total":
                    calls[parts[-1]] = int(parts[3])
        total = sum(calls.values())
        say(f"strace: {args.requests} {args.protocol} AUTH PLAIN requests, one client, "
            f"{len(threads(process.pid))} daemon threads")
        say(f"{'syscall':24} {'per AUTH':>9}")
        for name, count in sorted(calls.items(), key=lambda kv: -kv[1]):
            if count / args.requests >= 0.01:
                say(f"{name:24} {count / args.requests:9.2f}")
        say(f"{'total':24} {total / args.requests:9.2f}")
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(60)


def callgrind_profile(args, workdir, binary, config, sockets):
    out_file = os.path.join(workdir, "callgrind.out")
    as_nobody = ["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups", "env", "USER=nobody"]
    prefix = os.path.join(workdir, "vgdb")
    argv = as_nobody + ["valgrind", "--tool=callgrind", f"--vgdb-prefix={prefix}", f"--callgrind-out-file={out_file}",
                        binary, "--config", config]
    process, driver = start(argv, workdir, sockets, 300, args)
    try:
        vgdb = as_nobody + ["vgdb", f"--vgdb-prefix={prefix}", f"--pid={process.pid}"]
        subprocess.run(vgdb + ["zero"], check=True, capture_output=True, timeout=120)
        driver.run(args.requests)
        time.sleep(0.5)
        subprocess.run(vgdb + ["dump"], check=True, capture_output=True, timeout=300)
        driver.close()
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(120)
    dumps = sorted(f for f in os.listdir(workdir) if f.startswith("callgrind.out."))
    if not dumps:
        cg.die(f"no callgrind dump in {workdir}")
    rows = cg.functions(os.path.join(workdir, dumps[0]))
    total = sum(c for c, _ in rows)
    by_component = {}
    for count, name in rows:
        component = cg.classify(name)
        by_component[component] = by_component.get(component, 0) + count
    say(f"callgrind: {args.requests} {args.protocol} AUTH PLAIN requests, one client")
    say(f"{'component':42} {'instr/AUTH':>12} {'share':>7}")
    for component, count in sorted(by_component.items(), key=lambda kv: -kv[1]):
        say(f"{component:42} {count / args.requests:12,.0f} {count / total:7.1%}")
    say(f"{'total':42} {total / args.requests:12,.0f}")
    say()
    say(f"top {args.top} functions (self):")
    for count, name in sorted(rows, reverse=True)[: args.top]:
        short = " ".join(name.split())[:150]
        say(f"{count / args.requests:12,.0f}  {cg.classify(name)[:20]:20}  {short}")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--smtpd", required=True, help="sasl-smtpd binary (release for figures)")
    ap.add_argument("--tool", default="strace", choices=["strace", "callgrind"])
    ap.add_argument("--protocol", default="dovecot", choices=["dovecot", "saslauthd"])
    ap.add_argument("--requests", type=int, help="measured requests (default 2000 with strace, 300 with callgrind)")
    ap.add_argument("--warmup", type=int, default=30, help="requests before counting starts (default 30)")
    ap.add_argument("--top", type=int, default=25, help="functions listed by callgrind (default 25)")
    ap.add_argument("--keep", action="store_true", help="keep the temporary directory (logs, counts)")
    args = ap.parse_args()
    if os.geteuid() != 0:
        cg.die("run as root (the daemon is started as nobody)")
    args.requests = args.requests or (2000 if args.tool == "strace" else 300)
    workdir = tempfile.mkdtemp(prefix="auth-profile.", dir="/var/tmp")
    os.chmod(workdir, 0o755)
    try:
        binary, config, sockets = prepare(workdir, args.smtpd, args.tool)
        profile = strace_profile if args.tool == "strace" else callgrind_profile
        profile(args, workdir, binary, config, sockets)
    finally:
        cg.clean_up(args, workdir)


if __name__ == "__main__":
    main()
