#!/usr/bin/env python3
"""The kernel side of a STARTTLS + AUTH PLAIN + QUIT session: sasl-smtpd's system calls and CPU split per session.

Counts do not depend on what else the machine runs (the timing-dependent ones, such as reads answered EAGAIN, move a
little), so this works on a busy machine where timed benchmarks do not. The daemon is set up as by
callgrind_profile.py (a temporary directory under /var/tmp, a P-256 or RSA certificate, a sasldb2 made by
saslpasswd2, `user =` empty, started as nobody), then:

1. **CPU**: warm-up sessions, then N measured sessions with one client; user and system CPU of the daemon from
   /proc/PID/stat and its context switches (voluntary and not, summed over its threads) from /proc/PID/task/*/status,
   per session.
2. **System calls**: `strace -f -yy` attached to every thread of the running daemon for another N sessions (the
   tracing slows the daemon, which changes how often a read finds nothing: EAGAIN counts are indicative), every call
   classified by syscall and by the kind of descriptor it works on (TCP socket, log file, eventfd, epoll, timerfd,
   store file, other file, other), with its errors.
3. **Where the CPU goes** (`--perf`): `perf record` samples the daemon's threads on the CPU clock (no hardware
   counters are needed, so it works in a VM) for another N sessions, and the samples are split between the kernel
   and user space, then by library (BoringSSL, NIO, Swift runtime, libc) and by the hottest symbols. Unlike
   callgrind's simulated CPU, this is the real one, with its ADX and SHA instructions; take it from a quiet machine.

Run as root (the daemon is started as nobody; strace attaches to it):

    python3 Benchmarks/smtp/syscall_profile.py --smtpd .build-release/release/sasl-smtpd \\
        --load .build-release/release/smtp-load --client nio --cert p256 --sessions 300
"""

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from callgrind_profile import clean_up, die, run_client, say, session_arguments, wait_for_port, workspace  # noqa: E402

TICKS = os.sysconf("SC_CLK_TCK")
# A traced call: "PID name(args" then ") = result" on the same line, or split into "<unfinished ...>" and
# "<... name resumed>" lines when another thread's call came in between.
CALL = re.compile(r"^(\d+)\s+(\w+)\((.*)$")
RESUMED = re.compile(r"^(\d+)\s+<\.\.\. (\w+) resumed>(.*)$")
RESULT = re.compile(r"\)\s+=\s+(-?\d+|\?|0x[0-9a-f]+)(?:\s+(E[A-Z0-9]+))?")
FD_KINDS = [
    ("tcp", re.compile(r"^\d+<(TCP|TCPv6):")),
    ("log", re.compile(r"^\d+<[^>]*sasl-smtpd\.log>")),
    ("store", re.compile(r"^\d+<[^>]*sasldb2[^>]*>")),
    ("file", re.compile(r"^\d+</")),
    ("eventfd", re.compile(r"^\d+<anon_inode:\[eventfd\]")),
    ("epoll", re.compile(r"^\d+<anon_inode:\[eventpoll\]")),
    ("timerfd", re.compile(r"^\d+<anon_inode:\[timerfd\]")),
]


def fd_kind(args):
    """The kind of descriptor a call's first argument names, or of the file it names by path ("" for neither)."""
    if not re.match(r"^\d+<", args):
        if "sasldb2" in args:
            return "store"
        return "file" if re.search(r'"/', args) else ""
    for kind, pattern in FD_KINDS:
        if pattern.match(args):
            return kind
    return "other fd"


def parse_trace(path):
    """{(syscall, fd kind): [calls, errors by name]} from `strace -f -y -o path`."""
    table = {}
    pending = {}

    def count(name, kind, rest):
        entry = table.setdefault((name, kind), [0, {}])
        entry[0] += 1
        m = RESULT.search(rest)
        if m and m.group(2):
            entry[1][m.group(2)] = entry[1].get(m.group(2), 0) + 1

    with open(path, errors="replace") as f:
        for line in f:
            line = line.rstrip("\n")
            m = RESUMED.match(line)
            if m:
                name, kind = pending.pop(m.group(1), (m.group(2), ""))
                count(name, kind, m.group(3))
                continue
            m = CALL.match(line)
            if not m:
                continue  # signals, exits
            pid, name, rest = m.groups()
            if rest.endswith("<unfinished ...>"):
                pending[pid] = (name, fd_kind(rest))
            else:
                count(name, fd_kind(rest), rest)
    return table


