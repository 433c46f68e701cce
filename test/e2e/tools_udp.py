#!/usr/bin/env python3
"""tools_udp — SOCKS5 UDP ASSOCIATE for the end-to-end tests (stdlib only).

    dns-server --port-file F [--bind ADDR]
        a tiny DNS responder: answers every A query with 192.0.2.53 (the
        question echoed, one answer, TTL 60); runs until killed
    udp-dns PROXYPORT TARGET TPORT [--proxy-host H] [--name N] [--queries K]
            [--expect-none] [--after-close]
        greeting, UDP ASSOCIATE, then K real DNS queries for N through the relay
        to TARGET:TPORT (an IPv4 literal or a name; --user NAME:PASSWORD logs in
        first, --expect-rep R expects the association refused); each answer must come back
        with a SOCKS UDP header naming the DNS server and the exact answer bytes.
        --expect-none: no answer may come (a denied target). --stranger A: then a
        query from address A (not the client's) must get no answer. --after-close: then
        close the TCP connection and check the association is gone (a datagram
        to its port gets no answer). --bytes-file F: write "SENT RECEIVED", the
        datagram bytes (SOCKS headers included) each way.
    rtt PROXYPORT TARGET TPORT [--queries N]
        the median round trip (microseconds) of N sequential DNS queries through
        the association (PROXYPORT 0: straight to the server); for bench/udp_bench.sh

Exits 0 with a line on stdout, or 1 with a reason on stderr. Every socket has
a timeout.
"""

import argparse
import ipaddress
import os
import socket
import struct
import sys
import time

ANSWER_IP = "192.0.2.53"


def die(msg):
    print(msg, file=sys.stderr)
    sys.exit(1)


def dns_query(qid, name):
    q = struct.pack(">HHHHHH", qid, 0x0100, 1, 0, 0, 0)
    for label in name.rstrip(".").split("."):
        q += bytes([len(label)]) + label.encode()
    return q + b"\x00" + struct.pack(">HH", 1, 1)


def dns_answer(query):
    """The answer our server gives to a query: the same bytes the client expects."""
    qid, = struct.unpack(">H", query[:2])
    end = 12
    while query[end] != 0:
        end += 1 + query[end]
    question = query[12:end + 5]
    head = struct.pack(">HHHHHH", qid, 0x8180, 1, 1, 0, 0)
    answer = b"\xc0\x0c" + struct.pack(">HHIH", 1, 1, 60, 4) + socket.inet_aton(ANSWER_IP)
    return head + question + answer


def cmd_dns_server(args):
    family = socket.AF_INET6 if ":" in args.bind else socket.AF_INET
    s = socket.socket(family, socket.SOCK_DGRAM)
    if family == socket.AF_INET6:
        s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)    # "::" takes IPv4 too
    s.bind((args.bind, 0))
    tmp = args.port_file + ".tmp"
    with open(tmp, "w") as f:
        f.write(str(s.getsockname()[1]))
    os.rename(tmp, args.port_file)
    while True:
        data, peer = s.recvfrom(65535)
        try:
            s.sendto(dns_answer(data), peer)
        except (IndexError, struct.error):
            pass        # not a query: no answer


def recv_exact(s, n):
    got = b""
    while len(got) < n:
        chunk = s.recv(n - len(got))
        if not chunk:
            die("the proxy closed the control connection (after %d bytes)" % len(got))
        got += chunk
    return got


def socks_header(host, port):
    try:
        ip = ipaddress.ip_address(host)
        atyp = b"\x01" if ip.version == 4 else b"\x04"
        return b"\x00\x00\x00" + atyp + ip.packed + struct.pack(">H", port)
    except ValueError:
        name = host.encode()
        return b"\x00\x00\x00\x03" + bytes([len(name)]) + name + struct.pack(">H", port)


def associate(proxy_host, proxy_port, user=None, expect_rep=0):
    tcp = socket.create_connection((proxy_host, proxy_port), timeout=10)
    if user:
        name, password = user.encode().split(b":", 1)
        tcp.sendall(b"\x05\x01\x02")
        if recv_exact(tcp, 2) != b"\x05\x02":
            die("the proxy did not take username/password")
        tcp.sendall(b"\x01" + bytes([len(name)]) + name + bytes([len(password)]) + password)
        if recv_exact(tcp, 2) != b"\x01\x00":
            die("the proxy refused the credentials")
    else:
        tcp.sendall(b"\x05\x01\x00")
        if recv_exact(tcp, 2) != b"\x05\x00":
            die("the proxy refused the greeting")
    if expect_rep < 0:
        # a refusal without a reply: the connection is closed or reset
        tcp.sendall(b"\x05\x03\x00\x01\x00\x00\x00\x00\x00\x00")
        try:
            got = tcp.recv(100)
        except ConnectionResetError:
            got = b""
        except socket.timeout:
            die("the control connection is still open after 10 s")
        if got:
            die("a reply %r came, where the connection should have closed" % got[:12])
        print("UDP ASSOCIATE: the control connection was closed without a reply, as expected")
        sys.exit(0)
    # DST 0.0.0.0:0: the client does not know its UDP address yet
    tcp.sendall(b"\x05\x03\x00\x01\x00\x00\x00\x00\x00\x00")
    head = recv_exact(tcp, 4)
    if head[1] != expect_rep:
        die("UDP ASSOCIATE: REP %d (expected %d)" % (head[1], expect_rep))
    if expect_rep != 0:
        print("UDP ASSOCIATE refused with REP %d, as expected" % expect_rep)
        sys.exit(0)
    alen = {1: 4, 4: 16}.get(head[3])
    if alen is None:
        die("UDP ASSOCIATE: a reply with ATYP %d" % head[3])
    addr = recv_exact(tcp, alen)
    port, = struct.unpack(">H", recv_exact(tcp, 2))
    host = str(ipaddress.ip_address(addr))
    if host in ("0.0.0.0", "::"):
        host = proxy_host
    return tcp, (host, port)


