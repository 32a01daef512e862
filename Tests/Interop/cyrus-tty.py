#!/usr/bin/env python3
"""Record exactly what saslpasswd2 shows on a terminal.

Usage:
    [SASLPASSWD2='cmd ...'] cyrus-tty.py [--command 'cmd ...'] [--case NAME ...]
                                         [--timeout SECONDS]

Runs `<command> -f <tmp>/<case>.db alice` (plus -p for the pipe-mode case) on
a pseudo-terminal (pty.fork: stdin, stdout and stderr are the terminal, which
is also the controlling tty), types the answers, and prints one line per case:

    <case>: <Python repr of every byte read from the terminal> [exit N]

("[timeout]" instead of "[exit N]" if the program had to be killed). The
scratch directory's path is replaced by @TMP@ in the bytes.

The command defaults to $SASLPASSWD2, else /usr/sbin/saslpasswd2. It is
word-split on whitespace, so `--command 'sasldb saslpasswd2'` works. A one-word
command is executed with argv[0] = its basename (as when run from $PATH);
a multi-word command is executed as given.

Cases:
    match        'secret1' typed twice                      (Cyrus: exit 0)
    mismatch     'secret1' then 'secret2'                   (Cyrus: exit 7)
    empty        an empty line at each prompt               (Cyrus: exit 7)
    pipe-on-tty  -p: no prompt, 'pw3' typed once, echoed    (Cyrus: exit 0)

Reference (Debian 12, saslpasswd2 2.1.28):
    match: b'Password: \\r\\nAgain (for verification): \\r\\n' [exit 0]
    mismatch: b"Password: \\r\\nAgain (for verification): \\r\\nsaslpasswd2: passwords don't match; aborting\\r\\n" [exit 7]
    empty: b'Password: \\r\\nAgain (for verification): \\r\\nsaslpasswd2: invalid parameter supplied\\r\\n' [exit 7]
    pipe-on-tty: b'pw3\\r\\n' [exit 0]

Timing (tty_dialogue.py): an answer is typed only after the prompt has
appeared and the terminal's ECHO flag is seen cleared, because saslpasswd2's
tcsetattr(TCSAFLUSH) discards input typed earlier; after --echo-grace seconds
it is typed anyway. Every wait is bounded by --timeout per case (default
10 s); the child's process group is killed on timeout and the scratch
directory is removed at exit. Environment for the child: LC_ALL=C,
SASL_CONF_PATH=<empty scratch dir> (no saslpasswd.conf is read), TERM=dumb.
"""

import argparse
import os
import shutil
import signal
import sys
import tempfile

from tty_dialogue import converse, verdict

CASES = {
    # name: (extra args, answers, wait-for-prompt)
    "match": ([], [b"secret1\n", b"secret1\n"], True),
    "mismatch": ([], [b"secret1\n", b"secret2\n"], True),
    "empty": ([], [b"\n", b"\n"], True),
    "pipe-on-tty": (["-p"], [b"pw3\n"], False),
}


class Interrupted(Exception):
    pass


def _interrupt(signum, frame):
    raise Interrupted()


def run_case(name, command, tmpdir, timeout, echo_grace):
    extra, answers, prompted = CASES[name]
    db = os.path.join(tmpdir, name + ".db")
    words = command.split()
    if len(words) == 1:
        exe, argv = words[0], [os.path.basename(words[0])]
    else:
        exe, argv = words[0], list(words)
    argv += ["-f", db] + extra + ["alice"]

    env = dict(os.environ)
    env.update(LC_ALL="C", LANG="C", TERM="dumb", SASL_CONF_PATH=os.path.join(tmpdir, "conf"))
    env.pop("LANGUAGE", None)

    seen, status = converse(exe, argv, env, tmpdir, answers, prompted, timeout, echo_grace)
    seen = seen.replace(os.fsencode(tmpdir), b"@TMP@")
    return "%s: %r %s" % (name, seen, verdict(status)), status is not None


def main(argv):
    p = argparse.ArgumentParser(description="Record saslpasswd2's terminal dialogue byte for byte.")
    p.add_argument("--command", default=os.environ.get("SASLPASSWD2") or "/usr/sbin/saslpasswd2",
                   help="saslpasswd2 command, word-split (default $SASLPASSWD2 or /usr/sbin/saslpasswd2)")
    p.add_argument("--case", action="append", choices=sorted(CASES), help="run only these cases (repeatable)")
    p.add_argument("--timeout", type=float, default=10.0, help="time limit per case, seconds (default 10)")
    p.add_argument("--echo-grace", type=float, default=2.0,
                   help="type an answer this long after a prompt even if echo stays on (default 2)")
    args = p.parse_args(argv)
    if not args.command.split():
        print("cyrus-tty.py: empty --command", file=sys.stderr)
        return 2
    exe = args.command.split()[0]
    if not shutil.which(exe):
        print("cyrus-tty.py: command not found: %s" % exe, file=sys.stderr)
        return 2

    signal.signal(signal.SIGTERM, _interrupt)
    signal.signal(signal.SIGHUP, _interrupt)
    tmpdir = tempfile.mkdtemp(prefix="cyrus-tty.")
    ok = True
    try:
        os.mkdir(os.path.join(tmpdir, "conf"))
        for name in args.case or list(CASES):
            line, finished = run_case(name, args.command, tmpdir, args.timeout, args.echo_grace)
            print(line)
            sys.stdout.flush()
            ok = ok and finished
    except (Interrupted, KeyboardInterrupt):
        print("cyrus-tty.py: interrupted", file=sys.stderr)
        return 2
    except BrokenPipeError:  # e.g. piped into head
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 2
    finally:
        shutil.rmtree(tmpdir, ignore_errors=True)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
