#!/usr/bin/env python3
"""delay_relay — a TCP relay that holds every chunk DELAY_MS milliseconds in
each direction before passing it on, in order, ends included, and a new
connection's first bytes one round trip more (its handshake): the link
between a proxy's two ends as a wide-area path (RTT 2 x DELAY_MS) on one
machine, without touching the machine's own loopback (no tc/netem).

Usage: delay_relay.py LISTEN_PORT TARGET_PORT DELAY_MS   (127.0.0.1 both)
For latency benches: Python caps the relay's throughput."""

import asyncio
import socket
import sys


async def pump(reader, writer, delay):
    loop = asyncio.get_running_loop()
    try:
        while True:
            data = await reader.read(65536)
            if not data:
                loop.call_later(delay, s_eof, writer)
                return
            loop.call_later(delay, writer.write, data)
    except (ConnectionError, OSError):
        loop.call_later(delay, writer.close)


def s_eof(writer):
    try:
        if writer.can_write_eof():
            writer.write_eof()
    except (ConnectionError, OSError):
        pass


async def serve(target, delay, reader, writer):
    #  A new connection's handshake: no byte passes before a round trip
    #  (SYN, SYN-ACK) would have gone by. (The client's connect() itself
    #  returns at once: the relay's kernel accepts it.)
    await asyncio.sleep(2 * delay)
    try:
        up_reader, up_writer = await asyncio.open_connection("127.0.0.1", target)
    except OSError:
        writer.close()
        return
    for w in (writer, up_writer):
        w.get_extra_info("socket").setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    await asyncio.gather(pump(reader, up_writer, delay), pump(up_reader, writer, delay))
    await asyncio.sleep(delay * 2)
    for w in (writer, up_writer):
        w.close()


async def main():
    listen, target, delay = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3]) / 1000
    server = await asyncio.start_server(lambda r, w: serve(target, delay, r, w), "127.0.0.1", listen)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    asyncio.run(main())
