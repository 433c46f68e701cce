"""delay_relay LISTEN TARGET MS: a TCP relay on 127.0.0.1 that passes each direction's
bytes on MS milliseconds after they came (order kept), for bench/stealth/rtt_bench.sh."""
import asyncio, sys
LISTEN, TARGET, DELAY = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3]) / 1000
async def pipe(r, w):
    loop = asyncio.get_running_loop()
    q = asyncio.Queue()
    async def sender():
        while True:
            t, d = await q.get()
            await asyncio.sleep(max(0, t - loop.time()))
            if d is None:
                w.close(); return
            w.write(d); await w.drain()
    s = asyncio.create_task(sender())
    while True:
        d = await r.read(65536)
        q.put_nowait((loop.time() + DELAY, d or None))
        if not d: break
    await s
async def handle(r1, w1):
    r2, w2 = await asyncio.open_connection('127.0.0.1', TARGET)
    await asyncio.gather(pipe(r1, w2), pipe(r2, w1), return_exceptions=True)
async def main():
    srv = await asyncio.start_server(handle, '127.0.0.1', LISTEN)
    async with srv: await srv.serve_forever()
asyncio.run(main())
