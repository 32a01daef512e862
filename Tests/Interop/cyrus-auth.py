#!/usr/bin/env python3
"""Prove that a sasldb file authenticates a user through the real Cyrus SASL library.

Usage:
    cyrus-auth.py --db FILE --mech MECH --user USER --realm REALM --password PW
                  [--authid-with-realm] [--plain-client {sample,own}]
                  [--conf KEY=VALUE ...] [--server-fqdn NAME] [--service NAME]
                  [--timeout SECONDS] [--verbose]
    (a value starting with '-' needs the --opt=VALUE form, e.g. --password=-x;
    an empty REALM means: no -u for the server, realm = server FQDN)

Exit status and the single line printed on stdout:
    0  ACCEPTED ...   the Cyrus server finished the negotiation with SASL_OK
    1  REJECTED ...   the Cyrus server ended the negotiation with an error
                      (its reason is quoted: "authentication failure",
                      "user not found", "generic failure" for an unreadable DB, ...)
    2  ERROR ...      the harness could not run the exchange (missing binary or
                      DB file, mechanism not available, timeout, client failed
                      before the server decided, bad arguments)

How it works
    Debian's `sasl-sample-server` (package sasl2-bin) runs as
        sasl-sample-server -m MECH -s smtp -d localhost -u REALM
    with SASL_CONF_PATH pointing at a private temporary directory that holds
    `sample.conf` (the server's appname is "sample") containing
        sasldb_path: /absolute/path/to/FILE
    plus any --conf lines. Debian's `sasl-sample-client -m MECH -s smtp -n localhost -a AUTHID`
    is wired to it: the programs exchange lines "S: <base64>" / "C: <base64>"
    on stdout/stdin, and this script relays those lines between them. Both are
    run under `stdbuf -oL` because their stdout is otherwise block-buffered on
    a pipe and the exchange would deadlock.
    The client asks for the password with getpass(3), which reads
    /dev/tty, so it is started in a new session whose controlling terminal is
    a pseudo-terminal owned by this script (stdin/stdout stay pipes); the
    password is typed there when the "Password: " prompt appears. The pty is
    set up so that no byte is special except the final newline (no erase/kill/
    signal characters, no CR->NL mapping), hence any password without NUL or
    newline can be typed. The server's acceptance is read from its stdout
    ("Negotiation complete"); a rejection from its stderr
    ("sasl-sample-server: Performing SASL negotiation: <reason> (...)").
    For PLAIN, --plain-client own skips the sample client and feeds the
    server a crafted initial response base64("PLAIN" NUL "" NUL authid NUL
    password) (this also allows passwords containing newlines). The default
    (sample) uses the real client for PLAIN too: Debian's sample client does
    support PLAIN.

Login-name forms (observed with Debian 12 sasl2-bin 2.1.28+dfsg-10+deb12u1;
user created by `saslpasswd2 -f FILE -p -u Example.COM alice`, i.e. records
alice\0Example.COM\0userPassword):
    * `--user alice --realm Example.COM` (client authid `alice`, server
      `-u Example.COM`): ACCEPTED by PLAIN, CRAM-MD5, DIGEST-MD5, SCRAM-SHA-1,
      SCRAM-SHA-256; the server reports "Username: alice@Example.COM" (it
      appends @user_realm, then splits at the first '@'). This is the
      recommended form.
    * `--user alice --realm Example.COM --authid-with-realm` (authid
      `alice@Example.COM`, server `-u Example.COM`): ACCEPTED by all five.
    * `--user alice@Example.COM --realm ''` (no -u given to the server at
      all): ACCEPTED by all five.
    * `--user alice --realm ''`: REJECTED "user not found" (the realm then
      is the server FQDN, `localhost` with the default --server-fqdn; a user
      made with `-u localhost` is accepted this way, username `bob`).
    * Realms are byte-exact: `--realm example.com` -> "user not found";
      `alice@Other.ORG` with `-u Example.COM` -> "user not found" (an explicit
      realm in the name wins over -u).
    * An empty realm is NOT passed as `-u ''`: with a literal empty user realm
      DIGEST-MD5 fails to start ("invalid parameter supplied") and `alice`
      becomes `alice@` (realm "") -> "user not found".
SCRAM notes:
    * SCRAM-SHA-1 and SCRAM-SHA-256 work from `userPassword` alone (no
      authPassword needed): the server derives a per-process salt.
    * When userPassword exists, SCRAM uses it and ignores authPassword (a
      file with authPassword for "secret" and userPassword "pwB": SCRAM-SHA-1
      and -256 accept only "pwB"). So to prove an authPassword value, test a
      file WITHOUT userPassword.
    * saslpasswd2 with `scram_secret_generate: yes` writes authPassword
      `SCRAM-SHA-1$...`. With authPassword only (`saslpasswd2 -n`),
      SCRAM-SHA-1 accepts the right password and rejects a wrong one
      ("authentication failure"), SCRAM-SHA-256 is REJECTED with "no memory
      available", and PLAIN/CRAM-MD5 give "user not found".
    * A non-DB file given as --db gives REJECTED "generic failure".

Every wait is bounded: each select() uses the time left of the overall
--timeout (default 20 s); child processes are killed and the temporary
directory removed on every exit path (including SIGTERM/SIGINT).
"""

