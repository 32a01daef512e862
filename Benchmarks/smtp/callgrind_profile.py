#!/usr/bin/env python3
"""Where the server's instructions go per STARTTLS + AUTH PLAIN session: sasl-smtpd under callgrind.

Instruction counts do not depend on what else the machine runs, so this works on a busy machine where timed
benchmarks do not. The script sets up a temporary directory under /var/tmp (a certificate, a sasldb2 made by
saslpasswd2, a Maildir, a configuration with `user =` empty), copies the release binary with its debug information
stripped (valgrind 3.19 refuses the DWARF Swift 6 writes: "Possibly corrupted debuginfo file"), starts it under
`valgrind --tool=callgrind` as `nobody` (so callgrind can still write its output: the daemon then never changes
user), runs warm-up sessions, zeroes the counts, runs the measured sessions with one client, dumps, and prints the
instructions per session by component (the first matching rule of COMPONENTS decides, on the function's name and
object). Run as root (to start the daemon as nobody):

    python3 Benchmarks/smtp/callgrind_profile.py --smtpd .build-release/release/sasl-smtpd \\
        --load .build-release/release/smtp-load --client nio --cert p256 --sessions 300

Valgrind reports a Haswell CPU whatever the host is: BoringSSL then takes its portable C X25519 (no ADX) and its
SHA-256 without the SHA extensions, so the cryptography's share here is larger than on a recent CPU; the other
components are counted as they run.
"""

import argparse
import grp
import json
import os
import pwd
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

USER, REALM, PASSWORD = "bench", "bench.local", "bench-secret-1"
LOGIN = f"{USER}@{REALM}"
ASYNCIO_CLIENT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "asyncio_load.py")
CERTIFICATES = {
    "rsa2048": ["-newkey", "rsa:2048"],
    "p256": ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256"],
}

# (component, pattern on "function [object]"); the first match wins, so specific rules come first. Swift symbols are
# matched by their mangled module prefix ($s + length + module name).
COMPONENTS = [
    ("BoringSSL X25519", r"fe_|x25519|X25519|curve25519|fiat_25519|ge_|table_select|cmov"),
    ("SHA-2 (hashes, HMAC, HKDF)", r"sha256|sha512|SHA256|SHA384|SHA512|HMAC|HKDF|hkdf|sha1|SHA1"),
    ("P-256 / ECDSA", r"nistz256|p256|ecdsa|ECDSA|ec_GFp|ec_scalar|ec_felem|ec_point|ec_get_x|ec_random"
     r"|bn_|BN_|fiat_p256|ec_simple|ec_hash|EC_"),
    ("AES-GCM records", r"aes|gcm|GCM|AES|ghash|EVP_AEAD|aead"),
    ("RSA (system OpenSSL)", r"libcrypto\.so"),
    ("logging", r"\$s7Logging|logToken|LogHandler|SMTPLogEvent|KeyValueLog"),
    ("store lookup (sasldb, Berkeley DB)", r"\$s6SASLDB|libdb|__db|__bam|__ham|__memp|__os_"),
    ("swift-nio-ssl handler", r"\$s6NIOSSL"),
    ("NIO pipeline, channels, event loop", r"\$s(7NIOCore|8NIOPosix|6NIOTLS|14NIOConcurrencyHelpers"
     r"|16_NIODataStructures|7Atomics|11DequeModule|13_NIOBase64|12NIOEmbedded)"),
    ("session, SASL, server code", r"\$s(14SMTPSubmission|14SASLMechanisms|9ServerKit|10sasl_smtpd|13Synchronization)"),
    ("BoringSSL TLS state machine, other", r"CNIOBoringSSL|bssl|ssl_|SSL_|tls13_|tls_|CBB|CBS|cbb_|cbs_|ERR_"
     r"|OPENSSL_|CRYPTO_|EVP_|X509|x509|ASN1|asn1|d2i_|i2d_|RAND|ctr_drbg|BIO_"),
    ("malloc / free", r"malloc|free|_int_|realloc|calloc|tcache|arena|sysmalloc|unlink_chunk|posix_memalign"
     r"|aligned_alloc|memalign"),
    ("Swift runtime and stdlib", r"libswift|\$ss|swift_|\$sS|_swift|swift::"),
    ("libc, other", r"libc\.so|ld-linux|memcpy|memmove|memset|memcmp|strlen|pthread_"),
]

