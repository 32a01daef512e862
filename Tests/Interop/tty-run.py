#!/usr/bin/env python3
"""Run one command on a pseudo-terminal, type answers at its prompts, report.

Usage:
    tty-run.py [--answer TEXT]... [--timeout SECONDS] -- COMMAND [ARG]...

COMMAND runs with stdin, stdout and stderr on a pty (its controlling
terminal), in the current directory, with the caller's environment plus
LC_ALL=C and TERM=dumb. Each --answer (a newline is added) is typed at the
next prompt, once the prompt shows and echo is off (tty_dialogue.py). Prints
one JSON object: {"output": every byte written to the terminal, decoded as
UTF-8 with replacement, "status": the exit code, or null on timeout or
signal}. Exit 0 when the command ran to its end, 1 on timeout, 2 on misuse.

Used by InteropTests/PasswdCommandTests.swift to check `sasldb passwd`'s
prompts and that typed passwords are not echoed.
"""

import argparse
import json
import os
import sys

from tty_dialogue import converse


def main(argv):
    p = argparse.ArgumentParser(description="Run a command on a pty and answer its prompts.")
    p.add_argument("--answer", action="append", default=[], help="text typed at the next prompt (repeatable)")
    p.add_argument("--timeout", type=float, default=20.0, help="time limit, seconds (default 20)")
    p.add_argument("command", nargs="+", help="the command and its arguments (after --)")
    args = p.parse_args(argv)
    env = dict(os.environ)
    env.update(LC_ALL="C", LANG="C", TERM="dumb")
    answers = [a.encode() + b"\n" for a in args.answer]
    seen, status = converse(args.command[0], args.command, env, os.getcwd(), answers, True, args.timeout)
    code = os.WEXITSTATUS(status) if status is not None and os.WIFEXITED(status) else None
    print(json.dumps({"output": seen.decode("utf-8", "replace"), "status": code}))
    return 0 if status is not None else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
