#!/usr/bin/env python3
"""Writes the seed corpora (fuzz/corpus/<target>/seed-*) and the dictionary
(fuzz/commands.dict) from docs/protocol.md: every packet a client sends there (the lines
that start with `→ {`), every command name the document lists, and a few HTTP heads,
WebSocket frames and upload bodies built around them. Run from anywhere; it replaces the
old seeds and leaves the grown corpus alone."""

import json
import os
import re
import struct

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FUZZ = os.path.join(ROOT, "fuzz")
DOC = os.path.join(ROOT, "docs", "protocol.md")


def sections(text):
    """The client packets of the document, grouped by section (## or ###)."""
    groups, current = [], []
    for line in text.splitlines():
        if line.startswith("#"):
            if current:
                groups.append(current)
            current = []
        match = re.match(r"^→ (\{.*\})\s*$", line)
        if match:
            current.append(match.group(1))
    if current:
        groups.append(current)
    return groups


def masked_frame(payload, opcode=1, fin=True, key=b"\x11\x22\x33\x44"):
    """A client's WebSocket frame (RFC 6455 §5.2), masked as a client must."""
    first = (0x80 if fin else 0) | opcode
    n = len(payload)
    if n < 126:
        head = bytes([first, 0x80 | n])
    elif n < 65536:
        head = bytes([first, 0x80 | 126]) + struct.pack(">H", n)
    else:
        head = bytes([first, 0x80 | 127]) + struct.pack(">Q", n)
    body = bytes(b ^ key[i % 4] for i, b in enumerate(payload))
    return head + key + body


def write(target, seeds):
    folder = os.path.join(FUZZ, "corpus", target)
    os.makedirs(folder, exist_ok=True)
    for name in os.listdir(folder):
        if name.startswith("seed-"):
            os.remove(os.path.join(folder, name))
    for i, seed in enumerate(seeds):
        with open(os.path.join(folder, "seed-%03d" % i), "wb") as f:
            f.write(seed)


def main():
    with open(DOC, encoding="utf-8") as f:
        doc = f.read()
    groups = sections(doc)
    packets = [p for g in groups for p in g]
    raw = [p.encode() for p in packets]

    write("packet", raw)

    # Session: each packet alone as the owner and as a plain user, then each section's
    # packets in order, starting unauthenticated when the section logs in first.
    session = []
    for p in raw:
        session.append(b"\x02" + p)
        session.append(b"\x01" + p)
    for g in groups:
        who = b"\x00" if any('"cmd":"' + c + '"' in g[0] for c in
                             ("login", "register", "auth", "token_login")) else b"\x02"
        session.append(who + "\n".join(g).encode())
    login = '{"cmd":"login","username":"fuzzowner","password":"fuzzpass"}'
    session.append(b"\x00" + "\n".join([login] + packets[:20]).encode())
    write("session", session)

    # Front door: selector byte = (piece - 1) << 2 | part.
    heads = [
        b"GET / HTTP/1.1\r\nHost: 192.168.1.20:5613\r\nUpgrade: websocket\r\n"
        b"Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
        b"Sec-WebSocket-Version: 13\r\n\r\n",
        b"GET /attachments/abc?token=x%20y HTTP/1.1\r\nHost: h\r\n\r\n",
        b"POST /attachments/upload HTTP/1.1\r\nHost: h\r\nContent-Length: 10\r\n"
        b"Content-Type: application/json\r\n\r\n{\"a\":1}",
        b"GET /tls HTTP/1.1\r\nHost: [::1]:5613\r\n\r\n",
    ]
    front = []
    for piece in (1, 7, 64):
        for h in heads:
            front.append(bytes([(piece - 1) << 2 | 0]) + h)
    for flags in (0x00, 0x01, 0xFF):
        for p in raw[:40]:
            front.append(bytes([1 << 2 | 1, flags]) + masked_frame(p))
        long = raw[0] * 8
        front.append(bytes([3 << 2 | 1, flags]) + masked_frame(long[:40], fin=False)
                     + masked_frame(b"", opcode=9) + masked_frame(long[40:], opcode=0))
    bodies = [
        b'{"validator_key":"k","validator":"v","name":"a.png","mime_type":"image/png",'
        b'"channel":"general","expires_in_days":7,"file":"data:image/png;base64,iVBORw0KGgo="}',
        b'{"file":"aGVsbG8=","name":"hi.txt"}',
        b'{"file":null,"expires_in_days":null}',
    ]
    for piece in (1, 5, 64):
        for b in bodies:
            front.append(bytes([(piece - 1) << 2 | 2]) + b)
    write("front_door", front)

    commands = sorted(set(re.findall(r'"cmd":"([a-z_]+)"', doc)))
    keys = sorted(set(k for p in packets for k in json.loads(p)))
    with open(os.path.join(FUZZ, "commands.dict"), "w") as f:
        f.write("# Command names and field names of docs/protocol.md (fuzz/make_seeds.py).\n")
        for word in commands + keys:
            f.write('"\\"%s\\""\n' % word)
    print("%d packets, %d commands, %d field names" % (len(packets), len(commands), len(keys)))


if __name__ == "__main__":
    main()
