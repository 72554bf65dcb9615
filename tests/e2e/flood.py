#!/usr/bin/env python3
"""flood.py: the attacks of issue 16 against a local clay-function, bounded in time.

  flood.py h1 PORT N [--sig]   N HTTP/1.1 connections, each declaring a 1 MiB body and
                                sending 512 KiB of it; without --sig no credentials (the
                                answer is awaited after the headers, before the body),
                                with --sig a well-formed X-Clay-Signature (the body is needed)
  flood.py h2 PORT CONNS       CONNS h2c connections, 100 streams each with a signature
                                header, 512 KiB per stream, obeying flow control

Prints one JSON line of counts, then keeps the connections open for --hold seconds
(so the server's memory is measured while they hang), then closes them.
"""
import json
import select
import socket
import struct
import sys
import time

BODY = 512 * 1024
DECLARED = 1024 * 1024
SIG = "sha256=" + "ab" * 32
CHUNK = b"x" * 65536


def arg(name, default):
    return float(sys.argv[sys.argv.index(name) + 1]) if name in sys.argv else default


def h1(port, n, sig, deadline_s, hold_s):
    head = ("POST /api/clay/enriched HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            "Content-Length: %d\r\n%s\r\n" % (DECLARED, "X-Clay-Signature: %s\r\n" % SIG if sig else "")).encode()
    socks, sent = [], {}
    for _ in range(n):
        s = socket.create_connection(("127.0.0.1", port))
        s.sendall(head)
        s.setblocking(False)
        socks.append(s)
        sent[s] = 0
    early_401 = 0
    answered = {}
    if not sig:
        # The answer must come from the headers alone: wait for it before sending any body byte.
        end = time.time() + 2
        pending = set(socks)
        while pending and time.time() < end:
            r, _, _ = select.select(list(pending), [], [], 0.1)
            for s in r:
                try:
                    data = s.recv(4096)
                except OSError:
                    data = b""
                answered[s] = data
                if data.startswith(b"HTTP/1.1 401"):
                    early_401 += 1
                pending.discard(s)
    end = time.time() + deadline_s
    active = [s for s in socks if s not in answered]
    if not sig:
        active = socks  # still try to push the body: a refused one must not be read
    while active and time.time() < end:
        _, w, _ = select.select([], active, [], 0.2)
        for s in w:
            try:
                k = s.send(CHUNK[: min(len(CHUNK), BODY - sent[s])])
            except OSError:
                k = -1
            if k < 0:
                active.remove(s)
                continue
            sent[s] += k
            if sent[s] >= BODY:
                active.remove(s)
    total = sum(sent.values())
    print(json.dumps({"connections": n, "early_401": early_401, "body_bytes_sent": total,
                      "complete_bodies": sum(1 for v in sent.values() if v >= BODY)}), flush=True)
    time.sleep(hold_s)
    for s in socks:
        s.close()


def frame(ftype, flags, stream, payload=b""):
    return struct.pack(">I", len(payload))[1:] + bytes([ftype, flags]) + struct.pack(">I", stream) + payload


def hpack_literal(name, value):
    name, value = name.encode(), value.encode()
    return b"\x00" + bytes([len(name)]) + name + bytes([len(value)]) + value


class H2Conn:
    def __init__(self, port, num_streams):
        self.s = socket.create_connection(("127.0.0.1", port))
        self.s.setblocking(False)
        self.inbuf = b""
        self.out = bytearray(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" + frame(4, 0, 0))
        self.conn_window = 65535
        self.initial_window = 65535
        self.streams = {}
        block = b"".join(hpack_literal(k, v) for k, v in [
            (":method", "POST"), (":scheme", "http"), (":path", "/api/clay/enriched"), (":authority", "127.0.0.1"),
            ("content-type", "application/json"), ("x-clay-signature", SIG)])
        for i in range(num_streams):
            sid = 1 + 2 * i
            self.out += frame(1, 0x4, sid, block)  # HEADERS, END_HEADERS, body follows
            self.streams[sid] = {"window": 65535, "sent": 0, "reset": False}
        self.resets = 0

    def on_readable(self):
        try:
            data = self.s.recv(65536)
        except BlockingIOError:
            return True
        except OSError:
            return False
        if not data:
            return False
        self.inbuf += data
        while len(self.inbuf) >= 9:
            length = int.from_bytes(self.inbuf[:3], "big")
            if len(self.inbuf) < 9 + length:
                break
            ftype, flags = self.inbuf[3], self.inbuf[4]
            sid = int.from_bytes(self.inbuf[5:9], "big") & 0x7FFFFFFF
            payload = self.inbuf[9:9 + length]
            self.inbuf = self.inbuf[9 + length:]
            if ftype == 4 and not flags & 1:
                # Take the server's INITIAL_WINDOW_SIZE: an attacker uses every byte it is allowed.
                for i in range(0, len(payload) - 5, 6):
                    if int.from_bytes(payload[i:i + 2], "big") == 4:
                        size = int.from_bytes(payload[i + 2:i + 6], "big")
                        for st in self.streams.values():
                            st["window"] += size - self.initial_window
                        self.initial_window = size
                self.out += frame(4, 1, 0)  # SETTINGS ACK
            elif ftype == 8:
                inc = int.from_bytes(payload[:4], "big") & 0x7FFFFFFF
                if sid == 0:
                    self.conn_window += inc
                elif sid in self.streams:
                    self.streams[sid]["window"] += inc
            elif ftype == 3 and sid in self.streams:
                self.streams[sid]["reset"] = True
                self.resets += 1
            elif ftype == 7:
                return False
        return True

    def fill(self):
        # Queue DATA within the windows, at most 256 KiB queued at a time.
        for sid, st in self.streams.items():
            if len(self.out) > 256 * 1024:
                break
            n = min(16384, BODY - st["sent"], st["window"], self.conn_window)
            if st["reset"] or n <= 0:
                continue
            self.out += frame(0, 0, sid, CHUNK[:n])
            st["sent"] += n
            st["window"] -= n
            self.conn_window -= n

    def flush(self):
        try:
            k = self.s.send(self.out)
        except BlockingIOError:
            return True
        except OSError:
            return False
        del self.out[:k]
        return True


def h2(port, conns, deadline_s, hold_s):
    cs = [H2Conn(port, 100) for _ in range(conns)]
    live = list(cs)
    end = time.time() + deadline_s
    while live and time.time() < end:
        for c in live:
            c.fill()
        r, w, _ = select.select(live, [c for c in live if c.out], [], 0.2)
        for c in set(r) | set(w):
            ok = (c.on_readable() if c in r else True) and (c.flush() if c in w else True)
            if not ok:
                live.remove(c)
        if all(st["sent"] >= BODY or st["reset"] for c in live for st in c.streams.values()):
            break
    total = sum(st["sent"] for c in cs for st in c.streams.values())
    print(json.dumps({"connections": conns, "streams": 100 * conns, "body_bytes_sent": total,
                      "resets": sum(c.resets for c in cs)}), flush=True)
    time.sleep(hold_s)
    for c in cs:
        c.s.close()


H2Conn.fileno = lambda self: self.s.fileno()

if __name__ == "__main__":
    mode, port, n = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    deadline, hold = arg("--deadline", 6.0), arg("--hold", 3.0)
    if mode == "h1":
        h1(port, n, "--sig" in sys.argv, deadline, hold)
    else:
        h2(port, n, deadline, hold)
