#!/usr/bin/env python3
"""Side-by-side benchmark of the Dovecot auth socket: Postfix 3.7 authenticating through sasl-smtpd's Dovecot socket
(`smtpd_sasl_type = dovecot`) against Postfix 3.7 authenticating through Cyrus SASL (sasldb) itself, on loopback.

Run through Benchmarks/dovecot-run.sh, which builds the release binaries first. Python 3 standard library only; run as
root (Postfix's master starts as root). It reuses the SMTP benchmark's parts (Benchmarks/smtp/smtp_bench.py): two
private Postfix instances made the same way (the same certificate, TLS 1.3, the same Berkeley DB sasldb2 with
bench@bench.local), one with Cyrus SASL, one pointed at our socket, and the SwiftNIO client smtp-load.

The figure is the server CPU per session: for ours, Postfix's processes plus our daemon (each in a cgroup v2 of its
own where one is writable, else from /proc), against Postfix's processes alone with Cyrus SASL in them.
"""

import argparse
import datetime
import os
import platform
import pwd
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "smtp"))
import smtp_bench as sb  # noqa: E402


class PostfixThroughOurSocket(sb.Postfix):
    """A private Postfix whose smtpd asks our Dovecot socket instead of Cyrus SASL."""

    name = "Postfix+ours"

    def __init__(self, workdir, cert, key, sasldb, tls_port, plain_port, process_limit, socket_path):
        super().__init__(workdir, cert, key, sasldb, tls_port, plain_port, process_limit)
        main = os.path.join(self.etc, "main.cf")
        with open(main) as f:
            text = f.read()
        text = text.replace("smtpd_sasl_type = cyrus\n", "smtpd_sasl_type = dovecot\n")
        text = text.replace("smtpd_sasl_path = smtpd\n", f"smtpd_sasl_path = {socket_path}\n")
        with open(main, "w") as f:
            f.write(text)
        self.group = sb.CPUGroup("postfix-dovecot")


