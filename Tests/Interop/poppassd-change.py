#!/usr/bin/env python3
"""One poppassd password change, as Roundcube's poppassd driver makes it.

Usage: poppassd-change.py ADDRESS LOGIN OLD NEW
ADDRESS is a Unix socket path (starting with /) or host:port. Exit 0 when every reply was 2xx, else a message
naming the reply that was not.
"""
import socket
import sys

address, login, old, new = sys.argv[1:]
if address.startswith("/"):
    connection = socket.socket(socket.AF_UNIX)
    connection.connect(address)
else:
    host, port = address.rsplit(":", 1)
    connection = socket.create_connection((host, int(port)), timeout=30)
stream = connection.makefile("rwb")


def expect_success(after):
    line = stream.readline().decode()
    if not line.startswith("2"):
        sys.exit(f"after {after}: {line!r}")


expect_success("connecting")
for command, value in (("user", login), ("pass", old), ("newpass", new)):
    stream.write(f"{command} {value}\r\n".encode())
    stream.flush()
    expect_success(command)
stream.write(b"quit\r\n")
stream.flush()
