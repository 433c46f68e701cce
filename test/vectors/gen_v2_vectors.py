#!/usr/bin/python3
"""gen_v2_vectors — golden vectors for wire protocol v2 (docs/PROTOCOL-v2.md),
computed from the specification alone, independently of the C code:

  - HKDF-SHA256 (section 2): cryptography's HKDF (extract then expand);
  - ID(n) (section 5): the stdlib's hmac/hashlib;
  - records (section 3): cryptography's AESGCM / ChaCha20Poly1305 for the
    AEAD; the length masks from AES-256 in ECB mode over one block
    nonce(i) || 00000000, and from the ChaCha20 block function with block
    counter 0 (cryptography's ChaCha20 takes a 16-byte nonce: a 4-byte
    little-endian counter, then the 12-byte nonce), first 2 bytes;
  - first flights (section 4): salt || record 0, a HELLO.

Before writing anything the script checks its primitives against published
vectors (RFC 5869 A.1, FIPS-197 C.3, RFC 8439 2.3.2), and opens again every
record and parses every flight it made, with an opener written separately
from the sealer (unmask, range check, AEAD decrypt with aad = ML).

Writes the C header test/vectors/v2_vectors.h (committed; read by
test/unit/test_v2.c). Regenerate with

    apt-get install -y python3-cryptography     # Debian's package
    /usr/bin/python3 test/vectors/gen_v2_vectors.py [OUTPUT]

(OUTPUT defaults to v2_vectors.h next to this script). The output is
deterministic: every input is fixed below.
"""
import hashlib
import hmac
import os
import struct
import sys

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM, ChaCha20Poly1305
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

# -- the fixed inputs ---------------------------------------------------------

K32 = bytes(range(0x00, 0x20))                  # a 32-byte K: 00 01 .. 1f
K16 = bytes(range(0x80, 0x90))                  # a 16-byte K: 80 81 .. 8f
CS = bytes(range(0xa0, 0xc0))                   # the client salt of the tunnel
SS = bytes(range(0xc0, 0xe0))                   # the server salt (its reply)
CS_HO = bytes(range(0x30, 0x50))                # the client salt of handover connection 1
TIME_CLIENT = 1700000000                        # the HELLO times (Unix seconds)
TIME_SERVER = 1700000007
TIME_HO = 1700000100

SUITES = (("aes-256-gcm", "V2_AES_256_GCM"), ("chacha20-poly1305", "V2_CHACHA20_POLY1305"))

DATA, HELLO, PADDING, COMMAND = 0, 1, 2, 3
KIND_TUNNEL, KIND_HANDOVER, KIND_SERVER = 1, 2, 3
RECORD_MAX = 16384
HIGH_N = (1 << 32) + 5                          # a record number past 32 bits


def pattern(n):
    """The 16383-byte body (and any long body): byte j is (j * 31 + 7) mod 256."""
    return bytes((j * 31 + 7) & 0xff for j in range(n))


# The record sequence sealed from record 0 under c2s of (K32, CS), per suite:
# (type, body).
SEQUENCE = (
    (DATA, b""),
    (DATA, b"\x5a"),
    (DATA, bytes(range(100))),
    (DATA, pattern(RECORD_MAX - 1)),
    (PADDING, bytes(30)),
    (COMMAND, b"\x02"),
    (COMMAND, b"\x04" + bytes(7)),
)
HIGH_BODY = b"hello, 2^32+5"                    # a DATA record sealed at nonce(HIGH_N)

# -- the primitives, from the spec ------------------------------------------


def hkdf(ikm, salt, info, length):
    return HKDF(algorithm=hashes.SHA256(), length=length, salt=salt, info=info).derive(ikm)


def derive_c2s(k, cs):
    return hkdf(k, cs, b"mimicsocks v2 c2s", 64)


def derive_s2c(k, ss, cs):
    return hkdf(k, ss, b"mimicsocks v2 s2c" + cs, 64)


def derive_hk(k, cs, ss):
    return hkdf(k, cs, b"mimicsocks v2 handover" + ss, 32)


def handover_id(hk, n):
    return hmac.new(hk, b"id" + struct.pack(">Q", n), hashlib.sha256).digest()[:16]


def nonce(i):
    return bytes(4) + struct.pack(">Q", i)


def aes_block(key, block):
    enc = Cipher(algorithms.AES(key), modes.ECB()).encryptor()
    return enc.update(block) + enc.finalize()


