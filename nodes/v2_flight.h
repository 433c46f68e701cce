/*  v2_flight — the first flights of wire protocol v2 (docs/PROTOCOL-v2.md
    section 4): salt || record 0 (a HELLO) under the key that salt makes.

      client  cs || HELLO { 2, kind TUNNEL or HANDOVER, time, [id], padding }  (c2s)
      server  ss || HELLO { 2, kind SERVER, time, padding }                    (s2c, bound to cs)

    Making one gives the direction (at record 1) that goes on after it;
    parsing one gives the other side's direction. The parser only checks
    what the bytes say (authentic, well-formed, the expected kind): the time
    window and the replay filter are the accepting end's business.
*/
#ifndef MK_V2_FLIGHT_H
#define MK_V2_FLIGHT_H

#include <stddef.h>
#include <stdint.h>

#include "nodes/tls_hello.h"
#include "nodes/v2_keys.h"
#include "nodes/v2_record.h"

#define V2_VERSION 2

typedef enum {
    V2_KIND_TUNNEL = 1,         //  a new tunnel, on the main port
    V2_KIND_HANDOVER = 2,       //  a handover connection, on an extra port
    V2_KIND_SERVER = 3          //  the server's reply on the main port
} v2_kind_t;

#define V2_HELLO_FIXED 10       //  version, kind, time
#define V2_PAD_MIN 16           //  what v2_flight_padding draws from
#define V2_PAD_MAX 1023

typedef struct {
    v2_kind_t kind;
    uint64_t time;              //  Unix seconds
    uint8_t id[V2_ID_SIZE];     //  V2_KIND_HANDOVER only
    uint8_t echo[TLS_SID_SIZE]; //  TLS: the client's session_id (parsed at the
                                //  server; the server's flight echoes it)
    uint16_t trim;              //  TLS server: its Certificate record this much
                                //  shorter (what joins the flight's segment)
} v2_hello_t;

//  The largest TLS-shaped flight (a ClientHello with the longest name; the
//  server's ServerHello, ChangeCipherSpec and four records).
#define V2_FLIGHT_TLS_MAX 2048

//  Wire bytes of a first flight of that kind with padlen bytes of padding.
size_t v2_flight_size (v2_kind_t kind, size_t padlen);

//  A random padding length in [V2_PAD_MIN, V2_PAD_MAX].
size_t v2_flight_padding (void);

//  Makes a first flight into out (cap >= v2_flight_size): salt, then the
//  HELLO sealed under the direction salt makes: c2s (client kinds) or s2c
//  bound to cs (V2_KIND_SERVER; cs must be given). *dir_out, if not NULL,
//  gets that direction at record 1 (the caller destroys it). Returns the
//  bytes written, or -1.
int v2_flight_make (v2_suite_t suite, const uint8_t *k, size_t klen,
                    const uint8_t salt[V2_SALT_SIZE], const uint8_t *cs,
                    const v2_hello_t *hello, size_t padlen, uint8_t *out, size_t cap,
                    v2_dir_t **dir_out);

//  The same flights shaped as TLS 1.3 (docs/PROTOCOL-v2.md section 9): a
//  ClientHello for sni, or the server's ServerHello, ChangeCipherSpec and
//  four PADDING records sized like EncryptedExtensions, Certificate,
//  CertificateVerify and Finished. *dir_out is TLS-framed, at record 1
//  (client) or 5 (server). The HELLO's padding is fixed (the TLS fields'
//  size); the flight's size is TLS's. Returns the bytes written, or -1.
int v2_flight_make_tls (v2_suite_t suite, const uint8_t *k, size_t klen,
                        const uint8_t salt[V2_SALT_SIZE], const uint8_t *cs,
                        const v2_hello_t *hello, const char *sni, uint8_t *out, size_t cap,
                        v2_dir_t **dir_out);

typedef enum {
    V2_FLIGHT_NEED_MORE,        //  all of data taken, the flight is not complete
    V2_FLIGHT_OK,               //  complete and authentic: *used bytes were the flight
    V2_FLIGHT_BAD               //  not a flight of ours: silent treatment
} v2_flight_result_t;

typedef struct v2_flight_parser_t v2_flight_parser_t;

//  A parser for a flight of the given kind (a client kind at the server;
//  V2_KIND_SERVER at the client, which gives its own cs). NULL on error.
v2_flight_parser_t *v2_flight_parser_new (v2_suite_t suite, const uint8_t *k, size_t klen,
                                          v2_kind_t kind, const uint8_t *cs);
//  The same for TLS-shaped flights: a ClientHello, or a ServerHello (the
//  server's ChangeCipherSpec and records after it are the node's).
v2_flight_parser_t *v2_flight_parser_new_tls (v2_suite_t suite, const uint8_t *k, size_t klen,
                                              v2_kind_t kind, const uint8_t *cs);
void v2_flight_parser_destroy (v2_flight_parser_t **self_p);

//  Feeds the next bytes (in any pieces). Once OK or BAD, feeding again
//  returns the same and takes nothing.
v2_flight_result_t v2_flight_parser_feed (v2_flight_parser_t *self, const uint8_t *data,
                                          size_t len, size_t *used);

//  After OK: the HELLO, the salt, and the direction at record 1 (taken:
//  the caller destroys it; NULL the second time).
const v2_hello_t *v2_flight_parser_hello (v2_flight_parser_t *self);
const uint8_t *v2_flight_parser_salt (v2_flight_parser_t *self);
v2_dir_t *v2_flight_parser_take_dir (v2_flight_parser_t *self);

#endif