# Inclusive costs of a few entry points (callees included), to say what the self costs above are spent on. The largest
# matching function counts (thunks and wrappers share their callee's cost).
INCLUSIVE = [
    ("TLS handshake (SSL_do_handshake)", r"CNIOBoringSSL_SSL_do_handshake$"),
    ("  key exchange (X25519 key pair + shared secret)", r"resolve_ecdhe_secret"),
    ("  certificate signature", r"ssl_private_key_sign"),
    ("  session tickets", r"add_new_session_tickets"),
    ("  key schedule (HKDF expand)", r"CRYPTO_tls13_hkdf_expand_label"),
    ("accept and connection set-up", r"AcceptHandlerC11channelRead7context4data.*NIOAnyVtF$"),
    ("SMTP session handler reads (commands, replies, STARTTLS)", r"SMTPSessionHandlerC11channelRead7context4data"),
    ("  command parsing", r"SMTPCommandParserO5parseyAA0B0OSays5UInt8VG"),
    ("  reply encoding", r"SMTPReplyV7encodedSays5UInt8VGvg"),
    ("log lines (formatting and writing)", r"KeyValueLogHandlerV3log5event"),
    ("SASL PLAIN step on the thread pool", r"PlainMechanismV4stepyAA8SASLStepOSays5UInt8VGSgF$"),
    ("  store lookup (CredentialStore.secrets)", r"CredentialStoreV7secrets2of"),
    ("thread pool hand-off and wake-up", r"NIOThreadPoolC6_start16threadNamePrefix"),
]


def say(text=""):
    print(text, flush=True)


def die(text):
    print(f"error: {text}", file=sys.stderr, flush=True)
    sys.exit(1)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_port(port, seconds):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1) as s:
                s.recv(64)
                return
        except OSError:
            time.sleep(0.5)
    die(f"the daemon did not listen on {port} within {seconds} s")


def stop_daemon(process, seconds=30):
    """Stops a daemon this script started: SIGTERM, then SIGKILL after `seconds`; nothing if it already ended."""
    if process is None or process.poll() is not None:
        return
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(seconds)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def clean_up(args, workdir, process=None):
    """The end of a profile, whatever happened: the daemon stopped, the directory removed (named instead with --keep)."""
    stop_daemon(process)
    if args.keep:
        say(f"kept {workdir}")
    else:
        shutil.rmtree(workdir, ignore_errors=True)


def make_store(workdir):
    """A sasldb2 with the benchmark user written by saslpasswd2 (as Cyrus's defaults: plaintext), and a Maildir;
    returns their paths."""
    sasldb = os.path.join(workdir, "sasldb2")
    empty = os.path.join(workdir, "empty-sasl-conf")
    os.mkdir(empty)
    subprocess.run(["saslpasswd2", "-f", sasldb, "-c", "-p", "-u", REALM, USER], input=PASSWORD.encode(),
                   check=True, env=dict(os.environ, SASL_CONF_PATH=empty))
    maildir = os.path.join(workdir, "Maildir")
    os.mkdir(maildir, 0o700)
    return sasldb, maildir


def prepare(workdir, smtpd, cert_name, port, extra):
    """Writes the certificate, sasldb2, Maildir, configuration and stripped binary; returns (binary, config)."""
    nobody = pwd.getpwnam("nobody")
    cert, key = os.path.join(workdir, "cert.pem"), os.path.join(workdir, "key.pem")
    subprocess.run(
        ["openssl", "req", "-x509", *CERTIFICATES[cert_name], "-nodes", "-sha256", "-days", "2", "-subj",
         "/CN=localhost", "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1", "-keyout", key, "-out", cert],
        check=True, capture_output=True)
    sasldb, maildir = make_store(workdir)
    for path in (workdir, cert, key, sasldb, maildir):
        os.chown(path, nobody.pw_uid, nobody.pw_gid)
    os.chmod(key, 0o600)
    os.chmod(sasldb, 0o600)
    binary = os.path.join(workdir, "sasl-smtpd")
    subprocess.run(["objcopy", "--strip-debug", smtpd, binary], check=True)
    config = os.path.join(workdir, "sasl-smtpd.conf")
    settings = [
        ("hostname", "localhost"), ("submission_listen", f"127.0.0.1:{port}"), ("tls_certificate", cert),
        ("tls_key", key), ("tls_minimum_version", "1.3"), ("sasldb_path", sasldb), ("default_realm", REALM),
        ("sink", "maildir:" + maildir), ("user", ""), ("log_level", "info"), ("poppassd_listen", ""),
        ("passwd_socket", ""),
    ] + extra
    with open(config, "w") as f:
        for k, v in settings:
            f.write(f"{k} = {v}\n")
    os.chown(config, nobody.pw_uid, nobody.pw_gid)
    return binary, config