def cpu_and_switches(pid):
    """(user seconds, system seconds, voluntary switches, involuntary switches) of a process and all its threads."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    user, system = int(fields[11]) / TICKS, int(fields[12]) / TICKS
    voluntary = involuntary = 0
    for task in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{task}/status") as f:
                for line in f:
                    if line.startswith("voluntary_ctxt_switches:"):
                        voluntary += int(line.split()[1])
                    elif line.startswith("nonvoluntary_ctxt_switches:"):
                        involuntary += int(line.split()[1])
        except FileNotFoundError:
            pass  # a thread that ended meanwhile
    return user, system, voluntary, involuntary


def traced(pid):
    """Whether every thread of pid has a tracer."""
    for task in os.listdir(f"/proc/{pid}/task"):
        with open(f"/proc/{pid}/task/{task}/status") as f:
            if "TracerPid:\t0\n" in f.read():
                return False
    return True


def measure_cpu(args, port, pid):
    before = cpu_and_switches(pid)
    started = time.monotonic()
    run_client(args, port, args.sessions)
    wall = time.monotonic() - started
    time.sleep(0.5)  # the last sessions' teardown
    after = cpu_and_switches(pid)
    n = args.sessions
    delta = [b - a for a, b in zip(before, after)]
    return {
        "user_ms": delta[0] * 1000 / n, "system_ms": delta[1] * 1000 / n,
        "voluntary_switches": delta[2] / n, "involuntary_switches": delta[3] / n,
        "sessions_per_s": n / wall,
    }


def measure_syscalls(args, port, pid, workdir):
    trace = os.path.join(workdir, "strace.out")
    strace = subprocess.Popen(["strace", "-f", "-yy", "-qq", "-s", "0", "-e", "signal=none", "-o", trace,
                               "-p", str(pid)], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                              stderr=subprocess.PIPE)
    deadline = time.monotonic() + 30
    while not traced(pid):
        if time.monotonic() > deadline or strace.poll() is not None:
            die(f"strace did not attach: {strace.stderr.read().decode() if strace.poll() is not None else ''}")
        time.sleep(0.1)
    time.sleep(0.5)
    run_client(args, port, args.sessions)
    time.sleep(0.5)  # the last sessions' teardown
    strace.send_signal(signal.SIGINT)
    strace.wait(60)
    return parse_trace(trace)


def measure_perf(args, port, pid, workdir):
    """`perf record` on the daemon while N sessions run; returns the text reports by kernel/user, DSO and symbol."""
    data = os.path.join(workdir, "perf.data")
    perf = subprocess.Popen(["perf", "record", "-q", "-e", "cpu-clock", "-F", "4000", "-p", str(pid), "-o", data],
                            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    time.sleep(1)
    if perf.poll() is not None:
        die(f"perf record did not start: {perf.stderr.read().decode()}")
    run_client(args, port, args.sessions)
    time.sleep(0.5)
    perf.send_signal(signal.SIGINT)
    perf.wait(60)

    def report(*sort):
        out = subprocess.run(["perf", "report", "-i", data, "--stdio", "--no-children", "--percent-limit", "0.7",
                              "--sort", ",".join(sort)], capture_output=True, text=True, timeout=300).stdout
        return [line for line in out.splitlines() if line.strip() and not line.startswith("#")]

    # The kernel's samples are the `[kernel.kallsyms]` row of the library split.
    return {"dso": report("dso"), "symbol": report("dso", "sym")}


def print_syscalls(table, sessions):
    say(f"{'syscall':18} {'descriptor':10} {'calls/session':>14} {'errors/session':>16}")
    total = 0
    for (name, kind), (calls, errors) in sorted(table.items(), key=lambda kv: -kv[1][0]):
        total += calls
        errs = ", ".join(f"{e} {c / sessions:.2f}" for e, c in sorted(errors.items()))
        say(f"{name:18} {kind:10} {calls / sessions:14.2f} {errs:>16}")
    say(f"{'total':29} {total / sessions:14.2f}")


def main():
    ap = session_arguments(__doc__, "strace.out")
    ap.add_argument("--no-trace", action="store_true", help="CPU split only, no strace part")
    ap.add_argument("--perf", action="store_true", help="also sample where the daemon's CPU goes with perf record")
    args = ap.parse_args()
    if not shutil.which("strace") and not args.no_trace:
        die("strace is not installed")
    if args.perf and not shutil.which("perf"):
        die("perf is not installed (Debian: linux-perf)")
    workdir, port, binary, config = workspace(args, "smtp-syscalls.")
    process = None
    try:
        log = open(os.path.join(workdir, "sasl-smtpd.log"), "wb")
        process = subprocess.Popen(
            ["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups", binary, "--config", config],
            stdout=log, stderr=log, stdin=subprocess.DEVNULL, cwd=workdir, start_new_session=True)
        wait_for_port(port, 60)
        pid = process.pid  # setpriv execs the daemon
        run_client(args, port, args.warmup)
        say(f"{args.sessions} sessions STARTTLS + AUTH PLAIN + QUIT per part, client {args.client}, "
            f"certificate {args.cert}, concurrency {args.concurrency}")
        cpu = measure_cpu(args, port, pid)
        say(f"daemon CPU per session: user {cpu['user_ms']:.3f} ms, system {cpu['system_ms']:.3f} ms "
            f"(clock ticks of {1000 / TICKS:.0f} ms over all sessions); context switches per session: "
            f"{cpu['voluntary_switches']:.2f} voluntary, {cpu['involuntary_switches']:.2f} involuntary; "
            f"{cpu['sessions_per_s']:.0f} sessions/s")
        result = {"sessions": args.sessions, "client": args.client, "cert": args.cert,
                  "concurrency": args.concurrency, "cpu": cpu}
        if not args.no_trace:
            table = measure_syscalls(args, port, pid, workdir)
            say()
            print_syscalls(table, args.sessions)
            result["syscalls_per_session"] = {
                f"{name} {kind}".strip(): {"calls": calls / args.sessions,
                                           "errors": {e: c / args.sessions for e, c in errors.items()}}
                for (name, kind), (calls, errors) in table.items()}
        if args.perf:
            profile = measure_perf(args, port, pid, workdir)
            for title, lines in (("by library", profile["dso"]), ("by symbol", profile["symbol"])):
                say(f"\nperf, share of the daemon's CPU samples {title} (rows of 0.7% and more):")
                for line in lines:
                    say("  " + line.strip())
            result["perf"] = profile
        if args.json:
            with open(args.json, "w") as f:
                json.dump(result, f, indent=1)
    finally:
        clean_up(args, workdir, process)


if __name__ == "__main__":
    main()
