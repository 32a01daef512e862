#!/usr/bin/env python3
"""Many SMTP clients at once, each authenticating (AUTH PLAIN, plain listener) and sending one large message slowly.

Used by the daemon's memory test: prints one JSON object with the count of each final reply code.
usage: slow-submissions.py PORT CONNECTIONS MESSAGE_BYTES USER PASSWORD
Every connection and the whole run are bounded in time.
"""
import asyncio
import base64
import json
import sys

PORT, CONNECTIONS, SIZE = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
USER, PASSWORD = sys.argv[4], sys.argv[5]
LINE = b"x" * 998 + b"\r\n"
PIECE_LINES = 16  # about 16 KB per write


async def reply(reader):
    """The code of the next reply, reading every line of a multi-line one."""
    while True:
        line = await reader.readline()
        if not line:
            return "closed"
        if line[3:4] != b"-":
            return line[:3].decode()


async def one(index, results):
    try:
        reader, writer = await asyncio.wait_for(asyncio.open_connection("127.0.0.1", PORT), 30)
    except Exception:
        results["connect-failed"] = results.get("connect-failed", 0) + 1
        return
    try:
        token = base64.b64encode(b"\0" + USER.encode() + b"\0" + PASSWORD.encode()).decode()
        steps = [None, b"EHLO client.example\r\n", f"AUTH PLAIN {token}\r\n".encode(),
                 b"MAIL FROM:<" + USER.encode() + b">\r\n", b"RCPT TO:<bob@example.net>\r\n", b"DATA\r\n"]
        for step in steps:
            if step:
                writer.write(step)
            code = await asyncio.wait_for(reply(reader), 60)
            if code not in ("220", "250", "235", "354"):
                results[code] = results.get(code, 0) + 1
                return
        sent = 0
        while sent < SIZE:
            writer.write(LINE * PIECE_LINES)
            sent += len(LINE) * PIECE_LINES
            await writer.drain()
            await asyncio.sleep(0.02)
        writer.write(b".\r\n")
        code = await asyncio.wait_for(reply(reader), 120)
        results[code] = results.get(code, 0) + 1
        writer.write(b"QUIT\r\n")
    except Exception as error:  # a closed or stuck connection counts by its kind
        results[type(error).__name__] = results.get(type(error).__name__, 0) + 1
    finally:
        writer.close()


async def main():
    results = {}
    await asyncio.wait_for(asyncio.gather(*(one(i, results) for i in range(CONNECTIONS))), 240)
    print(json.dumps(results, sort_keys=True))


asyncio.run(main())
