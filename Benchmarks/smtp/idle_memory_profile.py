#!/usr/bin/env python3
"""Where the resident memory of idle SMTP sessions is: sasl-smtpd holding N idle sessions, by kind of mapping.

Memory in bytes does not depend on what else the machine runs, so this works on a busy machine. The script sets up
a temporary directory under /var/tmp exactly as callgrind_profile.py does (a certificate, a sasldb2 made by
saslpasswd2, a configuration with `user =` empty, the release binary with its debug information stripped), starts the
daemon as `nobody`, holds the sessions with smtp-load's hold workloads (`idle-ehlo`: connected and EHLO;
`idle-auth`: STARTTLS and AUTH PLAIN) and, while they are held, reads for each process of the daemon
`/proc/PID/smaps_rollup` (the RSS the SMTP benchmark reports) and `/proc/PID/pagemap` (which pages of each anonymous
mapping are present), before and after the sessions:

- `heap`: glibc's main arena (`[heap]`);
- `arenas`: the other glibc arenas (read-write mappings at a 64 MiB boundary: one per event-loop thread that
  allocates), where every allocation below the mmap threshold of a session thread lives;
- `mmap`: every other anonymous mapping: thread stacks and allocations above the mmap threshold, each its own
  mapping whose untouched pages cost nothing;
- `files`: the binary and libraries.

`--mmap-threshold BYTES` starts the daemon with `GLIBC_TUNABLES=glibc.malloc.mmap_threshold=BYTES`: with 16000, the
two buffers swift-nio-ssl keeps per connection (32 KiB plaintext, 16 KiB ciphertext) each get a mapping of their own,
so the `mmap` row shows what they cost once untouched pages are free (what a page-backed ByteBufferAllocator would
give), and the `arenas` row what every other object of the session costs. `--massif N` also runs the daemon under
valgrind's massif with N sessions held and prints the live heap per session by allocation site. Run as root:

    python3 Benchmarks/smtp/idle_memory_profile.py --smtpd .build-release/release/sasl-smtpd \\
        --load .build-release/release/smtp-load --sessions 2000 [--mmap-threshold 16000] [--massif 500]
"""

import argparse
import os
import re
import shutil
import struct
import subprocess
import sys
import tempfile
import time

import callgrind_profile
from callgrind_profile import LOGIN, PASSWORD, die, free_port, prepare, say, stop_daemon, wait_for_port

ARENA_ALIGNMENT = 64 << 20  # glibc's HEAP_MAX_SIZE on 64-bit: non-main arenas are mapped at this alignment
PAGE = os.sysconf("SC_PAGE_SIZE")
AS_NOBODY = ["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups", "env", "USER=nobody"]


def process_tree(root):
    """The root and its descendants (the daemon and its privileged helper)."""
    pids, queue = [], [root]
    while queue:
        pid = queue.pop()
        pids.append(pid)
        try:
            with open(f"/proc/{pid}/task/{pid}/children") as f:
                queue += [int(p) for p in f.read().split()]
        except OSError:
            pass
    return pids


