#!/usr/bin/env python3
"""bounds.py: the bounds of issue 12 point 2 probed with raw HTTP/1.1 and h2c frames (flood.py's helpers).

  bounds.py conns PORT N               N idle TCP connections; how many the server closed at once
  bounds.py streams PORT N             one h2c connection, N streams waiting for their bodies: the
                                       advertised SETTINGS_MAX_CONCURRENT_STREAMS and the streams refused
  bounds.py headers PORT h1|h2 N       GET /healthz with N header fields in all (h1: Host included;
                                       h2: regular fields, pseudo-headers aside): the status
  bounds.py reset PORT N               h2c: N times open a stream (POST, body to follow) and cancel it
                                       (RST_STREAM CANCEL): whether and when GOAWAY came, and its code
  bounds.py polite PORT N              h2c: N requests answered in turn, every third one cancelled
                                       before its body: a client completing its streams keeps its connection
  bounds.py trickle PORT h1|h2|h2-headers SECONDS
                                       one request trickled a byte every 0.2 s for at most SECONDS
                                       (h1: its body; h2: its DATA; h2-headers: its header block in
                                       CONTINUATION frames): how long until the server cut it, and how

Prints one JSON line. Loopback only; every wait is bounded.
"""
import json
import os
import socket
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from flood import SIG, frame, hpack_literal  # noqa: E402

PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"


def connect(port):
    s = socket.create_connection(("127.0.0.1", port), timeout=5)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return s


def request_block(method, path, extra=()):
    fields = [(":method", method), (":scheme", "http"), (":path", path), (":authority", "127.0.0.1")]
    return b"".join(hpack_literal(k, v) for k, v in fields + list(extra))


class Frames:
    """Reads frames from an h2c connection; answers SETTINGS and PING."""

    def __init__(self, sock):
        self.s = sock
        self.buf = b""
        self.closed = False

    def read(self, timeout):
        """Returns the next (type, flags, stream, payload) within |timeout| seconds, or None."""
        end = time.time() + timeout
        while True:
            if len(self.buf) >= 9:
                length = int.from_bytes(self.buf[:3], "big")
                if len(self.buf) >= 9 + length:
                    f = (self.buf[3], self.buf[4], int.from_bytes(self.buf[5:9], "big") & 0x7FFFFFFF,
                         self.buf[9:9 + length])
                    self.buf = self.buf[9 + length:]
                    if f[0] == 4 and not f[1] & 1:
                        self.s.sendall(frame(4, 1, 0))  # SETTINGS ACK
                    return f
            left = end - time.time()
            if left <= 0 or self.closed:
                return None
            self.s.settimeout(left)
            try:
                data = self.s.recv(65536)
            except socket.timeout:
                return None
            except OSError:
                data = b""
            if not data:
                self.closed = True
                return None
            self.buf += data


def h2_open(port):
    """Connects, exchanges SETTINGS (acknowledged before any request, so no frame can fall inside a header block
    later) and returns the socket, its reader and the server's settings ({} when none came)."""
    s = connect(port)
    s.sendall(PREFACE + frame(4, 0, 0))
    fr = Frames(s)
    settings = {}
    while True:
        f = fr.read(2)
        if f is None:
            break
        if f[0] == 4 and not f[1] & 1:
            settings = settings_of(f[3])
            break
    return s, fr, settings


def settings_of(payload):
    return {int.from_bytes(payload[i:i + 2], "big"): int.from_bytes(payload[i + 2:i + 6], "big")
            for i in range(0, len(payload) - 5, 6)}


def cmd_conns(port, n):
    socks = [socket.create_connection(("127.0.0.1", port), timeout=5) for _ in range(n)]
    time.sleep(0.5)  # well within REQUEST_TIMEOUT_MS: only a cap closes a connection this soon
    closed = 0
    for s in socks:
        s.setblocking(False)
        try:
            closed += s.recv(1) == b""
        except BlockingIOError:
            pass
        except OSError:
            closed += 1
    for s in socks:
        s.close()
    return {"connections": n, "closed_at_once": closed}


