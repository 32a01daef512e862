#!/usr/bin/env python3
"""Logs in to a running sasl-smtpd with passwords right and wrong, changes nothing through poppassd, then counts how
often each password is still in the daemon's writable memory (read as root from /proc/PID/mem).

usage: secret-residue.py PID SMTP_PORT POPPASSD_PORT USER PASSWORD WRONG NEW
Prints one JSON object: {"PASSWORD": n, "WRONG": n, "NEW": n}. Loopback only; every step bounded in time.
"""
import json
import re
import smtplib
import socket
import sys
import time

pid, smtp_port, poppassd_port = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
user, password, wrong, new = sys.argv[4:8]

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

# The daemon answers a refused change before it has closed the connection: let it finish with it.
time.sleep(1)
counts = {text: 0 for text in (password, wrong, new)}
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