class Together:
    """Postfix and our daemon counted as one server: the CPU of both."""

    name = "ours"

    def __init__(self, postfix, daemon):
        self.postfix, self.daemon = postfix, daemon

    def cpu(self):
        return self.postfix.cpu() + self.daemon.cpu()

    def alive(self):
        return self.postfix.alive() and self.daemon.alive()

    def queue_empty(self):
        return self.postfix.queue_empty()


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--smtpd", required=True, help="release sasl-smtpd binary")
    ap.add_argument("--load", required=True, help="smtp-load binary")
    ap.add_argument("--quick", action="store_true", help="short smoke run")
    ap.add_argument("--sessions", type=int, help="sessions per measured run (default 2000, quick 300)")
    ap.add_argument("--reps", type=int, help="measured runs per figure and server (default 3, quick 2)")
    ap.add_argument("--concurrency", default="1,8,32", help="concurrency levels of the STARTTLS section")
    ap.add_argument("--only", default="tls,cram", help="sections to run")
    ap.add_argument("--wait-idle", type=float, help="seconds to wait for a quiet machine per section "
                    "(default 300, quick 10)")
    ap.add_argument("--proc-cpu", action="store_true", help="server CPU from /proc even where cgroup v2 is usable")
    ap.add_argument("--keep", action="store_true", help="keep the temporary directory (logs, configs)")
    args = ap.parse_args()
    if os.geteuid() != 0:
        sb.die("run as root (Postfix's master starts as root)")
    sessions = args.sessions or (300 if args.quick else 2000)
    reps = args.reps or (2 if args.quick else 3)
    sb.Section.wait_idle = args.wait_idle if args.wait_idle is not None else (10 if args.quick else 300)
    levels = [int(c) for c in args.concurrency.split(",")]
    only = set(args.only.split(","))

    cgroup = None if args.proc_cpu else sb.CPUGroup.setup()
    workdir = tempfile.mkdtemp(prefix="dovecot-bench.", dir="/var/tmp")
    os.chmod(workdir, 0o755)
    servers = []
    try:
        certs, sasldb = sb.setup_files(workdir)
        cert, key = certs["rsa2048"]
        ports = {name: sb.free_port() for name in ("ours_smtp", "cy_tls", "cy_plain", "dc_tls", "dc_plain")}
        socket_dir = os.path.join(workdir, "auth")
        socket_path = os.path.join(socket_dir, "dovecot")
        cyrus_dir, dovecot_dir = os.path.join(workdir, "cyrus"), os.path.join(workdir, "dovecot")
        for d in (cyrus_dir, dovecot_dir):
            os.mkdir(d)
            os.chmod(d, 0o755)
        daemon = sb.Ours(args.smtpd, workdir, "dovecot", [
            ("hostname", "localhost"),
            # Its own SMTP listener is not measured; the start-up waits for it.
            ("submission_listen", ""),
            ("plain_listen", f"127.0.0.1:{ports['ours_smtp']}"),
            ("require_tls", "no"),
            ("mechanisms_without_tls", "CRAM-MD5"),
            ("sink", "maildir:" + os.path.join(workdir, "Maildir")),
            ("sasldb_path", sasldb),
            ("default_realm", sb.REALM),
            ("user", "nobody"),
            ("group", "postfix"),
            ("log_level", "notice"),
            ("poppassd_listen", ""),
            ("passwd_socket", ""),
            ("dovecot_auth_socket", socket_path),
            ("dovecot_auth_owner", "postfix"),
            ("dovecot_auth_group", "postfix"),
            ("dovecot_auth_mechanisms", "PLAIN LOGIN CRAM-MD5 DIGEST-MD5"),
            # Postfix's plain port measures CRAM-MD5 without TLS, as the SMTP benchmark does.
            ("dovecot_auth_mechanisms_without_tls", "CRAM-MD5"),
        ])
        cyrus = sb.Postfix(cyrus_dir, cert, key, sasldb, ports["cy_tls"], ports["cy_plain"], 200)
        cyrus.group = sb.CPUGroup("postfix-cyrus")
        ours_postfix = PostfixThroughOurSocket(dovecot_dir, cert, key, sasldb, ports["dc_tls"], ports["dc_plain"],
                                               200, socket_path)
        for s in (daemon, cyrus, ours_postfix):
            s.check()

        sb.say("Dovecot auth socket: Postfix + sasl-smtpd's socket vs Postfix + Cyrus SASL (sasldb), side by side")
        sb.say(f"date: {datetime.datetime.now().astimezone().isoformat(timespec='seconds')}")
        sb.say(f"host: {platform.node()}  {os.cpu_count()} CPUs  {platform.platform()}")
        pf_version = subprocess.run(["postconf", "-c", cyrus.etc, "-h", "mail_version"], capture_output=True,
                                    text=True).stdout.strip()
        repo = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
        revision = subprocess.run(["git", "-C", repo, "describe", "--always", "--dirty"], capture_output=True,
                                  text=True).stdout.strip() or "unknown"
        sb.say(f"revision: {revision}")
        sb.say(f"ours: Postfix {pf_version} + {args.smtpd} (dovecot_auth_socket); peer: Postfix {pf_version} + "
               "Cyrus SASL 2.1 (auxprop sasldb)")
        sb.say(f"client: {args.load}; {sessions} sessions per run, {reps} runs per figure and server, interleaved")
        sb.say("server CPU: " + (f"cgroup v2 cpu.stat usage_usec per server ({cgroup})" if cgroup else
                                 "/proc/PID/stat utime+stime+cutime+cstime over each server's process tree"))

        daemon.start(ports["ours_smtp"])
        servers.append(daemon)
        cyrus.start(ports["cy_tls"])
        servers.append(cyrus)
        ours_postfix.start(ports["dc_tls"])
        servers.append(ours_postfix)
        sb.wait_for_port(ports["cy_plain"])
        sb.wait_for_port(ports["dc_plain"])
        together = Together(ours_postfix, daemon)
        sb.Section.servers = [daemon, cyrus, ours_postfix]
        cyrus.name = "Postfix"

        report = sb.Report()
        sections = []
        if "tls" in only:
            sections += [(f"STARTTLS+AUTH PLAIN c={c}", "tls-auth", "tls", c) for c in levels]
        if "cram" in only:
            sections.append(("AUTH CRAM-MD5 no TLS c=32", "cram-md5", "plain", 32))
        for label, workload, kind, c in sections:
            before = daemon.cpu()
            with sb.Section(f"{label}: Postfix + our socket vs Postfix + Cyrus"):
                res = sb.interleaved(args, [(together, ports["dc_" + kind]), (cyrus, ports["cy_" + kind])],
                                     workload, sessions, c, reps)
            spent = daemon.cpu() - before
            served = sum(r.ok for r in res["ours"]) + max(5 * c, 100)
            sb.say(f"   our daemon's share: {spent * 1000 / served:.3f} ms per session (warm-up included)")
            sb.summarise(report, label, res, {"server CPU ms/session": [("ratio_max", 1.0, "<= 1.0x")]})
            report.row(f"{label}: our daemon alone CPU ms/session", f"{spent * 1000 / served:.3f}", "", "", "", "")

        sb.say()
        sb.say("== Summary (medians over runs; 'ours' = Postfix's processes + our daemon; ratio ours/Postfix+Cyrus)")
        sb.say(report.table())
        if sb.Section.noisy:
            sb.say()
            for title, load in sb.Section.noisy:
                sb.say(f"WARNING: other processes used {load:.0%} of the machine during: {title}")
            sb.say("WARNING: the machine was not idle; absolute figures are unreliable, ratios less so.")
    except BaseException:
        args.keep = True
        raise
    finally:
        for s in reversed(servers):
            s.stop()
        sb.CPUGroup.teardown()
        if args.keep:
            sb.say(f"(kept {workdir})")
        else:
            shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