def chacha20_block(key, counter, nonce12):
    nonce16 = struct.pack("<I", counter) + nonce12
    enc = Cipher(algorithms.ChaCha20(key, nonce16), mode=None).encryptor()
    return enc.update(bytes(64))


def mask(suite, mask_key, i):
    if suite == "aes-256-gcm":
        return aes_block(mask_key, nonce(i) + bytes(4))[:2]
    return chacha20_block(mask_key, 0, nonce(i))[:2]


def aead(suite, aead_key):
    return AESGCM(aead_key) if suite == "aes-256-gcm" else ChaCha20Poly1305(aead_key)


def seal(suite, dirkey, i, rtype, body):
    plain = bytes([rtype]) + body
    assert 1 <= len(plain) <= RECORD_MAX
    m = mask(suite, dirkey[32:], i)
    ml = bytes(a ^ b for a, b in zip(struct.pack(">H", len(plain)), m))
    return ml + aead(suite, dirkey[:32]).encrypt(nonce(i), plain, ml)


def hello_body(kind, time, ident, padlen):
    body = bytes([2, kind]) + struct.pack(">Q", time)
    if kind == KIND_HANDOVER:
        assert len(ident) == 16
        body += ident
    return body + bytes(padlen)


def flight(suite, k, salt, cs, kind, time, ident, padlen):
    dirkey = derive_s2c(k, salt, cs) if kind == KIND_SERVER else derive_c2s(k, salt)
    return salt + seal(suite, dirkey, 0, HELLO, hello_body(kind, time, ident, padlen))


# -- a separate opener, for the self-check ----------------------------------


def open_record(suite, dirkey, i, wire):
    """Opens the record at the start of wire: (type, body, bytes used)."""
    m = mask(suite, dirkey[32:], i)
    ml = wire[:2]
    length = ((ml[0] ^ m[0]) << 8) | (ml[1] ^ m[1])
    if not 1 <= length <= RECORD_MAX:
        raise ValueError("length %d out of range" % length)
    end = 2 + length + 16
    if len(wire) < end:
        raise ValueError("truncated")
    plain = aead(suite, dirkey[:32]).decrypt(nonce(i), bytes(wire[2:end]), bytes(ml))
    return plain[0], plain[1:], end


def parse_flight(suite, k, wire, kind, cs=None):
    salt = wire[:32]
    dirkey = derive_s2c(k, salt, cs) if kind == KIND_SERVER else derive_c2s(k, salt)
    rtype, body, used = open_record(suite, dirkey, 0, wire[32:])
    need = 10 + (16 if kind == KIND_HANDOVER else 0)
    if rtype != HELLO or len(body) < need or body[0] != 2 or body[1] != kind:
        raise ValueError("not a HELLO of kind %d" % kind)
    time = struct.unpack(">Q", body[2:10])[0]
    ident = body[10:26] if kind == KIND_HANDOVER else None
    return salt, time, ident, len(body) - need, 32 + used


def selftest_primitives():
    okm = hkdf(b"\x0b" * 22, bytes(range(13)), bytes(range(0xf0, 0xfa)), 42)
    assert okm.hex() == ("3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf"
                         "34007208d5b887185865"), "HKDF differs from RFC 5869 A.1"
    ct = aes_block(bytes(range(32)), bytes.fromhex("00112233445566778899aabbccddeeff"))
    assert ct.hex() == "8ea2b7ca516745bfeafc49904b496089", "AES-256 differs from FIPS-197 C.3"
    block = chacha20_block(bytes(range(32)), 1, bytes.fromhex("000000090000004a00000000"))
    assert block[:16].hex() == "10f1e7e4d13b5915500fdd1fa32071c4", \
        "the ChaCha20 block differs from RFC 8439 2.3.2"
    # The Poly1305 key of ChaCha20-Poly1305 is block 0 of the same key and
    # nonce: the AEAD's tag depends on exactly the keystream the mask uses,
    # so a wrong counter convention here would show as mismatching tags in C.


# -- computing the vectors --------------------------------------------------


