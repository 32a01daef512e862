#!/usr/bin/env python3
"""A second, independent SMTP submission load client: Python asyncio + ssl (OpenSSL), nothing of ours.

It behaves like an ordinary mail client, not like a tuned load generator: one write per command and a wait for its
reply (no pipelining), a new TCP connection and a full TLS handshake for every session (no session resumption:
no session is ever handed back to the context), TLS 1.3 with the X25519 group. Sessions run on one event loop,
`--concurrency` of them in flight at once.

Workload `tls-auth`: connect, read 220, EHLO, STARTTLS, TLS handshake, EHLO, AUTH PLAIN with its initial response,
QUIT; every reply code is checked. The result is one JSON line with the fields smtp-load prints (ok, errors,
error_reasons, sessions_per_s, p50_ms, p90_ms, p99_ms, client_cpu_per_session_ms, ...), so that
Benchmarks/smtp/smtp_bench.py reads both clients alike.
"""

import argparse
import asyncio
import base64
import json
import math
import ssl
import sys
import time

# The reply codes a session expects, in order, from the greeting to the answer to QUIT.
GREETING, EHLO_OK, STARTTLS_OK, AUTH_OK, QUIT_OK = 220, 250, 220, 235, 221


class SessionFailure(Exception):
    """A session that got something other than the expected reply; the text is the failure's reason."""


async def read_reply(reader):
    """Reads one (possibly multi-line) SMTP reply and returns its code."""
    while True:
        line = await reader.readline()
        if not line:
            raise SessionFailure("connection closed")
        if len(line) < 4 or not line[:3].isdigit():
            raise SessionFailure("garbled reply")
        if line[3:4] != b"-":
            return int(line[:3])


async def command(reader, writer, text, expected):
    writer.write(text)
    await writer.drain()
    code = await read_reply(reader)
    if code != expected:
        raise SessionFailure(f"{text.split()[0].decode()} answered {code}")


async def tls_auth_session(host, port, context, auth_line):
    reader, writer = await asyncio.open_connection(host, port)
    try:
        if (code := await read_reply(reader)) != GREETING:
            raise SessionFailure(f"greeting {code}")
        await command(reader, writer, b"EHLO asyncio.bench.local\r\n", EHLO_OK)
        await command(reader, writer, b"STARTTLS\r\n", STARTTLS_OK)
        await writer.start_tls(context, server_hostname=None)
        await command(reader, writer, b"EHLO asyncio.bench.local\r\n", EHLO_OK)
        await command(reader, writer, auth_line, AUTH_OK)
        await command(reader, writer, b"QUIT\r\n", QUIT_OK)
    finally:
        writer.close()
        try:
            await writer.wait_closed()
        except (ConnectionError, ssl.SSLError):
            pass  # the server closing first after 221 is normal


def client_context():
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE  # a self-signed benchmark certificate; both servers get the same treatment
    context.minimum_version = ssl.TLSVersion.TLSv1_3
    context.set_ecdh_curve("X25519")
    return context


def percentile(sorted_values, p):
    if not sorted_values:
        return 0.0
    rank = max(1, math.ceil(p / 100 * len(sorted_values)))
    return sorted_values[min(rank, len(sorted_values)) - 1]


async def run(args):
    context = client_context()
    auth = base64.b64encode(b"\0" + args.user.encode() + b"\0" + args.password.encode())
    auth_line = b"AUTH PLAIN " + auth + b"\r\n"
    latencies, reasons = [], {}
    next_session = 0

    async def worker():
        nonlocal next_session
        while next_session < args.sessions:
            next_session += 1
            started = time.perf_counter()
            try:
                await asyncio.wait_for(tls_auth_session(args.host, args.port, context, auth_line), args.timeout)
                latencies.append((time.perf_counter() - started) * 1000)
            except (SessionFailure, OSError, ssl.SSLError, asyncio.TimeoutError) as error:
                reason = str(error) if isinstance(error, SessionFailure) else type(error).__name__
                reasons[reason] = reasons.get(reason, 0) + 1

    cpu0, wall0 = time.process_time(), time.perf_counter()
    workers = [asyncio.create_task(worker()) for _ in range(min(args.concurrency, args.sessions))]
    expired = False
    try:
        await asyncio.wait_for(asyncio.gather(*workers), args.deadline)
    except asyncio.TimeoutError:
        expired = True
    wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0
    ok = len(latencies)
    failed = args.sessions - ok
    if expired:
        reasons["deadline"] = reasons.get("deadline", 0) + failed - sum(reasons.values())
    latencies.sort()
    return {
        "phase": "done", "workload": "tls-auth", "client": "python-asyncio", "port": args.port,
        "groups": "x25519", "sessions": args.sessions, "concurrency": args.concurrency, "launched": next_session,
        "ok": ok, "held": 0, "errors": failed, "error_reasons": reasons, "expired": expired, "wall_s": wall,
        "sessions_per_s": ok / wall if wall > 0 else 0.0,
        "p50_ms": percentile(latencies, 50), "p90_ms": percentile(latencies, 90),
        "p99_ms": percentile(latencies, 99), "max_ms": latencies[-1] if latencies else 0.0,
        "client_cpu_s": cpu, "client_cpu_per_session_ms": cpu * 1000 / ok if ok else 0.0,
    }


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--workload", default="tls-auth", choices=["tls-auth"])
    ap.add_argument("--sessions", type=int, default=1000)
    ap.add_argument("--concurrency", type=int, default=1)
    ap.add_argument("--deadline", type=float, default=900, help="seconds for the whole run")
    ap.add_argument("--timeout", type=float, default=30, help="seconds for one session")
    ap.add_argument("--user", default="bench@bench.local")
    ap.add_argument("--password", default="bench-secret-1")
    args = ap.parse_args()
    if args.sessions < 1 or args.concurrency < 1:
        ap.error("--sessions and --concurrency must be positive")
    result = asyncio.run(run(args))
    print(json.dumps(result), flush=True)
    return 0 if result["errors"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
