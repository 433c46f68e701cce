"""tools_http — tools.py's clients that expect the peer to close: a
half-closed HTTP GET checked by sha256, bytes that must be answered by a
close, a request that must get one status line and a complete head."""

import hashlib
import socket
import time

from tools_common import connect, die, payload, recv_until_eof, send_tolerant


def split_response(raw):
    end = raw.find(b"\r\n\r\n")
    if end < 0:
        return None, None, raw
    head = raw[:end].decode("latin-1")
    status = head.split("\r\n", 1)[0]
    return status, head, raw[end + 4:]


def cmd_halfclose_http(args):
    sock = connect(args.host, args.port, args.timeout)
    req = ("GET %s HTTP/1.1\r\nHost: %s:%s\r\nConnection: close\r\n\r\n"
           % (args.path, args.host, args.port)).encode()
    sock.sendall(req)
    sock.shutdown(socket.SHUT_WR)
    raw, how = recv_until_eof(sock, time.monotonic() + args.timeout)
    if how != "eof":
        die("expected EOF after the response, got %s after %d bytes" % (how, len(raw)))
    status, head, body = split_response(raw)
    if status is None or " 200 " not in status + " ":
        die("bad response status: %r" % (status or raw[:80]))
    sha = hashlib.sha256(body).hexdigest()
    if sha != args.sha:
        die("body sha256 %s (%d bytes) != expected %s" % (sha, len(body), args.sha))
    print("halfclose-http: %d body bytes after SHUT_WR, sha ok" % len(body))


def cmd_expect_close(args):
    data = payload(args)
    try:
        sock = socket.create_connection((args.host, args.port), timeout=args.timeout)
    except ConnectionResetError:
        #  A peer that accepts and aborts at once can reset the connection before
        #  connect() returns (seen under gVisor): that is a close too.
        print("expect-close: reset by peer during connect")
        return
    except OSError as e:
        die("connect to %s:%s failed: %s" % (args.host, args.port, e))
    err = send_tolerant(sock, data)
    if args.shut and not err:
        sock.shutdown(socket.SHUT_WR)
    got, how = recv_until_eof(sock, time.monotonic() + args.timeout, limit=1 << 20)
    if how not in ("eof", "reset"):
        die("peer kept the connection open (%s after %.1f s, %d bytes received)"
            % (how, args.timeout, len(got)))
    print("expect-close: sent %d bytes %r%s; closed by peer (%s%s), %d bytes received %r"
          % (len(data), data[:12], "..." if len(data) > 12 else "", how,
             ", send: %s" % err if err else "", len(got), got[:24]))


def cmd_expect_status(args):
    sock = connect(args.host, args.port, args.timeout)
    err = send_tolerant(sock, payload(args))
    got, how = recv_until_eof(sock, time.monotonic() + args.timeout, limit=1 << 20)
    status, head, _ = split_response(got)
    if status is None:
        die("no complete response head (%s, send: %s): %r" % (how, err, got[:200]))
    words = status.split()
    if len(words) < 2 or not words[0].startswith("HTTP/1.") or words[1] != str(args.code):
        die("expected status %d, got %r" % (args.code, status))
    if how not in ("eof", "reset"):
        die("got %r but the connection stayed open (%s)" % (status, how))
    print("expect-status: %r then close (%s)" % (status, how))
