"""Drive a program on a pseudo-terminal: what cyrus-tty.py and passwd-tty.py share.

converse() runs a program with stdin, stdout and stderr on a pty (also its
controlling terminal), types each answer only once a prompt has appeared and
the terminal's ECHO flag is seen cleared, and returns every byte the program
wrote to the terminal with its wait status.

Why wait for ECHO off: a program that prints a prompt and then switches echo
off with tcsetattr(TCSAFLUSH) DISCARDS input typed before that moment. If a
program never clears ECHO, the answer is typed anyway after `echo_grace`
seconds (its echo then shows up in the bytes). Every wait is bounded by
`timeout`; on timeout the child's process group is killed and the status is
None.
"""

import os
import pty
import select
import signal
import termios
import time


def echo_is_off(fd):
    try:
        return not (termios.tcgetattr(fd)[3] & termios.ECHO)
    except termios.error:
        return False


def converse(exe, argv, env, cwd, answers, prompted=True, timeout=10.0, echo_grace=2.0):
    """Run `exe` with `argv` on a pty, type `answers` (bytes, one per prompt).

    With prompted=False every answer is typed at once, before any output.
    Returns (bytes seen on the terminal, wait status or None on timeout).
    """
    pid, master = pty.fork()
    if pid == 0:  # child: stdin/stdout/stderr are the pty slave
        try:
            os.chdir(cwd)
            os.execvpe(exe, argv, env)
        except OSError as e:
            os.write(2, ("exec %s: %s\n" % (exe, e)).encode())
        os._exit(127)

    seen = b""
    deadline = time.monotonic() + timeout
    pending = list(answers)
    out_len_at_last_answer = 0
    output_since = None  # when new output appeared after the last answer
    status = None
    eof = False
    try:
        if not prompted:
            for a in pending:
                os.write(master, a)
            pending = []
        while not eof:
            now = time.monotonic()
            if now >= deadline:
                break
            # a prompt: new output since the last answer that does not end
            # in a newline (the echoed newline of the previous answer does)
            if (pending and prompted and len(seen) > out_len_at_last_answer
                    and not seen.endswith(b"\n")):
                if output_since is None:
                    output_since = now
                if echo_is_off(master) or now - output_since >= echo_grace:
                    os.write(master, pending.pop(0))
                    out_len_at_last_answer = len(seen)
                    output_since = None
                    continue
            wait = min(deadline - now, 0.02 if (pending and output_since is not None) else 0.2)
            r, _, _ = select.select([master], [], [], wait)
            if r:
                try:
                    data = os.read(master, 4096)
                except OSError:  # EIO: slave closed, child gone
                    data = b""
                if not data:
                    eof = True
                else:
                    seen += data
            else:
                # no output: has the child exited without closing the tty?
                p, st = os.waitpid(pid, os.WNOHANG)
                if p:
                    status = st
                    # drain whatever is left
                    while True:
                        r, _, _ = select.select([master], [], [], 0.05)
                        if not r:
                            break
                        try:
                            data = os.read(master, 4096)
                        except OSError:
                            data = b""
                        if not data:
                            break
                        seen += data
                    break
        while status is None and time.monotonic() < deadline:
            p, st = os.waitpid(pid, os.WNOHANG)
            if p:
                status = st
                break
            time.sleep(0.01)
    finally:
        if status is None:
            try:
                os.killpg(pid, signal.SIGKILL)
            except OSError:
                try:
                    os.kill(pid, signal.SIGKILL)
                except OSError:
                    pass
            try:
                os.waitpid(pid, 0)
            except ChildProcessError:
                pass
        os.close(master)
    return seen, status


def verdict(status):
    """'[exit N]', '[signal N]' or '[timeout]' for a status from converse()."""
    if status is None:
        return "[timeout]"
    if os.WIFEXITED(status):
        return "[exit %d]" % os.WEXITSTATUS(status)
    return "[signal %d]" % os.WTERMSIG(status)
