#!/usr/bin/env python3
"""tools — raw-socket helpers for the end-to-end tests (stdlib only; fake-tunnel
also needs python3-cryptography or the openssl command for AES-CTR).

curl covers the well-behaved clients; these subcommands are the clients and
servers curl cannot be: ones that half-close, send garbage, stall, or check
the exact bytes a proxy answers. Each exits 0 on success and 1 with a
one-line reason on stderr otherwise. Every socket has a timeout, so no
subcommand can hang longer than its bound.

    free-ports N [--v6]                  N distinct free loopback ports
    has-ipv6                             exit 0 if ::1 can be bound
    echo-server --port-file F            echoes each connection until EOF, then closes
    halfclose-echo HOST PORT SIZE        send SIZE bytes, SHUT_WR, expect them back, then EOF
    echo-roundtrip HOST PORT SIZE        send SIZE bytes while reading, expect them back, then
                                         close (no half-close: fits an aggregated stream)
    halfclose-http HOST PORT PATH SHA    GET PATH, SHUT_WR, expect 200 with a body of that sha256
    expect-close HOST PORT (--random N | --hex H | --text T | --line N) [--shut] [--timeout S]
                                         send the bytes (then half-close, with --shut),
                                         expect the peer to close within S
    expect-status HOST PORT CODE (--hex H | --text T) [--timeout S]
                                         send a request, expect "HTTP/1.x CODE", a complete
                                         head, and the peer to close within S
    stall-socks5 PROXYPORT HOST PORT PATH --ready-file F [--hold S]
                                         open a SOCKS5 tunnel, request PATH, read nothing
    socks5-refused PROXYPORT HOST PORT   CONNECT to a closed port: expect a complete
                                         SOCKS5 reply with REP != 0, then close
    socks5-optimistic PROXYPORT HOST PORT --expect reset|data
                                         REP 0 with BND 0.0.0.0:0 at once (a wormhole's local
                                         end), then a request: a reset, or an answer
    slow-socks-get PROXYPORT HOST PORT PATH --sha SHA --rate R
                                         a slow user: GET PATH through SOCKS5 at R bytes/s at
                                         most; the body must have that sha256
    hold HOST PORT --hex H --ready-file F [--hold S]
                                         send a partial handshake and hold the connection
    blackhole --port-file F [--hold S]   a loopback port whose connects never complete (a
                                         listener that does not accept, its queue full)
    exec-sigdefault PROG ARGS...         exec PROG with SIGINT/SIGTERM at their defaults
                                         (bash starts background jobs with SIGINT ignored)
    probe HOST PORT [--random N] --silent S [--close-by T]
                                         a prober of a wormhole's tunnel port: send N random
                                         bytes (a wrong hello; none without --random), then
                                         more every 0.5 s; expect no byte back and the
                                         connection open for S s after connecting, and with
                                         --close-by, closed by the peer by T s after it
    fake-tunnel HOST PORT --key HEX [--expect-frame] [--garbage N] [--timeout S]
                                         a fake dialing end with a CORRECT hello (IV, then
                                         HMAC-SHA1(key, IV)[:16]); with --expect-frame it sends
                                         the C ends' extension hello (a NOP frame) and the
                                         peer's first bytes must decrypt to a mux frame; then
                                         N bytes that decrypt to garbage (first byte 0xff, no
                                         mux command, no SOCKS version), and the peer must
                                         close within S
    spec-mux-dialer HOST PORT --key HEX --origin PORT [--requests N]
                                         an original aggregated (v1) dialing end: hello, then
                                         per request NEW_SOCKET, SOCKS5 CONNECT to the origin
                                         and a GET with Connection: close in DATA frames; no
                                         credit or FIN extension, and never a CLOSE_SOCKET;
                                         each response must end with the peer's CLOSE_SOCKET
    orig-dialer HOST PORT --key HEX --origin PORT --file NAME|--path P --sha SHA [--parallel N]
                [--rate R]           N users at once through a distributed v1 dialing end that
                                         drops what it has read but not yet delivered (at R
                                         bytes/s) when the tunnel closes, as the original's
                                         local end does; each download must be whole
    orig-mux-acceptor --port P --key HEX --relay PORT [--seconds S]
                                         an original aggregated accepting end with a relay
                                         handler: when a target closes it forgets the stream
                                         and sends no CLOSE_SOCKET
    spec-dialer HOST PORT --extra P[,P] --key HEX [--handovers N] [--bytes B] [--orig-handover]
                                         a dialing end written from PROTOCOL.md alone, against
                                         a distributed wormhole that relays to an echo server:
                                         N handovers (naive scanner, the four steps), bytes in
                                         flight across each, every byte echoed back intact
    orig-socks-remote PORT --key HEX [--ready-file F]
                                         the original Erlang remote end of a distributed v1
                                         socks wormhole as it behaves (cited in tools_v1.py):
                                         a greeting and a request in one read leave the
                                         request unread, and 1 s later the connection ends
    spec-acceptor --port P --extra X --client-port S --key HEX [--seconds T] [--min-handovers N]
                  [--orig-hold MS] [--burst B]
                                         an accepting end written from PROTOCOL.md alone, for a
                                         distributed wormhole's dialing end (users on S): checks
                                         the hello and every handover's ID and steps, echoes
                                         the stream; a client of S checks the echo
    capture-relay LISTEN TARGET --out F [--timed] [--port-file P] [--seconds S]
                                         a relay 127.0.0.1:LISTEN -> TARGET that writes each
                                         connection's client->server bytes to F.1, F.2, ...
    replay FILE HOST PORT [--bytes N] [--wait S]
                                         send a recording again; print JSON: bytes sent and
                                         received, how and when (ms) the peer closed
    v2-probe KIND HOST PORT [--file F --offset O [--bit B]] [--wait S]
                                         (probe is v1's) send random-N, zeros-N, flipped (a
                                         recording with one bit flipped), v1-hello (a fresh
                                         correct v1 hello, --key) or v1-garbage-N (the same
                                         hello, then N bytes of garbage);
                                         print the same JSON
    bitflip-relay LISTEN TARGET OFFSET [--bit B] [--direction s2c|c2s] [--only N]
                  [--port-file P] [--seconds S]
                                         relay both ways, flipping one bit of each connection's
                                         server->client (or client->server) stream at byte
                                         OFFSET; with --only N, of connection N only
    pace FILE RATE                       copy FILE to stdout at RATE bytes/s (64 KiB writes): a
                                         paced upload (curl -T -), as curl 7.88's --limit-rate
                                         does not limit
    reset-relay LISTEN TARGET [--after N [--direction c2s|s2c] [--only K]]
                [--port-file P] [--seconds S]
                                         relay both ways (a FIN is passed on as a FIN, a reset
                                         as a reset); on SIGUSR1 every connection open at that
                                         moment, and with --after the one whose DIRECTION has
                                         carried N bytes (of connection K only, with --only), is
                                         cut: both sides closed with SO_LINGER 0, so both get a
                                         RST. One line per event on stdout: "accept MS N",
                                         "reset MS N C2S S2C WHY", "end MS N C2S S2C" (MS: epoch
                                         ms, C2S/S2C: bytes relayed so far)
    probe-stats DIR N LO HI KIND...      the probes' reports DIR/p-KIND.json (N of each): no
                                         byte back, closed in [LO, HI] ms as a uniform delay
                                         would be, every kind the same way; a table
    v2-flight HOST PORT --key HEX [--age S] [--kind tunnel|handover] [--expect-server [--socks]]
                                         a client first flight made here from PROTOCOL-v2.md
                                         (python3-cryptography), dated now - S; without
                                         --expect-server print the probes' JSON; with it, the
                                         peer must answer with an authentic server flight
                                         (and, --socks, a SOCKS5 method reply in a DATA record)
    v2-open FILE --key HEX               parse the client first flight at the start of a
                                         recording; print JSON: its length, kind, time, padding
(replay, v2-probe and v2-flight take --parallel N: N connections at once, one JSON line each)

This file is the command line (argparse and dispatch); the subcommands live next
to it: tools_net.py (servers, clients, probers), tools_http.py (clients that
expect a close), tools_v1.py (the v1 spec peers), tools_relay.py (relays, pace),
tools_v2.py (v2 probers and flights), tools_common.py (what they share).
"""