def compute():
    v = {"keys": [], "suites": []}
    for k in (K32, K16):
        c2s, s2c, hk = derive_c2s(k, CS), derive_s2c(k, SS, CS), derive_hk(k, CS, SS)
        assert len({c2s, s2c}) == 2
        ids = [handover_id(hk, n) for n in (1, 2, (1 << 32) + 1)]
        v["keys"].append(dict(k=k, c2s=c2s, s2c=s2c, hk=hk, ids=ids))
    hk32 = v["keys"][0]["hk"]
    id1 = v["keys"][0]["ids"][0]
    for suite, cname in SUITES:
        c2s = v["keys"][0]["c2s"]
        s2c = v["keys"][0]["s2c"]
        s = dict(name=suite, cname=cname)
        ns = list(range(len(SEQUENCE))) + [HIGH_N]
        s["masks"] = [(n, nonce(n), mask(suite, c2s[32:], n)) for n in ns]
        recs = []
        for i, (rtype, body) in enumerate(SEQUENCE):
            wire = seal(suite, c2s, i, rtype, body)
            t, b, used = open_record(suite, c2s, i, wire)
            assert (t, b, used) == (rtype, body, len(wire))
            recs.append(dict(type=rtype, body=body, wire=wire))
        s["records"] = recs
        high = seal(suite, c2s, HIGH_N, DATA, HIGH_BODY)
        assert open_record(suite, c2s, HIGH_N, high)[:2] == (DATA, HIGH_BODY)
        s["high"] = high
        # The server's first DATA record after its flight (s2c record 1).
        s["s2c_rec1"] = seal(suite, s2c, 1, DATA, b"\x5a")
        assert open_record(suite, s2c, 1, s["s2c_rec1"])[:2] == (DATA, b"\x5a")

        flights = []

        def add(name, k, salt, cs, kind, time, ident, padlen):
            wire = flight(suite, k, salt, cs, kind, time, ident, padlen)
            got = parse_flight(suite, k, wire + b"\x00" * 7, kind, cs)
            assert got == (salt, time, ident, padlen, len(wire)), name
            size = 32 + 2 + 1 + 10 + (16 if kind == KIND_HANDOVER else 0) + padlen + 16
            assert len(wire) == size
            flights.append(dict(name=name, k=k, salt=salt, cs=cs, kind=kind, time=time,
                                ident=ident, padlen=padlen, wire=wire))

        add("tunnel16", K32, CS, None, KIND_TUNNEL, TIME_CLIENT, None, 16)
        add("tunnel100", K32, CS, None, KIND_TUNNEL, TIME_CLIENT, None, 100)
        add("tunnel0", K32, CS, None, KIND_TUNNEL, TIME_CLIENT, None, 0)
        add("tunnel16_k16", K16, CS, None, KIND_TUNNEL, TIME_CLIENT, None, 16)
        add("handover", K32, CS_HO, None, KIND_HANDOVER, TIME_HO, id1, 40)
        add("server", K32, SS, CS, KIND_SERVER, TIME_SERVER, None, 50)
        s["flights"] = flights
        # The client's first flight and the server's reply, the tunnel's start:
        # the client's record 1 is the sequence's record 1 (same c2s).
        assert flights[0]["wire"][:32] == CS

        # Malformed client flights (kind TUNNEL expected): authentic records 0
        # that are not valid HELLOs, and lengths out of range.
        bad = []
        ck = derive_c2s(K32, CS)
        tbody = hello_body(KIND_TUNNEL, TIME_CLIENT, None, 16)
        bad.append(("version3", CS + seal(suite, ck, 0, HELLO, bytes([3]) + tbody[1:])))
        bad.append(("version1", CS + seal(suite, ck, 0, HELLO, bytes([1]) + tbody[1:])))
        bad.append(("kind_server", CS + seal(suite, ck, 0, HELLO,
                                             hello_body(KIND_SERVER, TIME_CLIENT, None, 16))))
        bad.append(("kind_zero", CS + seal(suite, ck, 0, HELLO, bytes([2, 0]) + tbody[2:])))
        bad.append(("type_data", CS + seal(suite, ck, 0, DATA, tbody)))
        bad.append(("type_padding", CS + seal(suite, ck, 0, PADDING, tbody)))
        bad.append(("short9", CS + seal(suite, ck, 0, HELLO, tbody[:9])))
        bad.append(("empty_hello", CS + seal(suite, ck, 0, HELLO, b"")))
        m0 = mask(suite, ck[32:], 0)
        for name, length in (("len0", 0), ("len16385", RECORD_MAX + 1), ("len65535", 0xffff)):
            ml = bytes(a ^ b for a, b in zip(struct.pack(">H", length), m0))
            bad.append((name, CS + ml))
        for name, wire in bad:
            try:
                parse_flight(suite, K32, wire + bytes(RECORD_MAX + 16), KIND_TUNNEL)
            except (ValueError, Exception):
                continue
            sys.exit("the self-check accepted the malformed flight %s" % name)
        s["bad_tunnel"] = bad
        # A HANDOVER flight without its 16-byte id (kind HANDOVER expected).
        hk_body = bytes([2, KIND_HANDOVER]) + struct.pack(">Q", TIME_HO) + bytes(15)
        hkey = derive_c2s(K32, CS_HO)
        s["bad_handover"] = [
            ("handover_id_short", CS_HO + seal(suite, hkey, 0, HELLO, hk_body)),
            ("handover_no_id", CS_HO + seal(suite, hkey, 0, HELLO, hk_body[:10])),
        ]
        for name, wire in s["bad_handover"]:
            try:
                parse_flight(suite, K32, wire, KIND_HANDOVER)
            except ValueError:
                continue
            sys.exit("the self-check accepted %s" % name)
        # A server flight whose record 0 is DATA, not a HELLO (for the client).
        s["bad_server_data"] = SS + seal(suite, derive_s2c(K32, SS, CS), 0, DATA, b"\x5a")
        v["suites"].append(s)
    return v