def cmd_udp_dns(args):
    tcp, relay = associate(args.proxy_host, args.proxy_port, args.user, args.expect_rep)
    family = socket.AF_INET6 if ":" in relay[0] else socket.AF_INET
    udp = socket.socket(family, socket.SOCK_DGRAM)
    udp.settimeout(3)
    udp.connect(relay)
    header = socks_header(args.target, args.tport)
    good = 0
    sent = received = 0
    for i in range(args.queries):
        query = dns_query(0x4000 + i, args.name)
        sent += udp.send(header + query)
        try:
            reply = udp.recv(65535)
            received += len(reply)
        except socket.timeout:
            if args.expect_none:
                continue
            die("query %d: no answer through the relay %s:%d" % (i, relay[0], relay[1]))
        except ConnectionRefusedError:
            die("query %d: the relay's port %d is closed" % (i, relay[1]))
        if args.expect_none:
            die("query %d: an answer came although the target should be denied" % i)
        if reply[:4] not in (b"\x00\x00\x00\x01", b"\x00\x00\x00\x04"):
            die("query %d: a reply without a SOCKS UDP header: %r" % (i, reply[:10]))
        alen = 4 if reply[3] == 1 else 16
        src = str(ipaddress.ip_address(reply[4:4 + alen]))
        sport, = struct.unpack(">H", reply[4 + alen:6 + alen])
        if sport != args.tport:
            die("query %d: the reply names port %d, not the DNS server's %d" % (i, sport, args.tport))
        if not args.target[0].isalpha() and src != str(ipaddress.ip_address(args.target)):
            die("query %d: the reply names %s, not %s" % (i, src, args.target))
        if reply[6 + alen:] != dns_answer(query):
            die("query %d: wrong answer bytes %r" % (i, reply[6 + alen:]))
        good += 1
        time.sleep(args.interval)
    if args.bytes_file:
        with open(args.bytes_file, "w") as f:
            f.write("%d %d\n" % (sent, received))
    what = "%d of %d DNS answers for %s via %s:%d" % (good, args.queries, args.name,
                                                      args.target, args.tport)
    if args.stranger:
        # another address (127.0.0.2 is loopback too) may not use the association
        other = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        other.bind((args.stranger, 0))
        other.settimeout(1)
        other.sendto(header + dns_query(0x6666, args.name), relay)
        for s in (other, udp):
            s.settimeout(1)
            try:
                s.recv(65535)
                die("a datagram from %s was relayed" % args.stranger)
            except socket.timeout:
                pass
        what += "; a datagram from %s was dropped" % args.stranger
    if args.after_close:
        tcp.close()
        time.sleep(0.5)
        udp.settimeout(1.5)
        for _ in range(3):
            try:
                udp.send(header + dns_query(0x7777, args.name))
                udp.recv(65535)
            except ConnectionRefusedError:
                break           # the relay's port is closed
            except socket.timeout:
                continue
            die("the association still relays after its TCP connection closed")
        what += "; the association ended with its TCP connection"
    print(what)


def cmd_rtt(args):
    """Median round trip of sequential DNS queries, in microseconds."""
    if args.proxy_port == 0:
        udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        udp.connect((args.target, args.tport))
        header = b""
    else:
        tcp, relay = associate(args.proxy_host, args.proxy_port)
        udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        udp.connect(relay)
        header = socks_header(args.target, args.tport)
    udp.settimeout(3)
    times = []
    for i in range(args.queries):
        query = header + dns_query(i & 0xFFFF, "bench.example.test")
        t0 = time.perf_counter()
        udp.send(query)
        try:
            udp.recv(65535)
        except socket.timeout:
            die("query %d: no answer" % i)
        times.append(time.perf_counter() - t0)
    times.sort()
    print("%.1f" % (times[len(times) // 2] * 1e6))


def main():
    p = argparse.ArgumentParser()
    sub = p.add_subparsers(dest="cmd", required=True)
    d = sub.add_parser("dns-server")
    d.add_argument("--port-file", required=True)
    d.add_argument("--bind", default="127.0.0.1")
    u = sub.add_parser("udp-dns")
    u.add_argument("proxy_port", type=int)
    u.add_argument("target")
    u.add_argument("tport", type=int)
    u.add_argument("--proxy-host", default="127.0.0.1")
    u.add_argument("--name", default="www.example.test")
    u.add_argument("--queries", type=int, default=3)
    u.add_argument("--expect-none", action="store_true")
    u.add_argument("--after-close", action="store_true")
    u.add_argument("--interval", type=float, default=0, help="seconds between queries")
    u.add_argument("--stranger", help="then send from this address: must be dropped")
    u.add_argument("--bytes-file", help="write the datagram bytes sent and received (SOCKS headers included)")
    u.add_argument("--user", help="NAME:PASSWORD (RFC 1929)")
    u.add_argument("--expect-rep", type=int, default=0, help="expect this refusal (-1: a close without a reply)")
    r = sub.add_parser("rtt")
    r.add_argument("proxy_port", type=int, help="0: straight to the target")
    r.add_argument("target")
    r.add_argument("tport", type=int)
    r.add_argument("--proxy-host", default="127.0.0.1")
    r.add_argument("--queries", type=int, default=1000)
    args = p.parse_args()
    {"dns-server": cmd_dns_server, "udp-dns": cmd_udp_dns, "rtt": cmd_rtt}[args.cmd](args)


if __name__ == "__main__":
    main()