import argparse
import socket
import sys

from tools_common import die
from tools_http import cmd_expect_close, cmd_expect_status, cmd_halfclose_http
from tools_net import (cmd_blackhole, cmd_echo_roundtrip, cmd_echo_server, cmd_exec_sigdefault,
                       cmd_free_ports, cmd_halfclose_echo, cmd_has_ipv6, cmd_hold, cmd_probe, cmd_socks5_refused,
                       cmd_slow_socks_get, cmd_socks5_optimistic, cmd_stall_socks5)
from tools_relay import cmd_bitflip_relay, cmd_capture_relay, cmd_pace, cmd_reset_relay
from tools_v1 import (cmd_fake_tunnel, cmd_orig_dialer, cmd_orig_mux_acceptor, cmd_orig_socks_remote,
                      cmd_spec_acceptor, cmd_spec_dialer,
                      cmd_spec_mux_dialer)
from tools_v2 import cmd_probe_stats, cmd_replay, cmd_v2_flight, cmd_v2_open, cmd_v2_probe


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)

    p = sub.add_parser("free-ports")
    p.add_argument("n", type=int)
    p.add_argument("--v6", action="store_true")
    p.set_defaults(fn=cmd_free_ports)

    p = sub.add_parser("has-ipv6")
    p.set_defaults(fn=cmd_has_ipv6)

    p = sub.add_parser("echo-server")
    p.add_argument("--bind", default="127.0.0.1")
    p.add_argument("--port-file", required=True)
    p.set_defaults(fn=cmd_echo_server)

    p = sub.add_parser("halfclose-echo")
    p.add_argument("host")
    p.add_argument("port", type=int)
    p.add_argument("size", type=int)
    p.add_argument("--timeout", type=float, default=30)
    p.set_defaults(fn=cmd_halfclose_echo)

    p = sub.add_parser("echo-roundtrip")
    p.add_argument("host")
    p.add_argument("port", type=int)
    p.add_argument("size", type=int)
    p.add_argument("--timeout", type=float, default=30)
    p.set_defaults(fn=cmd_echo_roundtrip)

    p = sub.add_parser("halfclose-http")
    p.add_argument("host")
    p.add_argument("port", type=int)
    p.add_argument("path")
    p.add_argument("sha")
    p.add_argument("--timeout", type=float, default=30)
    p.set_defaults(fn=cmd_halfclose_http)

    for name, fn in (("expect-close", cmd_expect_close), ("expect-status", cmd_expect_status)):
        p = sub.add_parser(name)
        p.add_argument("host")
        p.add_argument("port", type=int)
        if name == "expect-status":
            p.add_argument("code", type=int)
        g = p.add_mutually_exclusive_group(required=True)
        g.add_argument("--hex")
        g.add_argument("--text", help="backslash escapes allowed, e.g. \\r\\n")
        if name == "expect-close":
            p.add_argument("--shut", action="store_true", help="half-close after sending")
            g.add_argument("--random", type=int, metavar="N")
            g.add_argument("--line", type=int, metavar="N",
                           help="a request line with an N-byte path and no end of head")
        p.add_argument("--timeout", type=float, default=10)
        p.set_defaults(fn=fn)

    p = sub.add_parser("slow-socks-get")
    p.add_argument("proxy_port", type=int)
    p.add_argument("host")
    p.add_argument("port", type=int)
    p.add_argument("path")
    p.add_argument("--sha", required=True)
    p.add_argument("--rate", type=float, required=True, help="bytes/s at most")
    p.add_argument("--timeout", type=float, default=60)
    p.set_defaults(fn=cmd_slow_socks_get)

    p = sub.add_parser("stall-socks5")
    p.add_argument("proxy_port", type=int)
    p.add_argument("host")
    p.add_argument("port", type=int)
    p.add_argument("path")
    p.add_argument("--ready-file", required=True)
    p.add_argument("--hold", type=float, default=120)
    p.set_defaults(fn=cmd_stall_socks5)

    p = sub.add_parser("socks5-refused")
    p.add_argument("proxy_port", type=int)
    p.add_argument("host")
    p.add_argument("port", type=int)
    p.add_argument("--timeout", type=float, default=10)
    p.set_defaults(fn=cmd_socks5_refused)

    p = sub.add_parser("socks5-optimistic")
    p.add_argument("proxy_port", type=int)
    p.add_argument("host")
    p.add_argument("port", type=int)
    p.add_argument("--expect", choices=("reset", "data"), required=True)
    p.add_argument("--timeout", type=float, default=10)
    p.set_defaults(fn=cmd_socks5_optimistic)

    p = sub.add_parser("hold")
    p.add_argument("host")
    p.add_argument("port", type=int)
    p.add_argument("--hex", required=True)
    p.add_argument("--ready-file", required=True)
    p.add_argument("--hold", type=float, default=120)
    p.set_defaults(fn=cmd_hold)

    p = sub.add_parser("blackhole")
    p.add_argument("--port-file", required=True)
    p.add_argument("--hold", type=float, default=120)
    p.set_defaults(fn=cmd_blackhole)

    p = sub.add_parser("exec-sigdefault")
    p.add_argument("prog")
    p.add_argument("args", nargs=argparse.REMAINDER)
    p.set_defaults(fn=cmd_exec_sigdefault)

    p = sub.add_parser("probe")
    p.add_argument("host")
    p.add_argument("port", type=int)
    p.add_argument("--random", type=int, metavar="N", default=0)
    p.add_argument("--silent", type=float, required=True)
    p.add_argument("--close-by", type=float)
    p.set_defaults(fn=cmd_probe)

    p = sub.add_parser("fake-tunnel")
    p.add_argument("host")
    p.add_argument("port", type=int)
    p.add_argument("--key", required=True, help="the wormhole key in hex")
    p.add_argument("--expect-frame", action="store_true")
    p.add_argument("--first", type=float, default=5, help="seconds to wait for that frame")
    p.add_argument("--garbage", type=int, default=4096)
    p.add_argument("--timeout", type=float, default=10)
    p.set_defaults(fn=cmd_fake_tunnel)

    p = sub.add_parser("spec-mux-dialer")
    p.add_argument("host")
    p.add_argument("port", type=int)
    p.add_argument("--key", required=True)
    p.add_argument("--origin", type=int, required=True, help="the origin's port on 127.0.0.1")
    p.add_argument("--requests", type=int, default=20)
    p.add_argument("--hold", type=float, default=0, help="keep the tunnel open S s after")
    p.set_defaults(fn=cmd_spec_mux_dialer)

    p = sub.add_parser("orig-dialer")
    p.add_argument("host")
    p.add_argument("port", type=int)
    p.add_argument("--key", required=True)
    p.add_argument("--origin", type=int, required=True, help="the origin's port on 127.0.0.1")
    p.add_argument("--file", help="the origin's /file/NAME")
    p.add_argument("--path", help="or this path (e.g. /noclen/N)")
    p.add_argument("--sha", required=True, help="its sha256")
    p.add_argument("--parallel", type=int, default=20)
    p.add_argument("--rate", type=float, default=4e6, help="what its pipeline delivers, bytes/s")
    p.add_argument("--timeout", type=float, default=20)
    p.set_defaults(fn=cmd_orig_dialer)

    p = sub.add_parser("orig-mux-acceptor")
    p.add_argument("--port", type=int, required=True, help="the main port (wormhole_remote)")
    p.add_argument("--key", required=True)
    p.add_argument("--relay", type=int, required=True, help="the target's port on 127.0.0.1")
    p.add_argument("--seconds", type=float, default=60)
    p.add_argument("--ready-file")
    p.set_defaults(fn=cmd_orig_mux_acceptor)

    p = sub.add_parser("spec-dialer")
    p.add_argument("host")
    p.add_argument("port", type=int)
    p.add_argument("--extra", required=True, help="the extra ports, comma-separated")
    p.add_argument("--key", required=True, help="the wormhole key in hex")
    p.add_argument("--handovers", type=int, default=5)
    p.add_argument("--bytes", type=int, default=65536, help="bytes in flight at each handover")
    p.add_argument("--orig-handover", action="store_true",
                   help="after HO_COMPLETE_L2R as the original: dies if S1 ends within 300 ms, "
                        "then writes to S1 until it ends")
    p.add_argument("--timeout", type=float, default=10)
    p.set_defaults(fn=cmd_spec_dialer)

    p = sub.add_parser("spec-acceptor")
    p.add_argument("--port", type=int, required=True, help="the main port (wormhole_remote)")
    p.add_argument("--extra", type=int, required=True, help="the extra port")
    p.add_argument("--client-port", type=int, required=True, help="the dialer's users port")
    p.add_argument("--key", required=True, help="the wormhole key in hex")
    p.add_argument("--seconds", type=float, default=5, help="how long the client sends")
    p.add_argument("--min-handovers", type=int, default=3)
    p.add_argument("--fin-during-handover", action="store_true",
                   help="the client half-closes while the dialer waits for the last HO_R2L")
    p.add_argument("--orig-hold", type=float, default=0,
                   help="ms after HO_R2L in which echoing anything fails, as the original loses it")
    p.add_argument("--burst", type=float, default=0,
                   help="the client sends for S s at the start and after each handover only")
    p.add_argument("--ready-file")
    p.add_argument("--timeout", type=float, default=15)
    p.set_defaults(fn=cmd_spec_acceptor)

    p = sub.add_parser("orig-socks-remote")
    p.add_argument("port", type=int, help="the main port (wormhole_remote)")
    p.add_argument("--key", required=True, help="the wormhole key in hex")
    p.add_argument("--ready-file")
    p.set_defaults(fn=cmd_orig_socks_remote)

    for name, fn in (("capture-relay", cmd_capture_relay), ("bitflip-relay", cmd_bitflip_relay)):
        p = sub.add_parser(name)
        p.add_argument("listen", type=int, help="the port to listen on (0: any, see --port-file)")
        p.add_argument("target", help="PORT or 127.0.0.1:PORT to relay to")
        if name == "capture-relay":
            p.add_argument("--out", required=True, help="connection N's client bytes go to OUT.N")
            p.add_argument("--timed", action="store_true",
                           help="also OUT.N.s2c and OUT.N.log (direction, time, length per chunk)")
        else:
            p.add_argument("offset", type=int, help="the byte to change")
            p.add_argument("--bit", type=int, default=0, choices=range(8))
            p.add_argument("--direction", choices=("s2c", "c2s"), default="s2c",
                           help="the stream to change: server->client (default) or back")
            p.add_argument("--only", type=int, default=0,
                           help="change only connection N (1, 2, ... in accept order; 0: all)")
        p.add_argument("--port-file", help="where to write the listening port once ready")
        p.add_argument("--seconds", type=float, default=0, help="stop after S s (0: never)")
        p.set_defaults(fn=fn)

    p = sub.add_parser("pace")
    p.add_argument("file")
    p.add_argument("rate", type=float, help="bytes per second")
    p.set_defaults(fn=cmd_pace)

    p = sub.add_parser("reset-relay")
    p.add_argument("listen", type=int, help="the port to listen on (0: any, see --port-file)")
    p.add_argument("target", help="PORT or 127.0.0.1:PORT to relay to")
    p.add_argument("--after", type=int, default=0,
                   help="cut a connection once its DIRECTION carried N bytes (0: only on SIGUSR1)")
    p.add_argument("--direction", choices=("s2c", "c2s"), default="s2c")
    p.add_argument("--only", type=int, default=0,
                   help="--after applies to connection N only (1, 2, ... in accept order; 0: all)")
    p.add_argument("--port-file", help="where to write the listening port once ready")
    p.add_argument("--seconds", type=float, default=0, help="stop after S s (0: never)")
    p.set_defaults(fn=cmd_reset_relay)

    p = sub.add_parser("replay")
    p.add_argument("file")
    p.add_argument("host")
    p.add_argument("port", type=int)
    p.add_argument("--bytes", type=int, help="only the first N recorded bytes")
    p.add_argument("--wait", type=float, default=10, help="how long to wait for a close")
    p.add_argument("--parallel", type=int, default=1, help="N connections at once")
    p.set_defaults(fn=cmd_replay)

    p = sub.add_parser("v2-probe")
    p.add_argument("kind", help="random-N, zeros-N, flipped, v1-hello or v1-garbage-N")
    p.add_argument("--key", help="v1-hello, v1-garbage-N: the wormhole key in hex")
    p.add_argument("host")
    p.add_argument("port", type=int)
    p.add_argument("--file", help="flipped: the recorded flight")
    p.add_argument("--bytes", type=int, help="flipped: only the first N recorded bytes")
    p.add_argument("--offset", type=int, help="flipped: the byte to change")
    p.add_argument("--bit", type=int, default=0, choices=range(8))
    p.add_argument("--wait", type=float, default=10, help="how long to wait for a close")
    p.add_argument("--parallel", type=int, default=1, help="N connections at once")
    p.set_defaults(fn=cmd_v2_probe)

    p = sub.add_parser("probe-stats")
    p.add_argument("dir")
    p.add_argument("n", type=int, help="probes of each kind")
    p.add_argument("lo", type=int, help="the delay window's start, ms")
    p.add_argument("hi", type=int, help="the delay window's end, ms")
    p.add_argument("--late", type=int, default=1000, help="how late after hi a close may come, ms")
    p.add_argument("kinds", nargs="+")
    p.set_defaults(fn=cmd_probe_stats)

    p = sub.add_parser("v2-flight")
    p.add_argument("host")
    p.add_argument("port", type=int)
    p.add_argument("--key", required=True, help="the key in hex (any other: a wrong-key flight)")
    p.add_argument("--suite", choices=("aes-256-gcm", "chacha20-poly1305"), default="aes-256-gcm")
    p.add_argument("--kind", choices=("tunnel", "handover"), default="tunnel",
                   help="handover: with a random (unregistered) ID")
    p.add_argument("--age", type=int, default=0,
                   help="date the flight S seconds ago (negative: in the future)")
    p.add_argument("--pad", type=int, help="padding bytes (default: random 16..1023)")
    p.add_argument("--expect-server", action="store_true",
                   help="the peer must answer with an authentic server flight")
    p.add_argument("--socks", action="store_true",
                   help="with --expect-server: then a SOCKS5 greeting must get 05 00")
    p.add_argument("--wait", type=float, default=10, help="how long to wait for a close")
    p.add_argument("--parallel", type=int, default=1, help="N connections at once")
    p.set_defaults(fn=cmd_v2_flight)

    p = sub.add_parser("v2-open")
    p.add_argument("file")
    p.add_argument("--key", required=True)
    p.add_argument("--suite", choices=("aes-256-gcm", "chacha20-poly1305"), default="aes-256-gcm")
    p.set_defaults(fn=cmd_v2_open)

    args = ap.parse_args()
    try:
        args.fn(args)
    except socket.timeout:
        die("%s: timed out" % args.cmd)
    except OSError as e:
        die("%s: %s" % (args.cmd, e))
    return 0


if __name__ == "__main__":
    sys.exit(main())