def cmd_streams(port, n):
    s, fr, settings = h2_open(port)
    block = request_block("POST", "/api/clay/enriched", [("content-type", "application/json"), ("x-clay-signature", SIG)])
    s.sendall(b"".join(frame(1, 0x4, 1 + 2 * i, block) for i in range(n)))  # HEADERS, END_HEADERS, body to follow
    advertised, refused, other = settings.get(3), 0, 0
    while True:
        f = fr.read(1.5)
        if f is None:
            break
        if f[0] == 4 and not f[1] & 1:
            advertised = settings_of(f[3]).get(3)
        elif f[0] == 3:
            if int.from_bytes(f[3][:4], "big") == 7:
                refused += 1
            else:
                other += 1
        elif f[0] == 7:
            other += 1
            break
    s.close()
    return {"streams": n, "max_concurrent_streams": advertised, "refused": refused, "other": other}


def cmd_headers(port, proto, n):
    if proto == "h1":
        s = connect(port)
        lines = ["Host: 127.0.0.1"] + ["X-Field-%d: v" % i for i in range(n - 1)]
        s.sendall(("GET /healthz HTTP/1.1\r\n" + "\r\n".join(lines) + "\r\n\r\n").encode())
        s.settimeout(3)
        try:
            data = s.recv(65536)
        except OSError:
            data = b""
        s.close()
        status = data.split(b" ", 2)[1].decode() if data.startswith(b"HTTP/1.1 ") else "none"
        return {"proto": "h1", "fields": n, "status": status, "json": b"too_many_headers" in data}
    s, fr, _ = h2_open(port)
    block = request_block("GET", "/healthz", [("x-field-%d" % i, "v") for i in range(n)])
    s.sendall(frame(1, 0x5, 1, block))  # HEADERS, END_STREAM | END_HEADERS
    status, body = "none", b""
    while True:
        f = fr.read(3)
        if f is None or f[0] == 7:
            break
        if f[0] == 1 and f[2] == 1 and f[3][:1] == b"\x88":
            status = "200"  # :status 200 is HPACK static index 8
        elif f[0] == 0 and f[2] == 1:
            body += f[3]
        elif f[0] == 3 and f[2] == 1:
            status = "reset"
        if f[0] in (0, 1) and f[2] == 1 and f[1] & 1:
            break
    s.close()
    if b"too_many_headers" in body:
        status = "431"  # the answer's JSON names it (":status 431" would need HPACK's Huffman decoding)
    return {"proto": "h2", "fields": n, "status": status}


def cmd_reset(port, n):
    s, fr, _ = h2_open(port)
    block = request_block("POST", "/api/clay/enriched", [("content-type", "application/json"), ("x-clay-signature", SIG)])
    goaway, sent = None, 0
    sid = 1
    while sent < n and goaway is None and not fr.closed:
        batch = b""
        for _ in range(min(50, n - sent)):
            batch += frame(1, 0x4, sid, block) + frame(3, 0, sid, (8).to_bytes(4, "big"))  # HEADERS, RST_STREAM CANCEL
            sid += 2
            sent += 1
        try:
            s.sendall(batch)
        except OSError:
            break
        while True:
            f = fr.read(0.05)
            if f is None:
                break
            if f[0] == 7:
                goaway = int.from_bytes(f[3][4:8], "big")
                break
    while goaway is None and not fr.closed:
        f = fr.read(1.0)
        if f is None:
            break
        if f[0] == 7:
            goaway = int.from_bytes(f[3][4:8], "big")
    s.close()
    return {"cancelled": sent, "goaway": goaway}