# -- printing the header ----------------------------------------------------


def c_bytes(data, indent="    "):
    if not data:
        return indent + "0"
    lines = []
    for at in range(0, len(data), 12):
        lines.append(indent + ", ".join("0x%02x" % b for b in data[at:at + 12]) + ",")
    return "\n".join(lines)


def c_array(name, data, comment=None):
    out = []
    if comment:
        out.append("//  " + comment)
    out.append("static const uint8_t V2V_UNUSED %s[%d] = {" % (name, max(1, len(data))))
    out.append(c_bytes(data))
    out.append("};")
    return "\n".join(out)


HEADER = """\
/*  v2_vectors — golden vectors of wire protocol v2 (docs/PROTOCOL-v2.md),
    computed from the specification alone by test/vectors/gen_v2_vectors.py
    (python3-cryptography's HKDF, AESGCM, ChaCha20Poly1305, AES-ECB and
    ChaCha20; the stdlib's hmac), not from the C code. GENERATED: do not
    edit; regenerate with

        /usr/bin/python3 test/vectors/gen_v2_vectors.py

    Fixed inputs: K32 = 00..1f, K16 = 80..8f, cs = a0..bf, ss = c0..df, the
    handover connection's salt 30..4f; times 1700000000 (client),
    1700000007 (server), 1700000100 (handover). Bodies of the record
    sequence: see V2V_SEQUENCE; long bodies are v2v_pattern(j).
*/
#ifndef MK_V2_VECTORS_H
#define MK_V2_VECTORS_H

#include <stddef.h>
#include <stdint.h>

#include "nodes/v2_keys.h"

#define V2V_UNUSED __attribute__ ((unused))

//  Byte j of a long body: (j * 31 + 7) mod 256.
static inline uint8_t
v2v_pattern (size_t j)
{
    return (uint8_t) (j * 31 + 7);
}

#define V2V_TIME_CLIENT 1700000000ULL
#define V2V_TIME_SERVER 1700000007ULL
#define V2V_TIME_HO     1700000100ULL
#define V2V_HIGH_N      ((1ULL << 32) + 5)

typedef struct {
    const uint8_t *k;
    size_t klen;
    uint8_t c2s[64];            //  HKDF(K, cs, "mimicsocks v2 c2s")
    uint8_t s2c[64];            //  HKDF(K, ss, "mimicsocks v2 s2c" || cs)
    uint8_t hk[32];             //  HKDF(K, cs, "mimicsocks v2 handover" || ss)
    uint64_t id_n[3];
    uint8_t id[3][16];          //  ID(id_n[j])
} v2v_keys_t;

typedef struct {
    uint64_t n;
    uint8_t nonce[12];
    uint8_t mask[2];            //  under the mask_key of c2s (K32, cs)
} v2v_mask_t;

typedef struct {
    uint8_t type;
    size_t body_len;
    const uint8_t *body;        //  NULL: v2v_pattern
    size_t wire_len;
    const uint8_t *wire;        //  NULL: too long to print; see sha256/head/tail
    uint8_t sha256[32];         //  of the wire bytes
    uint8_t head[32], tail[32]; //  the first and last 32 wire bytes
} v2v_record_t;

typedef struct {
    const char *name;
    const uint8_t *k;
    size_t klen;
    const uint8_t *salt;
    const uint8_t *cs;          //  V2_KIND_SERVER: the client salt it is bound to
    int kind;
    uint64_t time;
    const uint8_t *id;          //  V2_KIND_HANDOVER
    size_t padlen;
    size_t wire_len;
    const uint8_t *wire;
} v2v_flight_t;

typedef struct {
    const char *name;
    size_t wire_len;
    const uint8_t *wire;
} v2v_bad_t;

#define V2V_SEQ_LEN %(seq_len)d
#define V2V_MASKS %(masks)d
#define V2V_FLIGHTS %(flights)d
#define V2V_BAD_TUNNEL %(bad_tunnel)d
#define V2V_BAD_HANDOVER %(bad_handover)d

//  Indexes into v2v_suite_t.flights.
%(flight_enum)s

typedef struct {
    const char *name;
    int suite;                  //  v2_suite_t
    v2v_mask_t masks[V2V_MASKS];            //  records 0 .. V2V_SEQ_LEN - 1, then V2V_HIGH_N
    v2v_record_t records[V2V_SEQ_LEN];      //  sealed in sequence from record 0, c2s (K32, cs)
    size_t high_len;
    const uint8_t *high;        //  DATA V2V_HIGH_BODY sealed at record V2V_HIGH_N, c2s (K32, cs)
    const uint8_t *s2c_rec1;    //  DATA { 0x5a } at record 1 of s2c (K32, ss, cs)
    size_t s2c_rec1_len;
    v2v_flight_t flights[V2V_FLIGHTS];
    v2v_bad_t bad_tunnel[V2V_BAD_TUNNEL];   //  refused by a TUNNEL parser (K32)
    v2v_bad_t bad_handover[V2V_BAD_HANDOVER];   //  refused by a HANDOVER parser (K32)
    size_t bad_server_data_len;
    const uint8_t *bad_server_data;         //  ss || s2c record 0 of type DATA
} v2v_suite_t;
"""


