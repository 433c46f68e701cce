#!/usr/bin/env python3
"""gen_mux_vectors -- golden bytes for the aggregated-mode mux frames (nodes/mux.c).

Computed independently of the C encoder, with struct.pack, following the
original Erlang mimicsocks (mimicsocks_local_agg:send_data/3):

    send_data(_, _, <<>>)                      -> nothing
    size(Bin) < 256    -> <<4, Id:16/big, Len:8,       Bin/binary>>   SMALL_DATA
    size(Bin) < 65536  -> <<3, Id:16/big, Len:16/big,  Bin/binary>>   DATA
    otherwise          -> <<3, Id:16/big, 65535:16/big, First65535/binary>>,
                          then the rest the same way

so SMALL_DATA is used for exactly the payloads of 1..255 bytes. Control
frames are <<1, Id:16/big>> (NEW_SOCKET) and <<2, Id:16/big>> (CLOSE_SOCKET);
padding is <<0, 0:16, Len:8, Len zero bytes>>.

The sequence: NEW 1, DATA 1 "hello", DATA 1 with 255 / 256 / 65535 / 65536 /
200000 bytes (byte i is i % 251), CLOSE 1, NOP padding of 3 zero bytes.

Prints, for each step, the length, the sha256 and the first bytes of its
frames (all of them when short), then the same for the whole stream; the
values are pasted into test/unit/test_mux.c.

Usage: python3 test/vectors/gen_mux_vectors.py
"""
import hashlib
import struct

ID = 1


def pattern(n):
    return bytes(i % 251 for i in range(n))


def new_socket(sid):
    return struct.pack(">BH", 1, sid)


def close_socket(sid):
    return struct.pack(">BH", 2, sid)


def padding(n):
    return struct.pack(">BHB", 0, 0, n) + bytes(n)


def data(sid, payload):
    out = b""
    while payload:
        piece, payload = payload[:65535], payload[65535:]
        if len(piece) < 256:
            out += struct.pack(">BHB", 4, sid, len(piece)) + piece
        else:
            out += struct.pack(">BHH", 3, sid, len(piece)) + piece
    return out


def frame_starts(sid, n):
    """(offset, header bytes) of every frame data(sid, n bytes) produces."""
    starts, off = [], 0
    while n:
        piece = min(n, 65535)
        hdr = 4 if piece < 256 else 5
        starts.append(off)
        off += hdr + piece
        n -= piece
    return starts


STEPS = [
    ("new 1", new_socket(ID)),
    ("data 1 hello", data(ID, b"hello")),
    ("data 1 x255", data(ID, pattern(255))),
    ("data 1 x256", data(ID, pattern(256))),
    ("data 1 x65535", data(ID, pattern(65535))),
    ("data 1 x65536", data(ID, pattern(65536))),
    ("data 1 x200000", data(ID, pattern(200000))),
    ("close 1", close_socket(ID)),
    ("nop 3", padding(3)),
]


def c_bytes(b):
    return ", ".join("0x%02x" % x for x in b)


def main():
    for name, frames in STEPS:
        print("%-16s len %6d  sha256 %s" % (name, len(frames), hashlib.sha256(frames).hexdigest()))
        if len(frames) <= 16:
            print("    { %s }" % c_bytes(frames))
        else:
            print("    head { %s }" % c_bytes(frames[:8]))
    for n in (65536, 200000):
        frames = data(ID, pattern(n))
        for off in frame_starts(ID, n):
            print("    x%d frame at %6d: { %s }" % (n, off, c_bytes(frames[off:off + 5])))
    stream = b"".join(frames for _, frames in STEPS)
    print("%-16s len %6d  sha256 %s" % ("whole stream", len(stream), hashlib.sha256(stream).hexdigest()))


if __name__ == "__main__":
    main()
