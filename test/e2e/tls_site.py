#!/usr/bin/env python3
"""tls_site — a tiny HTTPS web site for e2e_stealth: serves TEXT at every
path over TLS with the given certificate, on 127.0.0.1 and an OS-picked
port (written to --port-file once listening)."""

import argparse
import http.server
import ssl
import sys

from tools_common import write_ready_port


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--cert", required=True)
    ap.add_argument("--key", required=True)
    ap.add_argument("--text", required=True)
    ap.add_argument("--port-file", required=True)
    args = ap.parse_args()
    body = args.text.encode()

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(200)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, fmt, *a):
            sys.stderr.write("tls_site: " + fmt % a + "\n")

    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    srv.daemon_threads = True
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(args.cert, args.key)
    srv.socket = ctx.wrap_socket(srv.socket, server_side=True, do_handshake_on_connect=False)
    srv.socket.settimeout(None)
    write_ready_port(args.port_file, srv.server_address[1])
    srv.serve_forever()


if __name__ == "__main__":
    main()
