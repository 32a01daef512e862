#!/usr/bin/env python3
"""Side-by-side benchmarks of sasldb against Debian's Cyrus SASL tools (saslpasswd2, sasldblistusers2).

Run through Benchmarks/run.sh, which builds the release binary first. Python 3 standard library only.

Every process is started with posix_spawn and reaped with wait4, so each run gives its wall time (perf_counter
around spawn..wait) and its own rusage (user and system CPU); peak RSS comes from separate runs under /usr/bin/time.
Commands that are compared are run interleaved (one run of each per round, in rotating order), so load from
elsewhere on the machine hits both sides alike; the ratios are the robust figures, the absolute times less so.
"""

import argparse
import datetime
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

REALM = "bench.local"
TIME = "/usr/bin/time"  # GNU time (Debian package time), for peak RSS


# ----------------------------------------------------------------------------------------------------------------
# Running processes


class Run:
    __slots__ = ("wall", "user", "sys")

    def __init__(self, wall, user, sys_):
        self.wall, self.user, self.sys = wall, user, sys_


class Runner:
    def __init__(self, workdir):
        self.workdir = workdir
        self.devnull = os.open(os.devnull, os.O_RDWR)
        self.errpath = os.path.join(workdir, "stderr.log")
        self.errfd = os.open(self.errpath, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)

    def peak_rss_kb(self, argv, env, stdin=b"", runs=3):
        """Peak RSS in KiB (max over runs) as /usr/bin/time reports it.

        wait4's ru_maxrss of a child started by posix_spawn from Python is useless: the child shares Python's
        address space until exec (vfork), and the kernel keeps that high-water mark. /usr/bin/time forks from a
        small process, so its figure is the command's own."""
        path = os.path.join(self.workdir, "rss.txt")
        best = 0
        for _ in range(runs):
            self.run([TIME, "-f", "%M", "-o", path] + argv, env, stdin)
            with open(path) as f:
                best = max(best, int(f.read().split()[-1]))
        return best

    def run(self, argv, env, stdin=b"", stdout_path=None):
        """Runs argv to completion; returns a Run. Aborts the benchmark if the command fails."""
        r, w = os.pipe()
        if stdin:
            os.write(w, stdin)  # small: fits in the pipe buffer
        os.close(w)
        out = self.devnull
        if stdout_path:
            out = os.open(stdout_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        os.ftruncate(self.errfd, 0)
        os.lseek(self.errfd, 0, os.SEEK_SET)
        actions = [
            (os.POSIX_SPAWN_DUP2, r, 0),
            (os.POSIX_SPAWN_DUP2, out, 1),
            (os.POSIX_SPAWN_DUP2, self.errfd, 2),
        ]
        t0 = time.perf_counter()
        pid = os.posix_spawn(argv[0], argv, env, file_actions=actions)
        _, status, ru = os.wait4(pid, 0)
        t1 = time.perf_counter()
        os.close(r)
        if stdout_path:
            os.close(out)
        code = os.waitstatus_to_exitcode(status)
        if code != 0:
            with open(self.errpath, errors="replace") as f:
                err = f.read()[-2000:]
            sys.exit(f"benchmark command failed (exit {code}): {' '.join(argv)}\n{err}")
        return Run(t1 - t0, ru.ru_utime, ru.ru_stime)


def interleaved(runner, cases, n, warmup):
    """cases: list of (label, make(i) -> (argv, env, stdin)). Returns {label: [Run]} of the n measured rounds."""
    results = {label: [] for label, _ in cases}
    counters = {label: 0 for label, _ in cases}
    for round_ in range(warmup + n):
        shift = round_ % len(cases)
        for label, make in cases[shift:] + cases[:shift]:
            argv, env, stdin = make(counters[label])
            counters[label] += 1
            run = runner.run(argv, env, stdin)
            if round_ >= warmup:
                results[label].append(run)
    return results


def pct(values, p):
    """The p-th percentile (0-100) by linear interpolation."""
    s = sorted(values)
    if len(s) == 1:
        return s[0]
    k = (len(s) - 1) * p / 100
    lo = int(k)
    hi = min(lo + 1, len(s) - 1)
    return s[lo] + (s[hi] - s[lo]) * (k - lo)


def machine_snapshot():
    """(busy CPU seconds of the whole machine, CPU seconds of this process and its reaped children, wall time)."""
    with open("/proc/stat") as f:
        fields = [int(x) for x in f.readline().split()[1:8]]
    tick = os.sysconf("SC_CLK_TCK")
    busy = (sum(fields) - fields[3] - fields[4]) / tick
    t = os.times()
    return busy, t.user + t.system + t.children_user + t.children_system, time.monotonic()


def others_load(since):
    """Fraction of the machine's CPUs used by other processes (not this benchmark) since a machine_snapshot()."""
    b0, o0, w0 = since
    b1, o1, w1 = machine_snapshot()
    return max(0.0, ((b1 - b0) - (o1 - o0)) / max(1e-9, (w1 - w0) * os.cpu_count()))


def cpu_busy(seconds=0.5):
    """Fraction of all CPUs busy (machine-wide) over a short idle sample: how much else is running."""
    start = machine_snapshot()
    time.sleep(seconds)
    return others_load(start)


# ----------------------------------------------------------------------------------------------------------------
# Output


class Report:
    def __init__(self):
        self.rows = []  # (figure, ours, cyrus, ratio, p10 ratio, target, verdict)

    def row(self, figure, ours, cyrus="-", ratio="-", target="", verdict="", p10="-"):
        self.rows.append((figure, ours, cyrus, ratio, p10, target, verdict))

    def table(self):
        head = ("figure", "ours", "Cyrus", "ours/Cyrus", "p10 ratio", "target", "")
        rows = [head] + self.rows
        widths = [max(len(r[i]) for r in rows) for i in range(len(head))]
        lines = []
        for k, r in enumerate(rows):
            lines.append("  ".join(c.ljust(widths[i]) if i == 0 else c.rjust(widths[i]) for i, c in enumerate(r)).rstrip())
            if k == 0:
                lines.append("  ".join("-" * w for w in widths))
        return "\n".join(lines)


def say(text=""):
    print(text, flush=True)


def ms(seconds):
    return f"{seconds * 1000:.2f} ms"


def describe(label, runs):
    walls = [r.wall for r in runs]
    return (
        f"  {label:<44} median {ms(statistics.median(walls)):>10}   p10 {ms(pct(walls, 10)):>10}"
        f"   p90 {ms(pct(walls, 90)):>10}   (n={len(walls)})"
    )


class Section:
    """Prints a heading; waits (bounded) for the machine to be quiet first; reports the load others put on it."""

    wait_idle = 0.0
    noisy = []

    def __init__(self, title):
        self.title = title

    def __enter__(self):
        say()
        say(f"== {self.title}")
        deadline = time.monotonic() + Section.wait_idle
        busy = cpu_busy(1.0)
        while busy > 0.10 and time.monotonic() < deadline:
            busy = cpu_busy(2.0)
        self.start = machine_snapshot()
        return self

    def __exit__(self, kind, value, tb):
        if kind is None:
            load = others_load(self.start)
            say(f"   (other processes used {load * 100:.0f}% of the machine's CPUs during this section)")
            if load > 0.10:
                Section.noisy.append(f"{self.title.split(' ', 1)[0]} {load * 100:.0f}%")
        return False


_current = None


def section(title=None):
    """Ends the open section, if any, and opens the next one (none when title is None)."""
    global _current
    if _current is not None:
        _current.__exit__(None, None, None)
        _current = None
    if title is not None:
        _current = Section(title)
        _current.__enter__()


# ----------------------------------------------------------------------------------------------------------------
# Fixtures


def write_users(path, count, start=0):
    with open(path, "w") as f:
        for i in range(start, start + count):
            f.write(f"user{i}@{REALM}:password{i}\n")


def tool_versions(args):
    out = []
    try:
        v = subprocess.run(["dpkg-query", "-W", "-f=${Version}", "sasl2-bin"], capture_output=True, text=True)
        out.append(f"sasl2-bin {v.stdout.strip() or '?'}")
    except OSError:
        pass
    v = subprocess.run([args.sasldb, "--version"], capture_output=True, text=True)
    out.append(f"sasldb {v.stdout.strip()}")
    return ", ".join(out)


# ----------------------------------------------------------------------------------------------------------------
# The benchmarks


def bench_add(args, runner, work, report, fixtures):
    env_cyrus = dict(base_env(args))
    env_ours_p2 = dict(base_env(args), SASLDB_FORMAT="bdb")
    for size_label, users in (("small", args.small_users), ("large", args.users)):
        section(f"1. Adding one user per process, {users:,}-user DB ({fixtures[size_label]['describe']})")
        dbs = {}
        for name, fmt in (("cyrus", "bdb"), ("ours-p2", "bdb"), ("ours-add", "bdb"), ("ours-add-gdbm", "gdbm")):
            dbs[name] = os.path.join(work, f"add-{size_label}-{name}.db")
            shutil.copyfile(fixtures[size_label][fmt], dbs[name])
        first = 10_000_000  # new user names: never in the DB

        def pw(i):
            return f"pw{i}\n".encode()

        cases = [
            (
                "Cyrus saslpasswd2 (BDB)",
                lambda i: (
                    [args.saslpasswd2, "-p", "-f", dbs["cyrus"], "-u", REALM, f"user{first + i}"],
                    env_cyrus,
                    pw(i),
                ),
            ),
            (
                "sasldb saslpasswd2 (BDB)",
                lambda i: (
                    [args.sasldb, "saslpasswd2", "-p", "-f", dbs["ours-p2"], "-u", REALM, f"user{first + i}"],
                    env_ours_p2,
                    pw(i),
                ),
            ),
            (
                "sasldb add --stdin (BDB)",
                lambda i: (
                    [args.sasldb, "add", "--stdin", "-f", dbs["ours-add"], "--format", "bdb", f"user{first + i}@{REALM}"],
                    env_cyrus,
                    pw(i),
                ),
            ),
            (
                "sasldb add --stdin (GDBM)",
                lambda i: (
                    [args.sasldb, "add", "--stdin", "-f", dbs["ours-add-gdbm"], "--format", "gdbm", f"user{first + i}@{REALM}"],
                    env_cyrus,
                    pw(i),
                ),
            ),
        ]
        res = interleaved(runner, cases, args.n, args.warmup)
        for label, _ in cases:
            say(describe(label, res[label]))
        cyr = statistics.median(r.wall for r in res["Cyrus saslpasswd2 (BDB)"])
        cyr10 = pct([r.wall for r in res["Cyrus saslpasswd2 (BDB)"]], 10)
        for label, _ in cases[1:]:
            ours = statistics.median(r.wall for r in res[label])
            ratio = ours / cyr
            report.row(
                f"add 1 user, {users:,}-user DB: {label.replace('sasldb ', '')} vs Cyrus",
                ms(ours),
                ms(cyr),
                f"{ratio:.2f}x",
                "<= 1.5x",
                "ok" if ratio <= 1.5 else "MISS",
                p10=f"{pct([r.wall for r in res[label]], 10) / cyr10:.2f}x",
            )
        for name, path in dbs.items():
            os.unlink(path)


def bench_import(args, runner, work, report, fixtures):
    section(f"2. Bulk import of {args.users:,} users (plain + CRAM-MD5 + DIGEST-MD5) into a new file")
    per_user = {}
    for fmt in ("gdbm", "bdb"):
        runs = []
        db = os.path.join(work, f"import-{fmt}.db")
        argv = [args.sasldb, "import", "-f", db, "--format", fmt, "--secrets", "plain,cram-md5,digest-md5", fixtures["input"]]
        for k in range(args.import_runs):
            runs.append(runner.run(argv, base_env(args)))
            os.unlink(db)
        rss = runner.peak_rss_kb(argv, base_env(args), runs=1)
        os.unlink(db)
        wall = statistics.median(r.wall for r in runs)
        cpu = statistics.median((r.user + r.sys) / r.wall for r in runs)
        rate = args.users / wall
        per_user[fmt] = wall / args.users
        say(
            f"  sasldb import ({fmt.upper():<4})  median {wall:7.3f} s = {rate:9,.0f} users/s"
            f"   CPU {cpu:4.2f} cores   peak RSS {rss / 1024:6.1f} MiB   (runs={len(runs)}: "
            + ", ".join(f"{r.wall:.3f}" for r in runs)
            + " s)"
        )

    # Cyrus has no bulk import: one saslpasswd2 process per user, sequentially, into a new file.
    db = os.path.join(work, "import-cyrus.db")
    env = base_env(args)
    t0 = time.perf_counter()
    for i in range(args.cyrus_loop_users):
        runner.run([args.saslpasswd2, "-p", "-c", "-f", db, "-u", REALM, f"user{i}"], env, f"password{i}\n".encode())
    cyrus_wall = time.perf_counter() - t0
    os.unlink(db)
    cyrus_per_user = cyrus_wall / args.cyrus_loop_users
    say(
        f"  Cyrus: loop of {args.cyrus_loop_users:,} saslpasswd2 -p -c processes into a new BDB file (no bulk import"
        f" exists): {cyrus_wall:.2f} s = {1 / cyrus_per_user:,.0f} users/s, extrapolated per user"
        " (it writes userPassword only, into a file that stays small: optimistic for Cyrus)"
    )
    for fmt in ("gdbm", "bdb"):
        rate = 1 / per_user[fmt]
        report.row(
            f"import {args.users:,} users, 3 secrets, {fmt.upper()} (users/s; Cyrus: per-user loop, extrapolated)",
            f"{rate:,.0f}/s",
            f"{1 / cyrus_per_user:,.0f}/s",
            f"{per_user[fmt] / cyrus_per_user:.4f}x",
            ">= 50,000/s",
            "ok" if rate >= 50_000 else "MISS",
        )

    section(f"2b. Bulk import of {args.scram_users:,} users with SCRAM-SHA-256 at 4096 iterations (GDBM)")
    input_scram = os.path.join(work, "users-scram.txt")
    write_users(input_scram, args.scram_users)
    runs = []
    for k in range(args.scram_runs):
        db = os.path.join(work, "import-scram.db")
        runs.append(
            runner.run(
                [args.sasldb, "import", "-f", db, "--format", "gdbm", "--secrets", "plain,scram-sha-256",
                 "--scram-iterations", "4096", input_scram],
                base_env(args),
            )
        )
        os.unlink(db)
    os.unlink(input_scram)
    wall = statistics.median(r.wall for r in runs)
    cpu = statistics.median((r.user + r.sys) / r.wall for r in runs)
    say(
        f"  sasldb import --secrets plain,scram-sha-256: median {wall:.3f} s = {args.scram_users / wall:,.0f} users/s,"
        f" CPU utilisation {cpu:.2f} cores of {os.cpu_count()} (user+sys / wall)   (runs: "
        + ", ".join(f"{r.wall:.3f}" for r in runs)
        + " s)"
    )
    report.row(f"import {args.scram_users:,} users, SCRAM-SHA-256 x4096 (users/s)", f"{args.scram_users / wall:,.0f}/s")
    report.row("  CPU utilisation of that import (user+sys / wall)", f"{cpu:.2f} cores", "", "", f"~{os.cpu_count()}",
               "ok" if cpu >= 0.85 * os.cpu_count() else "MISS")


def bench_list(args, runner, work, report, fixtures):
    db = fixtures["large"]["bdb"]
    gdb = fixtures["large"]["gdbm"]
    section(f"3. Listing {args.users:,} users ({3 * args.users:,} records), stdout to /dev/null")
    env = base_env(args)
    cases = [
        ("Cyrus sasldblistusers2 (BDB)", lambda i: ([args.sasldblistusers2, "-f", db], env, b"")),
        ("sasldb sasldblistusers2 (BDB)", lambda i: ([args.sasldb, "sasldblistusers2", "-f", db], env, b"")),
        ("sasldb list (BDB)", lambda i: ([args.sasldb, "list", "-f", db], env, b"")),
        ("sasldb list (GDBM, same users)", lambda i: ([args.sasldb, "list", "-f", gdb], env, b"")),
    ]
    # Check once that the outputs have the expected sizes (what is being timed).
    for label, make in cases:
        argv, e, _ = make(0)
        out = os.path.join(work, "list.out")
        runner.run(argv, e, b"", stdout_path=out)
        with open(out, "rb") as f:
            data = f.read()
        os.unlink(out)
        lines = data.count(b"\n")
        say(f"  {label:<44} prints {lines:,} lines, {len(data):,} bytes")
    res = interleaved(runner, cases, args.list_runs, 1)
    rss = {label: runner.peak_rss_kb(*make(0)) for label, make in cases}
    for label, _ in cases:
        say(describe(label, res[label]) + f"   peak RSS {rss[label] / 1024:.1f} MiB"
            f"   CPU {statistics.median(r.user + r.sys for r in res[label]) * 1000:.0f} ms")
    cyr = statistics.median(r.wall for r in res[cases[0][0]])
    cyr10 = pct([r.wall for r in res[cases[0][0]]], 10)
    cyr_rss = rss[cases[0][0]]
    for label, _ in cases[1:]:
        ours = statistics.median(r.wall for r in res[label])
        ratio = ours / cyr
        vs = "Cyrus (BDB)" if "GDBM" in label else "Cyrus"
        report.row(f"list {args.users:,} users: {label.replace('sasldb ', '')} vs {vs}", ms(ours), ms(cyr),
                   f"{ratio:.2f}x", "<= 0.5x", "ok" if ratio <= 0.5 else "MISS",
                   p10=f"{pct([r.wall for r in res[label]], 10) / cyr10:.2f}x")
    for label, _ in cases[1:]:
        report.row(f"  peak RSS of {label.replace('sasldb ', '')}", f"{rss[label] / 1024:.1f} MiB",
                   f"{cyr_rss / 1024:.1f} MiB", f"{rss[label] / cyr_rss:.1f}x")


def bench_startup(args, runner, work, report):
    section("4. Start-up: fixed per-process cost")
    env = base_env(args)
    cases = [
        ("Cyrus saslpasswd2 -v", lambda i: ([args.saslpasswd2, "-v"], env, b"")),
        ("sasldb --version", lambda i: ([args.sasldb, "--version"], env, b"")),
        ("sasldb saslpasswd2 -v", lambda i: ([args.sasldb, "saslpasswd2", "-v"], env, b"")),
        ("/bin/true (spawn+wait floor)", lambda i: (["/bin/true"], env, b"")),
    ]
    res = interleaved(runner, cases, args.n, args.warmup)
    for label, make in cases:
        say(describe(label, res[label]) + f"   peak RSS {runner.peak_rss_kb(*make(0)) / 1024:.1f} MiB")
    cyr = statistics.median(r.wall for r in res[cases[0][0]])
    cyr10 = pct([r.wall for r in res[cases[0][0]]], 10)
    for label, _ in cases[1:3]:
        ours = statistics.median(r.wall for r in res[label])
        report.row(f"start-up: {label} vs Cyrus saslpasswd2 -v", ms(ours), ms(cyr), f"{ours / cyr:.2f}x",
                   p10=f"{pct([r.wall for r in res[label]], 10) / cyr10:.2f}x")
    floor = statistics.median(r.wall for r in res[cases[3][0]])
    report.row("  (spawn+wait floor: /bin/true)", ms(floor))


def base_env(args):
    return {
        "PATH": "/usr/sbin:/usr/bin:/sbin:/bin",
        "LANG": "C.UTF-8",
        "SASL_CONF_PATH": args.conf_dir,
        "HOME": args.conf_dir,
    }


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--sasldb", required=True, help="the release sasldb binary")
    p.add_argument("--saslpasswd2", default="/usr/sbin/saslpasswd2")
    p.add_argument("--sasldblistusers2", default="/usr/sbin/sasldblistusers2")
    p.add_argument("--n", type=int, default=200, help="measured runs per command, per-process figures")
    p.add_argument("--warmup", type=int, default=10)
    p.add_argument("--users", type=int, default=100_000, help="large DB, bulk import and listing size")
    p.add_argument("--small-users", type=int, default=100)
    p.add_argument("--import-runs", type=int, default=3)
    p.add_argument("--cyrus-loop-users", type=int, default=1000)
    p.add_argument("--scram-users", type=int, default=5000)
    p.add_argument("--scram-runs", type=int, default=3)
    p.add_argument("--list-runs", type=int, default=15)
    p.add_argument("--wait-idle", type=float, default=300,
                   help="before each section, wait up to this many seconds for other processes to go quiet")
    p.add_argument("--build-flags", default="", help="extra swift build flags the binary was built with (printed only)")
    p.add_argument("--only", default="add,import,list,startup", help="comma-separated sections to run")
    args = p.parse_args()
    args.sasldb = os.path.abspath(args.sasldb)
    only = set(args.only.split(","))
    Section.wait_idle = args.wait_idle

    work = tempfile.mkdtemp(prefix="sasldb-bench.")
    try:
        args.conf_dir = os.path.join(work, "empty-sasl-conf")
        os.mkdir(args.conf_dir)
        runner = Runner(work)
        report = Report()

        say(f"sasldb benchmarks, {datetime.datetime.now().astimezone().strftime('%Y-%m-%d %H:%M %Z')}")
        commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--", "Sources", "Package.swift"], capture_output=True,
                               text=True).stdout.strip()
        say(f"commit {commit or '?'}{' + uncommitted changes in Sources' if dirty else ''}; {tool_versions(args)}"
            f"; built with swift build -c release {args.build_flags}".rstrip())
        with open("/proc/loadavg") as f:
            load = f.read().split()[:3]
        fs = subprocess.run(["stat", "-f", "-c", "%T", work], capture_output=True, text=True).stdout.strip()
        say(f"{platform.platform()}, {os.cpu_count()} CPUs, load average {' '.join(load)}; temp dir on {fs}")
        say(f"per-process figures: {args.n} measured runs after {args.warmup} warm-up runs, commands interleaved;"
            " wall time from posix_spawn to wait4, rusage from wait4")

        # Fixtures: a small and a large DB in both formats, written by our import (the large one has 3 records per
        # user: userPassword, cmusaslsecretCRAM-MD5, cmusaslsecretDIGEST-MD5, as the listing figure asks).
        fixtures = {"input": os.path.join(work, "users.txt")}
        write_users(fixtures["input"], args.users)
        small_input = os.path.join(work, "users-small.txt")
        write_users(small_input, args.small_users)
        for size, src, secrets in (("small", small_input, "plain"), ("large", fixtures["input"], "plain,cram-md5,digest-md5")):
            fixtures[size] = {"describe": f"{'userPassword only' if secrets == 'plain' else '3 records per user'}"}
            for fmt in ("gdbm", "bdb"):
                path = os.path.join(work, f"fixture-{size}.{fmt}")
                runner.run([args.sasldb, "import", "-f", path, "--format", fmt, "--secrets", secrets, src], base_env(args))
                fixtures[size][fmt] = path
            fixtures[size]["describe"] += f", BDB file {os.path.getsize(fixtures[size]['bdb']) / 1024:,.0f} KiB"

        if "add" in only:
            bench_add(args, runner, work, report, fixtures)
        if "import" in only:
            bench_import(args, runner, work, report, fixtures)
        if "list" in only:
            bench_list(args, runner, work, report, fixtures)
        if "startup" in only:
            bench_startup(args, runner, work, report)

        section(None)
        say()
        say("== Summary (ours/Cyrus: ratio of median times, below 1 means ours is faster; p10 ratio: of the 10th"
            " percentiles, less sensitive to load from elsewhere)")
        say(report.table())
        if Section.noisy:
            say(f"WARNING: other processes loaded the machine during sections {', '.join(Section.noisy)}:"
                " absolute figures there are inflated; rerun on a quiet machine.")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