import argparse
import base64
import fcntl
import os
import re
import select
import shutil
import subprocess
import sys
import tempfile
import termios

from sasl_harness import EXIT_ACCEPTED, EXIT_ERROR, ExchangeBase, Outcome, main as run_harness


def parse_args(argv):
    p = argparse.ArgumentParser(
        description="Check that a sasldb file authenticates USER through the real Cyrus SASL server.")
    p.add_argument("--db", required=True, help="sasldb file (Berkeley DB, as read by Debian's libsasl2)")
    p.add_argument("--mech", required=True, help="PLAIN, CRAM-MD5, DIGEST-MD5, SCRAM-SHA-1, SCRAM-SHA-256, ...")
    p.add_argument("--user", required=True, help="login name given to the client (authid)")
    p.add_argument("--realm", required=True, help="server user realm (sasl-sample-server -u); may be empty")
    p.add_argument("--password", required=True, help="password typed into the client")
    p.add_argument("--authid-with-realm", action="store_true",
                   help="log in as USER@REALM instead of USER")
    p.add_argument("--plain-client", choices=("sample", "own"), default="sample",
                   help="for PLAIN: use sasl-sample-client (default) or craft the response here")
    p.add_argument("--conf", action="append", default=[], metavar="KEY=VALUE",
                   help="extra line 'KEY: VALUE' for the server's sample.conf (repeatable)")
    p.add_argument("--server-fqdn", default="localhost", help="sasl-sample-server -d / client -n (default localhost)")
    p.add_argument("--service", default="smtp", help="service name (default smtp)")
    p.add_argument("--timeout", type=float, default=20.0, help="overall time limit in seconds (default 20)")
    p.add_argument("--server-bin", default="/usr/sbin/sasl-sample-server")
    p.add_argument("--client-bin", default="/usr/bin/sasl-sample-client")
    p.add_argument("--verbose", "-v", action="store_true", help="print the whole exchange on stderr")
    return p.parse_args(argv)


