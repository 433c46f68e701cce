#!/usr/bin/python3
"""gen_tls_vectors — golden vectors for v2's TLS-shaped wire (docs/PROTOCOL-v2.md
section 9), computed from the specification alone, independently of the C
code, with gen_v2_vectors' key schedule and AEADs (python3-cryptography):

  - records: 17 03 03 || len(C || T) as the AAD, then the AEAD output;
  - the client's ClientHello (517 bytes with the default name), built field
    by field from section 9, carrying cs and the sealed HELLO B;
  - the client's records 1 (the Finished-sized PADDING) and 2 (DATA "GET /");
  - the server's ServerHello carrying ss and S, and its record 1 (the
    EncryptedExtensions-sized PADDING).

The key share's last byte is random on the wire; here it is 00 (the C test
puts its own byte there before comparing). Each sealed HELLO is opened again
before anything is written. Writes test/vectors/tls_vectors.h:

    /usr/bin/python3 test/vectors/gen_tls_vectors.py [OUTPUT]
"""
import os
import struct
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from gen_v2_vectors import (CS, HELLO, K32, KIND_SERVER, KIND_TUNNEL, PADDING, DATA, SS,  # noqa: E402
                            SUITES, TIME_CLIENT, TIME_SERVER, aead, c_array, derive_c2s,
                            derive_s2c, hello_body, nonce)

SNI = b"www.example.com"


def u16(n):
    return struct.pack(">H", n)


def seal_tls(suite, dirkey, i, rtype, body):
    plain = bytes([rtype]) + body
    head = b"\x17\x03\x03" + u16(len(plain) + 16)
    return head + aead(suite, dirkey[:32]).encrypt(nonce(i), plain, head)


def open_tls(suite, dirkey, i, wire):
    head = wire[:5]
    assert head[:3] == b"\x17\x03\x03"
    length = struct.unpack(">H", head[3:5])[0]
    plain = aead(suite, dirkey[:32]).decrypt(nonce(i), bytes(wire[5:5 + length]), bytes(head))
    return plain[0], plain[1:]


def ext(etype, body):
    return u16(etype) + u16(len(body)) + body


def client_hello(random, blob, sni):
    suites = bytes.fromhex("130213031301c02cc030009fcca9cca8ccaac02bc02f009ec024c028006bc023c027"
                           "0067c00ac0140039c009c0130033009d009c003d003c0035002f00ff")
    sigalgs = bytes.fromhex("040305030603080708080809080a080b080408050806040105010601030303010302"
                            "040205020602")
    groups = bytes.fromhex("001d0017001e0019001801000101010201030104")
    alpn = b"\x08http/1.1"
    exts = ext(0, u16(len(sni) + 3) + b"\x00" + u16(len(sni)) + sni)
    exts += ext(11, b"\x03\x00\x01\x02")
    exts += ext(10, u16(len(groups)) + groups)
    exts += ext(35, b"")
    exts += ext(16, u16(len(alpn)) + alpn)
    exts += ext(22, b"") + ext(23, b"")
    exts += ext(13, u16(len(sigalgs)) + sigalgs)
    exts += ext(43, b"\x08\x03\x04\x03\x03\x03\x02\x03\x01")
    exts += ext(45, b"\x01\x01")
    share = u16(0x1d) + u16(32) + blob[32:63] + b"\x00"
    exts += ext(51, u16(len(share)) + share)
    body = b"\x03\x03" + random + b"\x20" + blob[:32] + u16(len(suites)) + suites + b"\x01\x00"
    hs_len = 4 + len(body) + 2 + len(exts)
    if 0xff < hs_len < 0x200:                   # OpenSSL's padding to 512
        pad = 0x200 - hs_len - 4 if 0x200 - hs_len >= 4 else 0
        exts += ext(21, bytes(pad))
    body += u16(len(exts)) + exts
    hs = b"\x01" + struct.pack(">I", len(body))[1:] + body
    return b"\x16\x03\x01" + u16(len(hs)) + hs


def server_hello(random, sid, blob):
    share = u16(0x1d) + u16(32) + blob + b"\x00"
    exts = ext(43, b"\x03\x04") + ext(51, share)
    body = b"\x03\x03" + random + b"\x20" + sid + b"\x13\x02\x00" + u16(len(exts)) + exts
    hs = b"\x02" + struct.pack(">I", len(body))[1:] + body
    return b"\x16\x03\x03" + u16(len(hs)) + hs


def compute(suite):
    c2s, s2c = derive_c2s(K32, CS), derive_s2c(K32, SS, CS)
    b = seal_tls(suite, c2s, 0, HELLO, hello_body(KIND_TUNNEL, TIME_CLIENT, None, 36))[5:]
    assert len(b) == 63
    rtype, body = open_tls(suite, c2s, 0, b"\x17\x03\x03\x00\x3f" + b)
    assert rtype == HELLO and body[:2] == bytes([2, KIND_TUNNEL])
    ch = client_hello(CS, b, SNI)
    assert len(ch) == 517
    s = seal_tls(suite, s2c, 0, HELLO, hello_body(KIND_SERVER, TIME_SERVER, None, 4))[5:]
    assert len(s) == 31
    rtype, body = open_tls(suite, s2c, 0, b"\x17\x03\x03\x00\x1f" + s)
    assert rtype == HELLO and body[:2] == bytes([2, KIND_SERVER])
    sh = server_hello(SS, b[:32], s)
    assert len(sh) == 127
    return {
        "CLIENT_HELLO": ch,
        "C2S_FINISHED": seal_tls(suite, c2s, 1, PADDING, bytes(52)),
        "C2S_DATA": seal_tls(suite, c2s, 2, DATA, b"GET /"),
        "SERVER_HELLO": sh,
        "S2C_EE": seal_tls(suite, s2c, 1, PADDING, bytes(25)),   # 42 sealed: ALPN http/1.1
    }


def main():
    out = ["/*  tls_vectors — golden vectors of v2's TLS-shaped wire (docs/PROTOCOL-v2.md",
           "    section 9) from test/vectors/gen_tls_vectors.py, not from the C code.",
           "    GENERATED: do not edit. K32, cs, ss and the times of v2_vectors.h; the",
           "    key shares' last byte 00; client HELLO padding 36, server 4. */",
           "#ifndef MK_TLS_VECTORS_H", "#define MK_TLS_VECTORS_H", "#include <stdint.h>",
           "#ifndef V2V_UNUSED", "#define V2V_UNUSED __attribute__ ((unused))", "#endif", ""]
    for name, cname in SUITES:
        tag = cname.replace("V2_", "")
        for key, data in compute(name).items():
            out.append(c_array("TLSV_%s_%s" % (tag, key), data, "%s, %s" % (name, key.lower())))
            out.append("")
    out.append("#endif")
    path = sys.argv[1] if len(sys.argv) > 1 else os.path.join(
        os.path.dirname(os.path.abspath(__file__)), "tls_vectors.h")
    with open(path + ".tmp", "w") as f:
        f.write("\n".join(out) + "\n")
    os.rename(path + ".tmp", path)
    print("gen_tls_vectors: wrote %s" % path)


if __name__ == "__main__":
    main()
