"""What cyrus-auth.py and gsasl-auth.py share: outcomes, the time budget, cleanup and the entry point.

Both drive a sasl-sample-server (ours or Cyrus's) with a real client and print one line: ACCEPTED (exit 0),
REJECTED (exit 1) or ERROR (exit 2).
"""

import os
import re
import shutil
import signal
import subprocess
import sys
import time

EXIT_ACCEPTED = 0
EXIT_REJECTED = 1
EXIT_ERROR = 2

# Server-side failures that mean "the harness could not run the exchange"
# rather than "the library looked at the credentials and said no".
HARNESS_REASONS = (
    "no mechanism available",
)


class Outcome(Exception):
    def __init__(self, code, line):
        super().__init__(line)
        self.code = code
        self.line = line


def _terminate(signum, frame):
    raise Outcome(EXIT_ERROR, "ERROR: interrupted by signal %d" % signum)


class ExchangeBase:
    """The state every exchange has: the deadline, the two processes, their stderr, the verdict."""

    trace_width = 6

    def __init__(self, args):
        self.args = args
        self.deadline = time.monotonic() + args.timeout
        self.tmpdir = None
        self.server = None
        self.client = None
        self.authid = args.user + ("@" + args.realm if args.authid_with_realm else "")
        self.errbuf = {"server": b"", "client": b""}
        self.accepted = False
        self.username = None

    def trace(self, who, data):
        if self.args.verbose:
            sys.stderr.write("%-*s %r\n" % (self.trace_width, who, data))
            sys.stderr.flush()

    def accepted_outcome(self):
        return Outcome(EXIT_ACCEPTED, "ACCEPTED: mech=%s authid=%s username=%s"
                       % (self.args.mech, self.authid, self.username or "?"))

    def remaining(self):
        left = self.deadline - time.monotonic()
        if left <= 0:
            if self.accepted:
                raise self.accepted_outcome()
            raise Outcome(EXIT_ERROR, "ERROR: timeout after %gs (mech=%s authid=%s)%s"
                          % (self.args.timeout, self.args.mech, self.authid, self.stderr_tail()))
        return left

    def keep_stderr_line(self, line):
        """Whether a stderr line belongs in the summary (subclasses drop known noise)."""
        return True

    def stderr_tail(self):
        tails = []
        for name in ("server", "client"):
            text = self.errbuf.get(name, b"").decode("utf-8", "replace").strip()
            text = " | ".join(l for l in text.splitlines() if self.keep_stderr_line(l))
            if text:
                tails.append("%s stderr: %s" % (name, text[-300:]))
        return ("; " + "; ".join(tails)) if tails else ""

    def rejection(self, reason):
        """The outcome for the server's negotiation error `reason` ("what: errstring (errstring)" or plain)."""
        m = re.match(r"^(.*) \((.*)\)$", reason)
        if m and m.group(1) == m.group(2):
            reason = m.group(1)
        if any(reason.startswith(h) for h in HARNESS_REASONS):
            return Outcome(EXIT_ERROR, "ERROR: server could not run mech=%s: %s" % (self.args.mech, reason))
        return Outcome(EXIT_REJECTED, "REJECTED: mech=%s authid=%s server said: %s"
                       % (self.args.mech, self.authid, reason))

    def stop_processes(self):
        """Closes the pipes, kills whatever still runs (its whole process group) and removes the temporary folder."""
        for proc in (self.client, self.server):
            if proc is None:
                continue
            for stream in (proc.stdin, proc.stdout, proc.stderr):
                try:
                    if stream:
                        stream.close()
                except OSError:
                    pass
            if proc.poll() is None:
                try:
                    os.killpg(proc.pid, signal.SIGKILL)
                except OSError:
                    try:
                        proc.kill()
                    except OSError:
                        pass
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                pass
        if self.tmpdir:
            shutil.rmtree(self.tmpdir, ignore_errors=True)

    def cleanup(self):
        self.stop_processes()


def main(argv, parse_args, exchange_class):
    """Runs one exchange with signals turned into an ERROR outcome; prints the verdict line and returns its code."""
    args = parse_args(argv)
    handled = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)
    for number in handled:
        signal.signal(number, _terminate)
    ex = exchange_class(args)
    code, line = EXIT_ERROR, "ERROR: internal"
    try:
        ex.validate()
        ex.start()
        ex.run()
    except Outcome as o:
        code, line = o.code, o.line
    except Exception as e:  # harness bug or OS error: never report success
        code, line = EXIT_ERROR, "ERROR: %s: %s" % (type(e).__name__, e)
    finally:
        try:
            for number in handled:
                signal.signal(number, signal.SIG_IGN)
            ex.cleanup()
        finally:
            for number in handled:
                signal.signal(number, signal.SIG_DFL)
    print(line)
    sys.stdout.flush()
    return code