class Exchange(ExchangeBase):
    def __init__(self, args):
        super().__init__(args)
        self.master = None
        self.slave = None
        self.log = []
        self.password = os.fsencode(args.password)
        self.own_plain = args.mech.upper() == "PLAIN" and args.plain_client == "own"

    def keep_stderr_line(self, line):
        return "SASL Other" not in line

    def validate(self):
        a = self.args
        db = os.path.abspath(a.db)
        if not os.path.isfile(db):
            raise Outcome(EXIT_ERROR, "ERROR: --db %s: no such file" % a.db)
        if "\n" in db or db != db.strip():
            raise Outcome(EXIT_ERROR, "ERROR: --db path cannot be written into sample.conf")
        self.db = db
        if b"\0" in self.password:
            raise Outcome(EXIT_ERROR, "ERROR: password contains NUL")
        if not self.own_plain:
            if b"\n" in self.password:
                raise Outcome(EXIT_ERROR, "ERROR: password contains a newline; cannot be typed "
                              "(use --mech PLAIN --plain-client own)")
            if len(self.password) > 4000:
                raise Outcome(EXIT_ERROR, "ERROR: password too long for the terminal line (max 4000 bytes)")
        if a.mech.upper() == "PLAIN":
            # the initial response travels as one "C: <base64>" line and the
            # sample server reads lines with fgets(buf, 2048)
            n = len(b"PLAIN\0\0\0") + len(os.fsencode(self.authid)) + len(self.password)
            if 3 + 4 * ((n + 2) // 3) + 1 > 2047:
                raise Outcome(EXIT_ERROR, "ERROR: PLAIN response too long for sasl-sample-server's "
                              "2048-byte line buffer (keep the password under ~1500 bytes)")
        for item in a.conf:
            if "=" not in item or "\n" in item:
                raise Outcome(EXIT_ERROR, "ERROR: --conf wants KEY=VALUE, got %r" % item)
        bins = [a.server_bin] + ([] if self.own_plain else [a.client_bin])
        for b in bins:
            if not (os.path.isfile(b) and os.access(b, os.X_OK)):
                raise Outcome(EXIT_ERROR, "ERROR: %s not found (install sasl2-bin)" % b)
        self.stdbuf = shutil.which("stdbuf")
        if not self.stdbuf:
            raise Outcome(EXIT_ERROR, "ERROR: stdbuf (coreutils) not found")

    # -- processes -----------------------------------------------------------
    def start(self):
        a = self.args
        self.tmpdir = tempfile.mkdtemp(prefix="cyrus-auth.")
        conf_lines = ["sasldb_path: %s" % self.db]
        for item in a.conf:
            k, v = item.split("=", 1)
            conf_lines.append("%s: %s" % (k.strip(), v.strip()))
        with open(os.path.join(self.tmpdir, "sample.conf"), "w") as f:
            f.write("\n".join(conf_lines) + "\n")
        client_conf = os.path.join(self.tmpdir, "client-conf")
        os.mkdir(client_conf)

        env = dict(os.environ)
        env["SASL_CONF_PATH"] = self.tmpdir
        env.pop("SASL_CONF_PATH_CLIENT", None)
        server_argv = [self.stdbuf, "-oL", a.server_bin, "-m", a.mech, "-s", a.service,
                       "-d", a.server_fqdn]
        if a.realm:
            # an empty -u would be passed to sasl_server_new as "" (DIGEST-MD5
            # then fails with "invalid parameter supplied"); leave it unset so
            # the realm defaults to the server FQDN.
            server_argv += ["-u", a.realm]
        self.server = subprocess.Popen(
            server_argv,
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            env=env, cwd=self.tmpdir, start_new_session=True)
        if self.own_plain:
            return

        # Pseudo-terminal that becomes the client's controlling terminal, so
        # getpass() (which opens /dev/tty) talks to us. The slave stays open
        # here so reads on the master never see EIO while the client has not
        # opened /dev/tty yet.
        self.master, self.slave = os.openpty()
        attrs = termios.tcgetattr(self.slave)
        iflag, oflag, cflag, lflag, ispeed, ospeed, cc = attrs
        iflag &= ~(termios.ICRNL | termios.INLCR | termios.IGNCR | termios.ISTRIP
                   | termios.IXON | termios.IXOFF)
        lflag &= ~(termios.ISIG | termios.IEXTEN)
        for idx in (termios.VERASE, termios.VKILL, termios.VWERASE, termios.VREPRINT,
                    termios.VLNEXT, termios.VEOF, termios.VEOL, termios.VEOL2,
                    termios.VINTR, termios.VQUIT, termios.VSUSP, termios.VSTART,
                    termios.VSTOP, termios.VDISCARD):
            cc[idx] = b"\0"  # _POSIX_VDISABLE on Linux
        termios.tcsetattr(self.slave, termios.TCSANOW,
                          [iflag, oflag, cflag, lflag, ispeed, ospeed, cc])
        slave_name = os.ttyname(self.slave)

        def make_controlling_tty():
            # runs in the child after setsid() (start_new_session=True)
            fd = os.open(slave_name, os.O_RDWR)
            fcntl.ioctl(fd, termios.TIOCSCTTY, 0)
            os.close(fd)

        cenv = dict(os.environ)
        cenv["SASL_CONF_PATH"] = client_conf
        self.client = subprocess.Popen(
            [self.stdbuf, "-oL", a.client_bin, "-m", a.mech, "-s", a.service,
             "-n", a.server_fqdn, "-a", self.authid],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            env=cenv, cwd=self.tmpdir, start_new_session=True,
            preexec_fn=make_controlling_tty)

    def cleanup(self):
        self.stop_processes()
        for fd in (self.master, self.slave):
            if fd is not None:
                try:
                    os.close(fd)
                except OSError:
                    pass

    # -- relay ---------------------------------------------------------------
    def send(self, proc, who, line):
        self.trace(who + "<", line)
        try:
            proc.stdin.write(line + b"\n")
            proc.stdin.flush()
        except (BrokenPipeError, ValueError, OSError):
            pass

    def run(self):
        a = self.args
        fds = {self.server.stdout.fileno(): "server.out",
               self.server.stderr.fileno(): "server.err"}
        if self.client:
            fds[self.client.stdout.fileno()] = "client.out"
            fds[self.client.stderr.fileno()] = "client.err"
            fds[self.master] = "tty"
        for fd in fds:
            os.set_blocking(fd, False)
        lines = {name: b"" for name in fds.values()}
        tty_seen = b""
        prompts_answered = 0
        reason = None

        # run until the server has closed both stdout and stderr (it exited),
        # unless its stdout says it accepted first
        while "server.out" in fds.values() or "server.err" in fds.values():
            ready, _, _ = select.select(list(fds), [], [], min(self.remaining(), 0.5))
            for fd in ready:
                name = fds.get(fd)
                if name is None:
                    continue
                try:
                    data = os.read(fd, 65536)
                except BlockingIOError:
                    continue
                except OSError:
                    data = b""
                if not data:
                    del fds[fd]
                    if name == "client.out":
                        # client gone: let the server see EOF
                        try:
                            self.server.stdin.close()
                        except OSError:
                            pass
                    continue
                self.trace(name, data)
                if name == "tty":
                    tty_seen += data
                    while tty_seen.count(b"Password: ") > prompts_answered:
                        prompts_answered += 1
                        self.trace("tty<", b"<password>\n")
                        os.write(self.master, self.password + b"\n")
                    continue
                if name.endswith(".err"):
                    self.errbuf[name[:-4]] += data
                lines[name] += data
                while b"\n" in lines[name]:
                    line, lines[name] = lines[name].split(b"\n", 1)
                    if name == "server.out":
                        if line.startswith(b"S: "):
                            if self.own_plain:
                                # first S: line is the mechanism list; answer with
                                # the mechanism name and an initial response.
                                msg = (b"PLAIN\0" + b"\0" + os.fsencode(self.authid)
                                       + b"\0" + self.password)
                                self.send(self.server, "server",
                                          b"C: " + base64.b64encode(msg))
                            elif self.client and self.client.stdin:
                                self.send(self.client, "client", line)
                        elif line == b"Negotiation complete":
                            # printed only after sasl_server_start/step returned SASL_OK
                            self.accepted = True
                        elif self.accepted and line.startswith(b"Username: "):
                            self.username = line[len(b"Username: "):].decode("utf-8", "replace")
                            raise self.accepted_outcome()
                    elif name == "client.out":
                        if line.startswith(b"C: "):
                            self.send(self.server, "server", line)
                    elif name == "server.err":
                        m = re.match(rb"^[^:]*: (Starting|Performing) SASL negotiation: (.*)$", line)
                        if m:
                            reason = m.group(2).decode("utf-8", "replace")
        if self.accepted:
            raise self.accepted_outcome()
        rc = self.server.wait(timeout=max(0.1, self.remaining()))
        tail = lines.get("server.err", b"")
        if tail:
            m = re.match(rb"^[^:]*: (Starting|Performing) SASL negotiation: (.*)$", tail)
            if m:
                reason = m.group(2).decode("utf-8", "replace")
        if reason is not None:
            raise self.rejection(reason)
        raise Outcome(EXIT_ERROR, "ERROR: server exited with status %s before deciding%s"
                      % (rc, self.stderr_tail()))


if __name__ == "__main__":
    sys.exit(run_harness(sys.argv[1:], parse_args, Exchange))
