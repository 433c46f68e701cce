/*  tls_hello — the TLS 1.3 handshake messages that v2's TLS-shaped wire
    (docs/PROTOCOL-v2.md section 9) sends as its first flights: a
    ClientHello and a ServerHello, byte for byte the shape an OpenSSL 3
    client (curl --http1.1, Python, as Debian builds them) and server (nginx) give, with the fields that are
    random in real TLS carrying v2's salts and sealed HELLOs instead.

      ClientHello  random = cs,  legacy_session_id [32] || key_share x25519
                   [0..31) = the sealed client HELLO (63 bytes), the key's
                   last byte random below 0x80 (as a real X25519 key's)
      ServerHello  random = ss,  session_id = the client's echoed,
                   key_share [0..31) = the sealed server HELLO (31 bytes)

    A pure codec: no keys, no state. The parsers take one whole TLS record
    (its 5-byte header included) and check the structure strictly enough
    that anything else is refused; they never read past len.
*/
#ifndef MK_TLS_HELLO_H
#define MK_TLS_HELLO_H

#include <stddef.h>
#include <stdint.h>

#define TLS_HEAD_SIZE       5           //  type, legacy version, length
#define TLS_HANDSHAKE       0x16
#define TLS_CCS             0x14
#define TLS_APPDATA         0x17
#define TLS_RANDOM_SIZE     32
#define TLS_SID_SIZE        32
#define TLS_CH_BLOB         63          //  session_id 32 + key_share 31
#define TLS_SH_BLOB         31          //  key_share 31
#define TLS_SNI_MAX         253
#define TLS_CH_RECORD_MAX   1024        //  what the parser accepts (one record)
#define TLS_SH_SIZE         127         //  the ServerHello record we make
#define TLS_CCS_SIZE        6           //  14 03 03 00 01 01

//  The ChangeCipherSpec record both ends send once (middlebox compatibility).
extern const uint8_t tls_ccs_record[TLS_CCS_SIZE];

//  The record length of a 5-byte header of that type, or -1 if the
//  header is not of that type and a TLS version.
int tls_record_len (const uint8_t head[TLS_HEAD_SIZE], uint8_t type);

//  A ClientHello record for sni (NULL or empty: no server_name), padded
//  to 517 bytes as OpenSSL pads (more if the name is long). ks_last is
//  the key share's last byte (its top bit is cleared). Returns its
//  length, or -1 (cap too small, name too long).
int tls_client_hello_make (const uint8_t random[TLS_RANDOM_SIZE], const uint8_t blob[TLS_CH_BLOB],
                           uint8_t ks_last, const char *sni, uint8_t *out, size_t cap);

//  Parses one ClientHello record: 0 and the random and blob, or -1.
int tls_client_hello_parse (const uint8_t *rec, size_t len, uint8_t random[TLS_RANDOM_SIZE],
                            uint8_t blob[TLS_CH_BLOB]);

//  The ServerHello record (TLS_SH_SIZE bytes) into out.
int tls_server_hello_make (const uint8_t random[TLS_RANDOM_SIZE], const uint8_t sid[TLS_SID_SIZE],
                           const uint8_t blob[TLS_SH_BLOB], uint8_t ks_last, uint8_t *out,
                           size_t cap);

//  Parses one ServerHello record: 0 and the random, echoed session_id
//  and blob, or -1.
int tls_server_hello_parse (const uint8_t *rec, size_t len, uint8_t random[TLS_RANDOM_SIZE],
                            uint8_t sid[TLS_SID_SIZE], uint8_t blob[TLS_SH_BLOB]);

#endif
