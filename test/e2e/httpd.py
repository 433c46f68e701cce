#!/usr/bin/env python3
"""httpd — the origin server of the end-to-end tests (stdlib only).

A threaded HTTP/1.1 keep-alive server bound to one loopback address on a port
chosen by the OS; the port is written to --port-file once it accepts, so the
test scripts never guess ports. Each route exercises one way an HTTP body can
be delimited, because that is exactly what a proxy has to get right:

    GET|HEAD /file/NAME     a file from --dir, with Content-Length
    GET      /noclen/N      N pattern bytes, no Content-Length, then close
                            (?rate=R: paced at R bytes/s, in 64 KiB writes)
    GET      /chunked/N     N pattern bytes, Transfer-Encoding: chunked
    GET      /slow/N        N pattern bytes with Content-Length, trickled in
                            10 parts 100 ms apart (?parts=P&ms=M to change)
    POST     /echo          the request body (Content-Length or chunked)
    GET      /reqline       the request line as received (checks that a
                            proxy rewrote an absolute URI to origin form)
    GET      /status/CODE   an empty response with that status

The pattern is deterministic (see pattern()), so a test can compute the
expected hash with `httpd.py --pattern N`.
"""
import argparse
import hashlib
import os
import socket
import sys
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

_BLOCK = b"".join(hashlib.sha256(i.to_bytes(4, "big")).digest() for i in range(2048))


def pattern_chunks(n, size=len(_BLOCK)):
    """Yield the first n bytes of the endless repetition of _BLOCK."""
    left = n
    while left > 0:
        take = min(left, size, len(_BLOCK))
        yield _BLOCK[:take]
        left -= take


def pattern(n):
    return b"".join(pattern_chunks(n))


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "mimicsocks-e2e-httpd"

    def log_message(self, fmt, *args):
        if self.server.verbose:
            sys.stderr.write("httpd: " + (fmt % args) + "\n")

    # -- routing -----------------------------------------------------------

    def do_GET(self):
        self._route(head=False)

    def do_HEAD(self):
        self._route(head=True)

    def do_POST(self):
        url = urllib.parse.urlsplit(self.path)
        if url.path != "/echo":
            return self._send_status(404)
        body = self._read_body()
        if body is None:
            return self._send_status(400)
        self.send_response(200)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _route(self, head):
        url = urllib.parse.urlsplit(self.path)
        parts = url.path.split("/")
        query = urllib.parse.parse_qs(url.query)
        try:
            if len(parts) == 3 and parts[1] == "file":
                return self._file(parts[2], head)
            if len(parts) == 3 and parts[1] == "noclen":
                return self._noclen(int(parts[2]), head, int(query.get("rate", ["0"])[0]))
            if len(parts) == 3 and parts[1] == "chunked":
                return self._chunked(int(parts[2]), head)
            if len(parts) == 3 and parts[1] == "slow":
                pieces = int(query.get("parts", ["10"])[0])
                ms = int(query.get("ms", ["100"])[0])
                return self._slow(int(parts[2]), pieces, ms, head)
            if len(parts) == 3 and parts[1] == "status":
                return self._send_status(int(parts[2]))
            if url.path == "/reqline":
                return self._send_bytes(self.requestline.encode("latin-1") + b"\n", head)
        except ValueError:
            return self._send_status(400)
        return self._send_status(404)

    # -- responses ---------------------------------------------------------

    def _send_status(self, code):
        self.send_response(code)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def _send_bytes(self, data, head):
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if not head:
            self.wfile.write(data)

    def _file(self, name, head):
        path = os.path.join(self.server.root, os.path.basename(name))
        try:
            f = open(path, "rb")
        except OSError:
            return self._send_status(404)
        with f:
            size = os.fstat(f.fileno()).st_size
            self.send_response(200)
            self.send_header("Content-Type", "application/octet-stream")
            self.send_header("Content-Length", str(size))
            self.end_headers()
            if not head and size > 0:
                self.wfile.flush()
                self.connection.sendfile(f)

    def _noclen(self, n, head, rate=0):
        #  Close-delimited body: the only end of the body is the end of the
        #  connection, so a proxy in between must pass that close on.
        self.close_connection = True
        self.send_response(200)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Connection", "close")
        self.end_headers()
        if head:
            return
        start, sent = time.monotonic(), 0
        for chunk in pattern_chunks(n):         # (64 KiB pieces)
            self.wfile.write(chunk)
            sent += len(chunk)
            if rate > 0:
                self.wfile.flush()
                time.sleep(max(0.0, start + sent / rate - time.monotonic()))

    def _chunked(self, n, head):
        self.send_response(200)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        if head:
            return
        data = pattern(n)
        sizes = (1, 100, 4096, 65536, 7, 30000)
        pos, i = 0, 0
        while pos < n:
            take = min(sizes[i % len(sizes)], n - pos)
            self.wfile.write(b"%x;ext=1\r\n" % take + data[pos:pos + take] + b"\r\n")
            pos += take
            i += 1
        self.wfile.write(b"0\r\nX-Trailer: done\r\n\r\n")

    def _slow(self, n, pieces, ms, head):
        self.send_response(200)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(n))
        self.end_headers()
        if head:
            return
        data = pattern(n)
        pieces = max(1, min(pieces, 1000))
        step = (n + pieces - 1) // pieces or 1
        for pos in range(0, n, step):
            self.wfile.write(data[pos:pos + step])
            time.sleep(ms / 1000.0)

    # -- request bodies ----------------------------------------------------

    def _read_body(self):
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            body = bytearray()
            while True:
                line = self.rfile.readline(1024)
                if not line:
                    return None
                try:
                    size = int(line.split(b";")[0].strip(), 16)
                except ValueError:
                    return None
                if size == 0:
                    while self.rfile.readline(1024) not in (b"\r\n", b"\n", b""):
                        pass
                    return bytes(body)
                body += self.rfile.read(size)
                self.rfile.readline(1024)
        length = int(self.headers.get("Content-Length", "0"))
        body = self.rfile.read(length)
        return body if len(body) == length else None


class Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 256

    def __init__(self, bind, port, root, verbose):
        self.address_family = socket.AF_INET6 if ":" in bind else socket.AF_INET
        self.root = root
        self.verbose = verbose
        super().__init__((bind, port), Handler)

    def handle_error(self, request, client_address):
        #  Clients that go away mid-response (the stalled-client test kills
        #  its reader) are expected; keep stderr for real problems.
        exc = sys.exc_info()[1]
        if isinstance(exc, (BrokenPipeError, ConnectionResetError, TimeoutError)):
            return
        super().handle_error(request, client_address)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--dir", default=".", help="directory served under /file/")
    ap.add_argument("--bind", default="127.0.0.1", help="loopback address to bind")
    ap.add_argument("--port", type=int, default=0, help="0: chosen by the OS")
    ap.add_argument("--port-file", help="write the bound port here once listening")
    ap.add_argument("--pattern", type=int, metavar="N",
                    help="write the first N pattern bytes to stdout and exit")
    ap.add_argument("--verbose", action="store_true")
    args = ap.parse_args()

    if args.pattern is not None:
        out = sys.stdout.buffer
        for chunk in pattern_chunks(args.pattern):
            out.write(chunk)
        out.flush()
        return 0

    server = Server(args.bind, args.port, os.path.abspath(args.dir), args.verbose)
    port = server.server_address[1]
    if args.port_file:
        tmp = args.port_file + ".tmp"
        with open(tmp, "w") as f:
            f.write("%d\n" % port)
        os.rename(tmp, args.port_file)
    else:
        print(port, flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
