#!/usr/bin/env python3
"""A stand-in for sasl-smtpd's password service: poppassd on a Unix socket.

Usage:
    fake-poppassd.py --socket PATH --record FILE [--newpass-reply LINE]
                     [--silent] [--lf] [--timeout SECONDS]

Listens on PATH (mode 0666, so a test's unprivileged user can connect),
serves ONE connection and exits. It greets "200 fake poppassd ready", answers
user with 300, pass with 200, newpass with --newpass-reply (default "200
Password changed"), quit with "200 Bye" (replies end in CRLF, or LF with
--lf). With --silent it accepts and never says anything. It then writes FILE:
a JSON object {"lines": every line received, without its line end, decoded
as UTF-8, "crlf": whether every line ended in CRLF, "peer_uid": the client's
uid from SO_PEERCRED}. Exit 0 after a connection, 1 when none came within
--timeout (default 20 s). The socket file is removed at exit.

Used by InteropTests/PasswdCommandTests.swift to check the exact dialogue
`sasldb passwd` sends; the lead's end-to-end test uses the real daemon.
"""

import argparse
import json
import os
import socket
import struct
import sys

REPLIES = {"user": "300 Your password please", "pass": "200 Your new password please", "quit": "200 Bye"}


def main(argv):
    p = argparse.ArgumentParser(description="Serve one poppassd dialogue on a Unix socket and record it.")
    p.add_argument("--socket", required=True)
    p.add_argument("--record", required=True)
    p.add_argument("--newpass-reply", default="200 Password changed")
    p.add_argument("--silent", action="store_true")
    p.add_argument("--lf", action="store_true")
    p.add_argument("--timeout", type=float, default=20.0)
    args = p.parse_args(argv)
    end = b"\n" if args.lf else b"\r\n"
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(args.socket)
    os.chmod(args.socket, 0o666)
    server.listen(1)
    server.settimeout(args.timeout)
    lines, crlf, uid = [], True, None
    try:
        try:
            conn, _ = server.accept()
        except socket.timeout:
            return 1
        conn.settimeout(args.timeout)
        creds = conn.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i"))
        uid = struct.unpack("3i", creds)[1]
        if args.silent:
            try:
                conn.recv(1)  # until the client gives up
            except socket.timeout:
                pass
            return 0
        conn.sendall(b"200 fake poppassd ready" + end)
        buffer = b""
        while True:
            try:
                data = conn.recv(4096)
            except socket.timeout:
                break
            if not data:
                break
            buffer += data
            while b"\n" in buffer:
                raw, buffer = buffer.split(b"\n", 1)
                crlf = crlf and raw.endswith(b"\r")
                line = raw.rstrip(b"\r").decode("utf-8", "replace")
                lines.append(line)
                verb = line.split(" ", 1)[0].lower()
                reply = args.newpass_reply if verb == "newpass" else REPLIES.get(verb, "500 unknown command")
                conn.sendall(reply.encode() + end)
                if verb == "quit":
                    conn.close()
                    return 0
        return 0
    finally:
        with open(args.record, "w") as f:
            json.dump({"lines": lines, "crlf": crlf, "peer_uid": uid}, f)
        server.close()
        try:
            os.unlink(args.socket)
        except OSError:
            pass


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
