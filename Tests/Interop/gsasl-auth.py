#!/usr/bin/env python3
"""Authenticate GNU SASL's command-line client against a sasl-sample-server.

Usage:
    gsasl-auth.py --server-bin PATH --db FILE --mech MECH --user USER --realm REALM --password PW
                  [--authid-with-realm] [--client-realm R] [--authzid ID]
                  [--server-fqdn NAME] [--client-hostname NAME] [--service NAME]
                  [--gsasl-bin PATH] [--timeout SECONDS] [--verbose]
    (a value starting with '-' needs the --opt=VALUE form, e.g. --password=-x;
    an empty REALM means: no -u for the server, realm = server FQDN)

Exit status and the single line printed on stdout (as cyrus-auth.py):
    0  ACCEPTED ...   the server printed "Negotiation complete"
    1  REJECTED ...   the server ended the negotiation with an error; its reason
                      is quoted ("authentication failure", "generic failure", ...)
    2  ERROR ...      the harness could not run the exchange (missing binary or
                      DB file, mechanism not available, timeout, the client gave
                      up or failed before the server decided, bad arguments)

How it works
    The server is `--server-bin` (our `sasldb` through a symlink named
    sasl-sample-server, or Debian's /usr/sbin/sasl-sample-server to compare)
    run as
        SERVER -m MECH -s smtp -d localhost [-u REALM]
    with SASL_CONF_PATH pointing at a private temporary directory holding
    `sample.conf` with `sasldb_path: /absolute/path/to/FILE`. Its protocol:
        S: <base64 mechanism list>          (printed first)
        C: <base64 of MECH [NUL initial-response]>
        S: <base64 challenge> / C: <base64 response>   ...
        "Negotiation complete" + "Username: ..." on stdout, or on stderr
        "<prog>: Performing SASL negotiation: <reason> (<reason>)".
    The client is
        gsasl --client --quiet --mechanism MECH -a AUTHID -p PASSWORD
              --service smtp --hostname localhost --quality-of-protection=qop-auth
              [--realm R] [-z AUTHZID]
    In --quiet mode gsasl prints the mechanism name on a line of its own,
    then one line per step: the base64 of its output, or an empty line when
    it has none; after each step that needs more it reads one base64 line
    (the server's challenge) from stdin. The translation is:
        gsasl's first step line  -> "C: " base64(MECH) when empty, else
                                    "C: " base64(MECH NUL decoded-output)
        each later "S: <b64>"    -> "<b64>" on gsasl's stdin
        each later gsasl line    -> "C: <line>" on the server's stdin
    Both programs run in their own session without a controlling terminal
    (gsasl cannot read a terminal; a prompt it prints on stdout, "Enter ...: ",
    ends the run with ERROR at once unless it says "(optional)"), under `stdbuf -oL`
    (their stdout is a pipe). The password is passed on gsasl's command line,
    so it must not contain NUL; it is visible in `ps` (test passwords only).

GNU SASL 2.2.0 (Debian 12) behaviour worth knowing
    * Mechanisms: PLAIN, LOGIN (user name as initial response), CRAM-MD5,
      DIGEST-MD5, SCRAM-SHA-1, SCRAM-SHA-256. The -PLUS variants cannot run
      here: gsasl takes channel bindings only from its own TLS session
      (--connect) and stops with "a tls-exporter channel binding was not
      provided" (ERROR), and the sample-server protocol has no TLS either.
    * DIGEST-MD5 defaults to qop-int (hence --quality-of-protection=qop-auth,
      the only qop our server offers) and, without --realm, prompts
      "Enter realm of server (optional): " on stdout in the middle of the
      exchange; the harness answers that prompt with an empty line, like a
      user pressing Enter. username = AUTHID as given; realm = --realm if
      given, else the first realm the server offered; digest-uri =
      smtp/<--hostname>.
      With charset=utf-8 it converts username, realm and password to
      ISO-8859-1 when they fit (RFC 2831), so a stored DIGEST-MD5 hash of a
      Latin-1-representable password (pässwörd) verifies it.
      Logging in as `alice@Example.COM` sends username="alice@Example.COM"
      realm="<offered realm>": that digest can be checked only against the
      plaintext password. `-a alice --realm Example.COM` sends the record's
      own authid and realm, which a stored hash can check.
    * SCRAM: SASLprep on the password (a decomposed "pa\u0308ssw..." logs in
      like the composed "pässw..."); no authzid unless -z. PLAIN and LOGIN
      send the password bytes as given (no SASLprep).

Every wait is bounded by --timeout (default 20 s) overall; both processes are
killed and the temporary directory removed on every exit path (including
SIGTERM/SIGINT/SIGHUP).
"""