def cmd_polite(port, n):
    s, fr, _ = h2_open(port)
    get = request_block("GET", "/healthz")
    post = request_block("POST", "/api/clay/enriched", [("content-type", "application/json"), ("x-clay-signature", SIG)])
    answered, cancelled, goaway = 0, 0, None
    for i in range(n):
        sid = 1 + 2 * i
        if i % 3 == 2:
            s.sendall(frame(1, 0x4, sid, post) + frame(3, 0, sid, (8).to_bytes(4, "big")))
            cancelled += 1
            continue
        s.sendall(frame(1, 0x5, sid, get))
        while True:
            f = fr.read(3)
            if f is None:
                break
            if f[0] == 7:
                goaway = int.from_bytes(f[3][4:8], "big")
                break
            if f[0] in (0, 1) and f[2] == sid and f[1] & 1:
                answered += 1
                break
        if goaway is not None or f is None:
            break
    s.close()
    return {"requests": n, "answered": answered, "cancelled": cancelled, "goaway": goaway}


def cmd_trickle(port, mode, seconds):
    start = time.time()
    if mode == "h1":
        s = connect(port)
        s.sendall(("POST /api/clay/enriched HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                   "X-Clay-Signature: %s\r\nContent-Length: 1000\r\n\r\n" % SIG).encode())
        s.settimeout(0.2)
        while time.time() - start < seconds:
            try:
                s.sendall(b" ")
                if s.recv(4096) == b"":
                    return {"mode": mode, "cut_after_s": round(time.time() - start, 2), "how": "closed"}
            except socket.timeout:
                continue
            except OSError:
                return {"mode": mode, "cut_after_s": round(time.time() - start, 2), "how": "closed"}
        return {"mode": mode, "cut_after_s": None, "how": None}
    s, fr, _ = h2_open(port)
    block = request_block("POST", "/api/clay/enriched", [("content-type", "application/json"), ("x-clay-signature", SIG),
                                                         ("content-length", "1000")])
    if mode == "h2":
        s.sendall(frame(1, 0x4, 1, block))  # HEADERS, END_HEADERS, body to follow
        piece = lambda: frame(0, 0, 1, b" ")  # noqa: E731
    else:
        s.sendall(frame(1, 0, 1, block[:8]))  # HEADERS without END_HEADERS: the rest a byte per CONTINUATION frame
        rest = list(block[8:])
        piece = lambda: frame(9, 0, 1, bytes([rest.pop(0)]) if len(rest) > 1 else b"")  # noqa: E731
    while time.time() - start < seconds:
        try:
            s.sendall(piece())
        except OSError:
            return {"mode": mode, "cut_after_s": round(time.time() - start, 2), "how": "closed"}
        while True:
            f = fr.read(0.2)
            if f is None:
                break
            if f[0] == 3 and f[2] == 1:
                code = int.from_bytes(f[3][:4], "big")
                return {"mode": mode, "cut_after_s": round(time.time() - start, 2), "how": "rst_stream", "code": code}
            if f[0] == 7:
                code = int.from_bytes(f[3][4:8], "big")
                return {"mode": mode, "cut_after_s": round(time.time() - start, 2), "how": "goaway", "code": code}
        if fr.closed:
            return {"mode": mode, "cut_after_s": round(time.time() - start, 2), "how": "closed"}
    return {"mode": mode, "cut_after_s": None, "how": None}


if __name__ == "__main__":
    cmd, port = sys.argv[1], int(sys.argv[2])
    if cmd == "conns":
        out = cmd_conns(port, int(sys.argv[3]))
    elif cmd == "streams":
        out = cmd_streams(port, int(sys.argv[3]))
    elif cmd == "headers":
        out = cmd_headers(port, sys.argv[3], int(sys.argv[4]))
    elif cmd == "reset":
        out = cmd_reset(port, int(sys.argv[3]))
    elif cmd == "polite":
        out = cmd_polite(port, int(sys.argv[3]))
    else:
        out = cmd_trickle(port, sys.argv[3], float(sys.argv[4]))
    print(json.dumps(out), flush=True)