def run_client(args, port, sessions):
    program = [args.load] if args.client == "nio" else [sys.executable, ASYNCIO_CLIENT]
    argv = program + ["--port", str(port), "--workload", "tls-auth", "--sessions", str(sessions), "--concurrency",
                      str(args.concurrency), "--deadline", "900", "--user", LOGIN, "--password", PASSWORD]
    out = subprocess.run(argv, capture_output=True, text=True)
    try:
        data = json.loads(out.stdout.strip().splitlines()[-1])
    except (ValueError, IndexError):
        die(f"client printed no result (exit {out.returncode}):\n{out.stdout}{out.stderr}")
    if out.returncode != 0 or data["errors"] or data["ok"] != sessions:
        die(f"{data['errors']} of {sessions} sessions failed: {data['error_reasons']}")


def classify(name):
    for component, pattern in COMPONENTS:
        if re.search(pattern, name):
            return component
    return "other"


def functions(out_file):
    """Self instruction counts per "function [object]", read from callgrind's output format directly.

    callgrind_annotate's self costs are wrong for the functions that were on a stack when the counts were zeroed
    (thread entry points show the whole total), so the cost lines are summed here: a cost line after `calls=` is
    the inclusive cost of that call and is skipped; every other cost line is the current function's own.
    """
    names = {"ob": {}, "fn": {}}
    current = {"ob": "", "fn": ""}
    totals = {}
    skip_next = False

    def resolve(kind, text):
        m = re.match(r"\((\d+)\)(?:\s+(.*))?$", text)
        if not m:
            return text
        if m.group(2) is not None:
            names[kind][m.group(1)] = m.group(2)
        return names[kind].get(m.group(1), text)

    with open(out_file, errors="replace") as f:
        for line in f:
            line = line.rstrip("\n")
            if not line:
                continue
            head = line[0]
            if head.isdigit() or head in "+-*":
                if skip_next:
                    skip_next = False
                    continue
                parts = line.split()
                if len(parts) >= 2:
                    key = f"{current['fn']} [{current['ob']}]"
                    totals[key] = totals.get(key, 0) + int(parts[1])
                continue
            key, _, value = line.partition("=")
            if key == "ob":
                current["ob"] = resolve("ob", value)
            elif key == "fn":
                current["fn"] = resolve("fn", value)
            elif key in ("cob", "cfn"):
                resolve(key[1:], value)
            elif key == "calls":
                skip_next = True
    return [(count, name) for name, count in totals.items()]


def inclusive(out_file):
    """The inclusive cost of each INCLUSIVE entry, from callgrind_annotate (right for functions entered after the
    counts were zeroed, which these are)."""
    text = subprocess.run(["callgrind_annotate", "--inclusive=yes", "--threshold=100", out_file],
                          capture_output=True, text=True, check=True).stdout
    found = {label: 0 for label, _ in INCLUSIVE}
    for line in text.splitlines():
        m = re.match(r"^\s*([\d,]+)\s+(?:\([\s\d.]+%\)\s+)?\S*?:(\S+)", line)
        if not m:
            continue
        count = int(m.group(1).replace(",", ""))
        for label, pattern in INCLUSIVE:
            if re.search(pattern, m.group(2)):
                found[label] = max(found[label], count)
    return found


def session_arguments(description, kept):
    """The options of a profile of the daemon: binaries, client, certificate, sessions, settings, output."""
    ap = argparse.ArgumentParser(description=description, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--smtpd", required=True, help="release sasl-smtpd binary")
    ap.add_argument("--load", required=True, help="smtp-load binary (client nio)")
    ap.add_argument("--client", default="nio", choices=["nio", "python"])
    ap.add_argument("--cert", default="p256", choices=sorted(CERTIFICATES))
    ap.add_argument("--sessions", type=int, default=300, help="measured sessions (default 300)")
    ap.add_argument("--warmup", type=int, default=30, help="sessions before measuring (default 30)")
    ap.add_argument("--concurrency", type=int, default=1)
    ap.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="extra configuration setting")
    ap.add_argument("--json", help="write the figures to this file")
    ap.add_argument("--keep", action="store_true", help=f"keep the temporary directory ({kept}, log)")
    return ap