import argparse
import base64
import binascii
import os
import re
import select
import shutil
import subprocess
import sys
import tempfile
import time

from sasl_harness import EXIT_ERROR, ExchangeBase, Outcome, main as run_harness

NEGOTIATION_FAILURE = re.compile(rb"^[^:]*: (Starting|Performing) SASL negotiation: (.*)$")
# gsasl asks for a missing property on stdout, without a newline ("Enter ...: ")
PROMPT = re.compile(rb"^Enter [^\n]*: $")



def parse_args(argv):
    p = argparse.ArgumentParser(
        description="Authenticate GNU SASL's gsasl client against a sasl-sample-server (ours or Cyrus's).")
    p.add_argument("--server-bin", required=True,
                   help="the server: a symlink named sasl-sample-server to our sasldb, or Cyrus's")
    p.add_argument("--db", required=True, help="sasldb file (written to sample.conf as sasldb_path)")
    p.add_argument("--mech", required=True, help="PLAIN, LOGIN, CRAM-MD5, DIGEST-MD5, SCRAM-SHA-1, SCRAM-SHA-256")
    p.add_argument("--user", required=True, help="login name given to the client (gsasl -a)")
    p.add_argument("--realm", required=True, help="server user realm (-u); may be empty")
    p.add_argument("--password", required=True, help="password given to the client (gsasl -p)")
    p.add_argument("--authid-with-realm", action="store_true", help="log in as USER@REALM instead of USER")
    p.add_argument("--client-realm", default=None, help="gsasl --realm (DIGEST-MD5); default: none given")
    p.add_argument("--authzid", default=None, help="gsasl -z (authorization identity)")
    p.add_argument("--server-fqdn", default="localhost", help="server -d (default localhost)")
    p.add_argument("--client-hostname", default=None, help="gsasl --hostname (default: --server-fqdn)")
    p.add_argument("--service", default="smtp", help="service name for both (default smtp)")
    p.add_argument("--conf", action="append", default=[], metavar="KEY=VALUE",
                   help="extra line 'KEY: VALUE' for the server's sample.conf (repeatable)")
    p.add_argument("--gsasl-bin", default="gsasl")
    p.add_argument("--timeout", type=float, default=20.0, help="overall time limit in seconds (default 20)")
    p.add_argument("--verbose", "-v", action="store_true", help="print the whole exchange on stderr")
    return p.parse_args(argv)


