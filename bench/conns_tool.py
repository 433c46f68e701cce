#!/usr/bin/env python3
"""conns_tool — the two ends of bench/conns_bench.sh, on asyncio (epoll).

  echo PORTFILE            an echo server on 127.0.0.1 (port written to PORTFILE)
  clients PROXY ECHO N OUT [--sources K]
                           N SOCKS5 connections to the proxy at PROXY (host:port), each
                           a CONNECT to ECHO (host:port), 16 bytes echoed back; they are
                           held open until OUT.release exists (or 600 s). Writes one line
                           to OUT: "<ok> <failed> <seconds>" once all have been tried.
Every connection has its own timeouts, so nothing here waits for ever.
"""
import asyncio
import os
import resource
import socket
import struct
import sys
import time


def raise_nofile():
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


async def echo(portfile):
    async def serve(reader, writer):
        try:
            while True:
                data = await reader.read(4096)
                if not data:
                    break
                writer.write(data)
                await writer.drain()
        except OSError:
            pass
        writer.close()

    server = await asyncio.start_server(serve, "127.0.0.1", 0, backlog=4096)
    port = server.sockets[0].getsockname()[1]
    with open(portfile + ".tmp", "w") as f:
        f.write("%d\n" % port)
    os.rename(portfile + ".tmp", portfile)
    async with server:
        await server.serve_forever()


async def one(proxy, target, source, held):
    host, port = proxy
    payload = os.urandom(16)
    try:
        reader, writer = await asyncio.wait_for(
            asyncio.open_connection(host, port, local_addr=(source, 0)), 20)
    except (OSError, asyncio.TimeoutError):
        return False
    try:
        request = (b"\x05\x01\x00" + b"\x05\x01\x00\x01" + socket.inet_aton(target[0])
                   + struct.pack(">H", target[1]) + payload)
        writer.write(request)
        want = 2 + 10 + len(payload)
        got = await asyncio.wait_for(reader.readexactly(want), 60)
        if got[:2] != b"\x05\x00" or got[2:4] != b"\x05\x00" or got[-16:] != payload:
            writer.close()
            return False
    except (OSError, asyncio.TimeoutError, asyncio.IncompleteReadError):
        writer.close()
        return False
    held.append(writer)
    return True


async def clients(proxy, target, n, out, sources):
    held = []
    start = time.monotonic()
    srcs = ["127.0.0.%d" % (2 + i) for i in range(sources)]
    sem = asyncio.Semaphore(512)        # connections being set up at once

    async def guarded(i):
        async with sem:
            return await one(proxy, target, srcs[i % len(srcs)], held)

    results = await asyncio.gather(*(guarded(i) for i in range(n)))
    ok = sum(results)
    with open(out + ".tmp", "w") as f:
        f.write("%d %d %.1f\n" % (ok, n - ok, time.monotonic() - start))
    os.rename(out + ".tmp", out)
    deadline = time.monotonic() + 600
    while not os.path.exists(out + ".release") and time.monotonic() < deadline:
        await asyncio.sleep(0.2)
    for w in held:
        w.close()


def hostport(text):
    host, _, port = text.rpartition(":")
    return host, int(port)


def main():
    raise_nofile()
    if sys.argv[1] == "echo":
        asyncio.run(echo(sys.argv[2]))
    elif sys.argv[1] == "clients":
        sources = 1
        if "--sources" in sys.argv:
            sources = int(sys.argv[sys.argv.index("--sources") + 1])
        asyncio.run(clients(hostport(sys.argv[2]), hostport(sys.argv[3]), int(sys.argv[4]),
                            sys.argv[5], sources))
    else:
        sys.exit("usage: conns_tool.py echo PORTFILE | clients PROXY ECHO N OUT [--sources K]")


if __name__ == "__main__":
    main()