def workspace(args, prefix):
    """As root: a temporary directory under /var/tmp prepared for the daemon; returns (workdir, port, binary, config)."""
    if os.geteuid() != 0:
        die("run as root (the daemon is started as nobody)")
    workdir = tempfile.mkdtemp(prefix=prefix, dir="/var/tmp")
    os.chmod(workdir, 0o755)
    port = free_port()
    binary, config = prepare(workdir, args.smtpd, args.cert, port, [tuple(s.split("=", 1)) for s in args.set])
    return workdir, port, binary, config


def main():
    ap = session_arguments(__doc__, "callgrind.out")
    ap.add_argument("--top", type=int, default=25, help="functions listed (default 25)")
    args = ap.parse_args()
    workdir, port, binary, config = workspace(args, "smtp-callgrind.")
    process = None
    try:
        out_file = os.path.join(workdir, "callgrind.out")
        log = open(os.path.join(workdir, "sasl-smtpd.log"), "wb")
        # vgdb finds the process by names made of the prefix, its pid and the user: both sides run as nobody with
        # USER set (root's vgdb waits forever for an answer from a process of another user).
        as_nobody = ["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups", "env", "USER=nobody"]
        prefix = os.path.join(workdir, "vgdb")
        process = subprocess.Popen(
            as_nobody + ["valgrind", "--tool=callgrind", f"--vgdb-prefix={prefix}",
                         f"--callgrind-out-file={out_file}", binary, "--config", config],
            stdout=log, stderr=log, stdin=subprocess.DEVNULL, cwd=workdir, start_new_session=True)
        wait_for_port(port, 300)
        run_client(args, port, args.warmup)
        pid = process.pid  # setpriv, env and valgrind each exec the next
        subprocess.run(as_nobody + ["vgdb", f"--vgdb-prefix={prefix}", f"--pid={pid}", "zero"], check=True,
                       capture_output=True, timeout=120)
        run_client(args, port, args.sessions)
        subprocess.run(as_nobody + ["vgdb", f"--vgdb-prefix={prefix}", f"--pid={pid}", "dump"], check=True,
                       capture_output=True, timeout=300)
        process.send_signal(signal.SIGTERM)
        process.wait(120)
        dumps = sorted(f for f in os.listdir(workdir) if f.startswith("callgrind.out.") or f == "callgrind.out.1")
        if not dumps:
            die(f"no callgrind dump in {workdir}")
        rows = functions(os.path.join(workdir, dumps[0]))
        total = sum(c for c, _ in rows)
        by_component = {}
        for count, name in rows:
            component = classify(name)
            by_component[component] = by_component.get(component, 0) + count
        say(f"callgrind: {args.sessions} sessions STARTTLS + AUTH PLAIN + QUIT, client {args.client}, "
            f"certificate {args.cert}, concurrency {args.concurrency}")
        say(f"{'component':42} {'instr/session':>14} {'share':>7}")
        for component, count in sorted(by_component.items(), key=lambda kv: -kv[1]):
            say(f"{component:42} {count / args.sessions:14,.0f} {count / total:7.1%}")
        say(f"{'total':42} {total / args.sessions:14,.0f}")
        say()
        say("inclusive (callees included), per session:")
        for label, count in inclusive(os.path.join(workdir, dumps[0])).items():
            say(f"{label:60} {count / args.sessions:14,.0f}")
        say()
        say(f"top {args.top} functions (self):")
        for count, name in sorted(rows, reverse=True)[: args.top]:
            say(f"{count / args.sessions:12,.0f}  {classify(name)[:20]:20}  {name[:150]}")
        if args.json:
            with open(args.json, "w") as f:
                json.dump({"sessions": args.sessions, "client": args.client, "cert": args.cert,
                           "per_session": {k: v / args.sessions for k, v in by_component.items()},
                           "total_per_session": total / args.sessions}, f, indent=1)
    finally:
        clean_up(args, workdir, process)


if __name__ == "__main__":
    main()