def present_pages(pagemap, start, end):
    """How many pages of [start, end) are resident (bit 63 of each pagemap entry)."""
    pagemap.seek(start // PAGE * 8)
    data = pagemap.read((end - start) // PAGE * 8)
    return sum(1 for (entry,) in struct.iter_unpack("<Q", data) if entry >> 63)


def classify(start, path, perms):
    if path:
        return "heap" if path == "[heap]" else ("files" if path.startswith("/") else "other")
    if not perms.startswith("rw"):
        return "other"
    return "arenas" if start % ARENA_ALIGNMENT == 0 else "mmap"


def memory(root):
    """Resident bytes by kind summed over the daemon's processes, and the RSS from smaps_rollup."""
    kinds = {"heap": 0, "arenas": 0, "mmap": 0, "files": 0, "other": 0}
    rss = 0
    for pid in process_tree(root):
        with open(f"/proc/{pid}/smaps_rollup") as f:
            rss += sum(int(line.split()[1]) * 1024 for line in f if line.startswith("Rss:"))
        with open(f"/proc/{pid}/maps") as maps, open(f"/proc/{pid}/pagemap", "rb") as pagemap:
            for line in maps:
                fields = line.split()
                start, end = (int(x, 16) for x in fields[0].split("-"))
                kind = classify(start, fields[5] if len(fields) > 5 else "", fields[1])
                kinds[kind] += present_pages(pagemap, start, end) * PAGE
    return rss, kinds


def start_daemon(args, workdir, valgrind=()):
    port = free_port()
    binary, config = prepare(workdir, args.smtpd, args.cert, port, [
        ("max_connections", str(args.sessions + 1000)), ("max_connections_per_address", str(args.sessions + 1000))])
    env = ["GLIBC_TUNABLES=glibc.malloc.mmap_threshold=%d" % args.mmap_threshold] if args.mmap_threshold else []
    log = open(os.path.join(workdir, "sasl-smtpd.log"), "wb")
    process = subprocess.Popen(AS_NOBODY + env + list(valgrind) + [binary, "--config", config],
                               stdout=log, stderr=log, stdin=subprocess.DEVNULL, cwd=workdir, start_new_session=True)
    wait_for_port(port, 300)
    return process, port


def hold(args, port, workload, sessions):
    """Starts smtp-load holding `sessions` idle sessions; returns the client once every session is held."""
    argv = [args.load, "--port", str(port), "--workload", workload, "--sessions", str(sessions), "--concurrency",
            "50", "--deadline", "900", "--user", LOGIN, "--password", PASSWORD]
    client = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    line = client.stdout.readline()
    if f'"held": {sessions},' not in line or '"errors": 0,' not in line:
        client.kill()
        die(f"smtp-load did not hold {sessions} {workload} sessions: {line!r} {client.stderr.read()}")
    time.sleep(2.0)
    return client


def release(client):
    client.stdin.write("\n")
    client.stdin.flush()
    client.communicate(timeout=900)


def resident_table(args, workload):
    workdir = tempfile.mkdtemp(prefix="smtp-idle-memory.", dir="/var/tmp")
    os.chmod(workdir, 0o755)
    try:
        process, port = start_daemon(args, workdir)
        try:
            release(hold(args, port, workload, 20))  # code and caches the sessions touch once, not per session
            before_rss, before = memory(process.pid)
            client = hold(args, port, workload, args.sessions)
            after_rss, after = memory(process.pid)
            release(client)
        finally:
            stop_daemon(process, 120)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    n = args.sessions
    say(f"{workload}: {n} sessions held, certificate {args.cert}, mmap threshold {args.mmap_threshold or 'default'}")
    say(f"  {'':8} {'before MiB':>11} {'held MiB':>9} {'KiB/session':>12}")
    say(f"  {'RSS':8} {before_rss / 2**20:11.1f} {after_rss / 2**20:9.1f} {(after_rss - before_rss) / n / 1024:12.2f}")
    for kind in before:
        say(f"  {kind:8} {before[kind] / 2**20:11.1f} {after[kind] / 2**20:9.1f} "
            f"{(after[kind] - before[kind]) / n / 1024:12.2f}")
    say(f"  projected for 10,000 sessions: {(before_rss + (after_rss - before_rss) / n * 10000) / 2**20:.1f} MiB RSS")
    say()


def massif_table(args, workload):
    """Live heap per held session by allocation site, from a massif snapshot (requested bytes, not pages)."""
    workdir = tempfile.mkdtemp(prefix="smtp-idle-massif.", dir="/var/tmp")
    os.chmod(workdir, 0o755)
    prefix = os.path.join(workdir, "vgdb")
    valgrind = ["valgrind", "--tool=massif", "--depth=12", "--threshold=0.2", f"--vgdb-prefix={prefix}",
                f"--massif-out-file={os.path.join(workdir, 'massif.out')}"]
    snapshot = os.path.join(workdir, "snapshot.txt")
    process, port = start_daemon(args, workdir, valgrind)
    try:
        client = hold(args, port, workload, args.massif)
        subprocess.run(AS_NOBODY + ["vgdb", f"--vgdb-prefix={prefix}", f"--pid={process.pid}", "detailed_snapshot",
                                    snapshot], check=True, capture_output=True, timeout=300)
        release(client)
    finally:
        stop_daemon(process, 120)
    say(f"{workload}: live heap per held session (massif, {args.massif} sessions; requested bytes by call site)")
    node = re.compile(r"^( *)n\d+: (\d+) (?:0x[0-9A-F]+: )?(.*?)(?: \(in .*\))?$")
    with open(snapshot) as f:
        for line in f:
            m = node.match(line)
            if m and len(m.group(1)) <= args.massif_depth and int(m.group(2)) / args.massif >= 100:
                say(f"  {int(m.group(2)) / args.massif:9,.0f}  {m.group(1)}{m.group(3)[:140]}")
    say()
    if not args.keep:
        shutil.rmtree(workdir, ignore_errors=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--smtpd", required=True, help="release sasl-smtpd binary")
    ap.add_argument("--load", required=True, help="smtp-load binary")
    ap.add_argument("--workloads", default="idle-ehlo,idle-auth", help="hold workloads, in order")
    ap.add_argument("--cert", default="p256", choices=sorted(callgrind_profile.CERTIFICATES))
    ap.add_argument("--sessions", type=int, default=2000, help="sessions held for the resident figures")
    ap.add_argument("--mmap-threshold", type=int, help="glibc.malloc.mmap_threshold for the daemon, in bytes")
    ap.add_argument("--massif", type=int, metavar="N", help="also list the live heap by call site, N sessions held")
    ap.add_argument("--massif-depth", type=int, default=3, help="call-tree depth listed (default 3)")
    ap.add_argument("--keep", action="store_true", help="keep massif's temporary directory")
    args = ap.parse_args()
    if os.geteuid() != 0:
        die("run as root (the daemon is started as nobody)")
    for workload in args.workloads.split(","):
        resident_table(args, workload)
        if args.massif:
            massif_table(args, workload)


if __name__ == "__main__":
    sys.exit(main())