class Exchange(ExchangeBase):
    trace_width = 11

    def validate(self):
        a = self.args
        db = os.path.abspath(a.db)
        if not os.path.isfile(db):
            raise Outcome(EXIT_ERROR, "ERROR: --db %s: no such file" % a.db)
        if "\n" in db or db != db.strip():
            raise Outcome(EXIT_ERROR, "ERROR: --db path cannot be written into sample.conf")
        self.db = db
        for value, what in ((a.password, "password"), (self.authid, "user"),
                            (a.client_realm or "", "client realm"), (a.authzid or "", "authzid")):
            if "\0" in value:
                raise Outcome(EXIT_ERROR, "ERROR: %s contains NUL (cannot be a command-line argument)" % what)
        for item in a.conf:
            if "=" not in item or "\n" in item:
                raise Outcome(EXIT_ERROR, "ERROR: --conf wants KEY=VALUE, got %r" % item)
        if not (os.path.isfile(a.server_bin) and os.access(a.server_bin, os.X_OK)):
            raise Outcome(EXIT_ERROR, "ERROR: --server-bin %s not found" % a.server_bin)
        self.gsasl = a.gsasl_bin if os.sep in a.gsasl_bin else shutil.which(a.gsasl_bin)
        if not self.gsasl or not os.access(self.gsasl, os.X_OK):
            raise Outcome(EXIT_ERROR, "ERROR: %s not found (install gsasl)" % a.gsasl_bin)
        self.stdbuf = shutil.which("stdbuf")
        if not self.stdbuf:
            raise Outcome(EXIT_ERROR, "ERROR: stdbuf (coreutils) not found")

    # -- processes -----------------------------------------------------------
    def start(self):
        a = self.args
        self.tmpdir = tempfile.mkdtemp(prefix="gsasl-auth.")
        conf_lines = ["sasldb_path: %s" % self.db]
        for item in a.conf:
            k, v = item.split("=", 1)
            conf_lines.append("%s: %s" % (k.strip(), v.strip()))
        with open(os.path.join(self.tmpdir, "sample.conf"), "w") as f:
            f.write("\n".join(conf_lines) + "\n")

        env = dict(os.environ)
        env["SASL_CONF_PATH"] = self.tmpdir
        env.pop("SASL_CONF_PATH_CLIENT", None)
        server_argv = [self.stdbuf, "-oL", a.server_bin, "-m", a.mech, "-s", a.service, "-d", a.server_fqdn]
        if a.realm:
            server_argv += ["-u", a.realm]
        self.server = subprocess.Popen(
            server_argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            env=env, cwd=self.tmpdir, start_new_session=True)

        client_argv = [self.stdbuf, "-oL", self.gsasl, "--client", "--quiet", "--mechanism", a.mech,
                       "-a", self.authid, "-p", a.password, "--service", a.service,
                       "--hostname", a.client_hostname or a.server_fqdn,
                       # DIGEST-MD5 defaults to qop-int and otherwise prompts for it on stdout
                       "--quality-of-protection=qop-auth"]
        if a.client_realm is not None:
            client_argv += ["--realm", a.client_realm]
        if a.authzid is not None:
            client_argv += ["-z", a.authzid]
        cenv = dict(os.environ)
        cenv["LC_ALL"] = "C.UTF-8"  # gsasl treats its arguments as UTF-8 (SASLprep, Latin-1 folding)
        self.client = subprocess.Popen(
            client_argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            env=cenv, cwd=self.tmpdir, start_new_session=True)

    def cleanup(self):
        self.stop_processes()

    # -- relay ---------------------------------------------------------------
    def send(self, proc, who, line):
        self.trace(who + " <", line)
        if self.args.verbose:
            payload = line[3:] if line.startswith(b"C: ") else line
            try:
                self.trace("  decoded", base64.b64decode(payload, validate=True))
            except (binascii.Error, ValueError):
                pass
        try:
            proc.stdin.write(line + b"\n")
            proc.stdin.flush()
        except (BrokenPipeError, ValueError, OSError):
            pass

    def close_stdin(self, proc):
        try:
            if proc.stdin:
                proc.stdin.close()
        except OSError:
            pass

    def client_line(self, line, state):
        """Translates one line of gsasl's stdout into what the server should get (or None)."""
        a = self.args
        if state["client_lines"] == 0:
            state["client_lines"] = 1
            # the mechanism gsasl chose
            if line.decode("utf-8", "replace").strip().upper() != a.mech.upper():
                raise Outcome(EXIT_ERROR, "ERROR: gsasl announced mechanism %r, not %s%s"
                              % (line, a.mech, self.stderr_tail()))
            return None
        state["client_lines"] += 1
        text = line.strip()
        if state["client_lines"] == 2:
            try:
                initial = base64.b64decode(text, validate=True)
            except (binascii.Error, ValueError):
                raise Outcome(EXIT_ERROR, "ERROR: gsasl printed a line that is not base64: %r" % line)
            choice = a.mech.encode("ascii", "replace") + ((b"\0" + initial) if initial else b"")
            return b"C: " + base64.b64encode(choice)
        return b"C: " + text

    def run(self):
        fds = {self.server.stdout.fileno(): "server.out",
               self.server.stderr.fileno(): "server.err",
               self.client.stdout.fileno(): "client.out",
               self.client.stderr.fileno(): "client.err"}
        for fd in fds:
            os.set_blocking(fd, False)
        lines = {name: b"" for name in fds.values()}
        state = {"client_lines": 0, "optional_prompts": 0}
        server_ready = False     # the server printed its mechanism list
        to_server = []           # translated client lines waiting for server_ready
        client_done = False      # gsasl closed its stdout
        reason = None

        def flush_to_server():
            if not server_ready:
                return
            while to_server:
                self.send(self.server, "server", to_server.pop(0))
            if client_done:
                self.close_stdin(self.server)  # let the server see EOF

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
                        client_done = True
                        flush_to_server()
                    continue
                self.trace(name, data)
                if name.endswith(".err"):
                    self.errbuf[name[:-4]] += data
                lines[name] += data
                while b"\n" in lines[name]:
                    line, lines[name] = lines[name].split(b"\n", 1)
                    if name == "server.out":
                        if line.startswith(b"S:"):
                            payload = line[2:].strip()
                            if not server_ready:
                                server_ready = True  # the mechanism list: gsasl already knows MECH
                                flush_to_server()
                            elif self.client.stdin and not self.client.stdin.closed:
                                self.send(self.client, "client", payload)
                        elif line == b"Negotiation complete":
                            self.accepted = True
                        elif self.accepted and line.startswith(b"Username: "):
                            self.username = line[len(b"Username: "):].decode("utf-8", "replace")
                            raise self.accepted_outcome()
                    elif name == "client.out":
                        out = self.client_line(line, state)
                        if out is not None:
                            to_server.append(out)
                            flush_to_server()
                    elif name == "server.err":
                        m = NEGOTIATION_FAILURE.match(line)
                        if m:
                            reason = m.group(2).decode("utf-8", "replace")
                if name == "client.out" and PROMPT.match(lines[name]):
                    if lines[name].endswith(b"(optional): ") and state["optional_prompts"] < 4:
                        # like a user pressing Enter: nothing given (the realm of DIGEST-MD5)
                        self.trace("prompt", lines[name])
                        state["optional_prompts"] += 1
                        lines[name] = b""
                        self.send(self.client, "client", b"")
                        continue
                    # gsasl wants something it was not given; it would wait forever
                    raise Outcome(EXIT_ERROR, "ERROR: gsasl prompted %r (mech=%s authid=%s)%s"
                                  % (lines[name].decode("utf-8", "replace"), self.args.mech,
                                     self.authid, self.stderr_tail()))
        if self.accepted:
            raise self.accepted_outcome()
        rc = self.server.wait(timeout=max(0.1, self.remaining()))
        tail = lines.get("server.err", b"")
        if tail:
            m = NEGOTIATION_FAILURE.match(tail)
            if m:
                reason = m.group(2).decode("utf-8", "replace")
        if reason is not None:
            raise self.rejection(reason)
        # give gsasl's last words a moment to arrive, for the message
        self.drain_client_stderr()
        raise Outcome(EXIT_ERROR, "ERROR: server exited with status %s before deciding%s"
                      % (rc, self.stderr_tail()))

    def drain_client_stderr(self):
        fd = self.client.stderr.fileno()
        end = min(self.deadline, time.monotonic() + 0.5)
        while True:
            left = end - time.monotonic()
            if left <= 0:
                return
            ready, _, _ = select.select([fd], [], [], left)
            if not ready:
                return
            try:
                data = os.read(fd, 65536)
            except BlockingIOError:
                continue
            except OSError:
                return
            if not data:
                return
            self.errbuf["client"] += data


if __name__ == "__main__":
    sys.exit(run_harness(sys.argv[1:], parse_args, Exchange))
