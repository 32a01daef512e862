#!/usr/bin/env python3
"""Logs in to a running sasl-smtpd with passwords right and wrong, changes nothing through poppassd, asks its
saslauthd socket about another wrong password, then counts how often each password is still in the daemon's writable
memory (read as root from /proc/PID/mem).

usage: secret-residue.py PID SMTP_PORT POPPASSD_PORT SASLAUTHD_SOCKET USER PASSWORD WRONG NEW SOCKET_WRONG
Prints one JSON object: {"PASSWORD": n, "WRONG": n, "NEW": n, "SOCKET_WRONG": n}. Loopback only; every step bounded
in time.
"""
import json
import re
import smtplib
import socket
import struct
import sys
import time

pid, smtp_port, poppassd_port, saslauthd_socket = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
user, password, wrong, new, socket_wrong = sys.argv[5:10]

for _ in range(2):
    with smtplib.SMTP("127.0.0.1", smtp_port, timeout=30) as client:
        client.ehlo()
        client.login(user, password)
for method in ("PLAIN", "LOGIN"):
    with smtplib.SMTP("127.0.0.1", smtp_port, timeout=30) as client:
        client.ehlo()
        client.user, client.password = user, wrong
        try:
            client.auth(method, getattr(client, "auth_" + method.lower()), initial_response_ok=True)
        except smtplib.SMTPAuthenticationError:
            pass

# A poppassd change refused for its wrong current password: the session held both passwords.
with socket.create_connection(("127.0.0.1", poppassd_port), timeout=30) as connection:
    lines = connection.makefile("rwb")
    lines.readline()
    for command in (f"user {user}", f"pass {wrong}", f"newpass {new}"):
        lines.write(command.encode() + b"\r\n")
        lines.flush()
        lines.readline()

# saslauthd's protocol carries the password as it is: four fields, each a 16-bit big-endian length and its bytes.
with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as connection:
    connection.settimeout(30)
    connection.connect(saslauthd_socket)
    fields = (user.split("@")[0], socket_wrong, "smtp", user.split("@")[1])
    connection.sendall(b"".join(struct.pack(">H", len(field)) + field.encode() for field in fields))
    reply = connection.recv(1024)
    if b"NO" not in reply:
        sys.exit(f"saslauthd answered {reply!r} to a wrong password")

# The daemon answers a refused change before it has closed the connection: let it finish with it.
time.sleep(1)
counts = {text: 0 for text in (password, wrong, new, socket_wrong)}
with open(f"/proc/{pid}/maps") as maps, open(f"/proc/{pid}/mem", "rb", 0) as memory:
    for line in maps:
        match = re.match(r"([0-9a-f]+)-([0-9a-f]+) (\S+)", line)
        if not match or "rw" not in match.group(3):
            continue
        start, end = int(match.group(1), 16), int(match.group(2), 16)
        try:
            memory.seek(start)
            data = memory.read(end - start)
        except (OSError, ValueError, OverflowError):
            continue
        for text in counts:
            counts[text] += data.count(text.encode())
print(json.dumps(counts))