def generate(v):
    out = []
    flight_names = [f["name"] for f in v["suites"][0]["flights"]]
    out.append(HEADER % dict(
        seq_len=len(SEQUENCE), masks=len(SEQUENCE) + 1, flights=len(flight_names),
        bad_tunnel=len(v["suites"][0]["bad_tunnel"]),
        bad_handover=len(v["suites"][0]["bad_handover"]),
        flight_enum="enum { " + ", ".join("V2V_F_%s" % n.upper() for n in flight_names) + " };"))
    out.append(c_array("V2V_K32", K32))
    out.append(c_array("V2V_K16", K16))
    out.append(c_array("V2V_CS", CS, "the tunnel's client salt"))
    out.append(c_array("V2V_SS", SS, "the server's salt"))
    out.append(c_array("V2V_CS_HO", CS_HO, "handover connection 1's client salt"))
    out.append(c_array("V2V_HIGH_BODY", HIGH_BODY))
    out.append("#define V2V_HIGH_BODY_LEN %d" % len(HIGH_BODY))
    # The sequence's bodies.
    for i, (rtype, body) in enumerate(SEQUENCE):
        if len(body) <= 100 and body:
            out.append(c_array("V2V_SEQ_BODY_%d" % i, body))
    # Key schedule.
    rows = []
    for kv in v["keys"]:
        name = "V2V_K32" if len(kv["k"]) == 32 else "V2V_K16"
        rows.append("    { %s, %d,\n      {\n%s\n      },\n      {\n%s\n      },\n      {\n%s\n      },\n"
                    "      { 1, 2, (1ULL << 32) + 1 },\n      {\n%s\n      } }," % (
                        name, len(kv["k"]), c_bytes(kv["c2s"], "        "),
                        c_bytes(kv["s2c"], "        "), c_bytes(kv["hk"], "        "),
                        "\n".join("        {\n%s\n        }," % c_bytes(i, "          ")
                                  for i in kv["ids"])))
    out.append("//  The key schedule of (K, cs, ss), for K32 and K16.\n"
               "static const v2v_keys_t V2V_UNUSED V2V_KEYS[2] = {\n%s\n};" % "\n".join(rows))
    # Per suite data.
    for s in v["suites"]:
        p = "V2V_" + s["cname"][3:]
        for i, r in enumerate(s["records"]):
            if len(r["wire"]) <= 200:
                out.append(c_array("%s_REC%d" % (p, i), r["wire"]))
        out.append(c_array(p + "_HIGH", s["high"], "DATA at record 2^32+5"))
        out.append(c_array(p + "_S2C_REC1", s["s2c_rec1"]))
        for f in s["flights"]:
            out.append(c_array("%s_FLIGHT_%s" % (p, f["name"].upper()), f["wire"]))
        for name, wire in s["bad_tunnel"] + s["bad_handover"]:
            out.append(c_array("%s_BAD_%s" % (p, name.upper()), wire))
        out.append(c_array(p + "_BAD_SERVER_DATA", s["bad_server_data"]))
    suites = []
    for s in v["suites"]:
        p = "V2V_" + s["cname"][3:]
        masks = "\n".join("        { %dULL, {\n%s\n          }, { 0x%02x, 0x%02x } }," % (
            n, c_bytes(nn, "          "), m[0], m[1]) for n, nn, m in s["masks"])
        recs = []
        for i, r in enumerate(s["records"]):
            w = r["wire"]
            body = ("V2V_SEQ_BODY_%d" % i) if 0 < len(r["body"]) <= 100 else "NULL"
            if not r["body"]:
                body = "(const uint8_t *) \"\""
            wire = ("%s_REC%d" % (p, i)) if len(w) <= 200 else "NULL"
            recs.append("        { %d, %d, %s, %d, %s,\n          {\n%s\n          },\n"
                        "          {\n%s\n          },\n          {\n%s\n          } }," % (
                            r["type"], len(r["body"]), body, len(w), wire,
                            c_bytes(hashlib.sha256(w).digest(), "            "),
                            c_bytes(w[:32], "            "), c_bytes(w[-32:], "            ")))
        flights = []
        for f in s["flights"]:
            kname = "V2V_K32" if len(f["k"]) == 32 else "V2V_K16"
            salt = {CS: "V2V_CS", SS: "V2V_SS", CS_HO: "V2V_CS_HO"}[f["salt"]]
            flights.append('        { "%s", %s, %d, %s, %s, %d, %dULL, %s, %d, %d, %s_FLIGHT_%s },' % (
                f["name"], kname, len(f["k"]), salt, "V2V_CS" if f["cs"] else "NULL",
                f["kind"], f["time"], "V2V_KEYS[0].id[0]" if f["ident"] else "NULL",
                f["padlen"], len(f["wire"]), p, f["name"].upper()))
        bad_t = "\n".join('        { "%s", %d, %s_BAD_%s },' % (n, len(w), p, n.upper())
                          for n, w in s["bad_tunnel"])
        bad_h = "\n".join('        { "%s", %d, %s_BAD_%s },' % (n, len(w), p, n.upper())
                          for n, w in s["bad_handover"])
        suites.append('    { "%s", %s,\n      {\n%s\n      },\n      {\n%s\n      },\n'
                      '      %d, %s_HIGH, %s_S2C_REC1, %d,\n      {\n%s\n      },\n'
                      '      {\n%s\n      },\n      {\n%s\n      },\n      %d, %s_BAD_SERVER_DATA },' % (
                          s["name"], s["cname"], masks, "\n".join(recs), len(s["high"]), p, p,
                          len(s["s2c_rec1"]), "\n".join(flights), bad_t, bad_h,
                          len(s["bad_server_data"]), p))
    out.append("//  Both suites (v2_suite_t order). The record vectors and flights use K32.\n"
               "static const v2v_suite_t V2V_UNUSED V2V_SUITES[2] = {\n%s\n};" % "\n".join(suites))
    out.append("\n#endif")
    return "\n\n".join(out) + "\n"


def main():
    selftest_primitives()
    v = compute()
    path = sys.argv[1] if len(sys.argv) > 1 else os.path.join(
        os.path.dirname(os.path.abspath(__file__)), "v2_vectors.h")
    text = generate(v)
    with open(path + ".tmp", "w") as f:
        f.write(text)
    os.rename(path + ".tmp", path)
    print("gen_v2_vectors: wrote %s (%d bytes)" % (path, len(text)))


if __name__ == "__main__":
    main()
