/*  far_reply — reads the far end's answers to a user's handshake that the
    local end has already given the user itself (actors/local_answer.c): a
    SOCKS5 method selection, a SOCKS5 or SOCKS4 reply to the CONNECT, an
    HTTP response head to a CONNECT. They are checked and consumed, so that
    the user does not see them twice. Pure: no I/O; the same result for any
    split of the bytes.
*/
#ifndef MK_FAR_REPLY_H
#define MK_FAR_REPLY_H

#include <stddef.h>
#include <stdint.h>

typedef struct _far_reply_t far_reply_t;

//  The answers expected, in this order (a set of them).
enum {
    FAR_REPLY_METHOD = 1,       //  05 00: "no authentication"
    FAR_REPLY_SOCKS5 = 2,       //  05 00 00 ATYP BND.ADDR BND.PORT
    FAR_REPLY_SOCKS4 = 4,       //  00 5A PORT IP
    FAR_REPLY_HTTP = 8          //  HTTP/1.x 2xx ... CRLF CRLF
};

typedef enum {
    FAR_REPLY_MORE,             //  all bytes consumed, more answers to come
    FAR_REPLY_DONE,             //  the answers ended: what follows is the target's
    FAR_REPLY_REFUSED           //  the far end said no (or something unreadable)
} far_reply_status_t;

//  A reader of the answers in parts (FAR_REPLY_* bits, at least one).
far_reply_t *
    far_reply_new (unsigned parts);

void
    far_reply_destroy (far_reply_t **self_p);

//  Consume the far end's bytes. *consumed: how many belonged to the answers
//  (all of them on MORE). Once DONE or REFUSED, consumes nothing and returns
//  the same status.
far_reply_status_t
    far_reply_feed (far_reply_t *self, const uint8_t *data, size_t len, size_t *consumed);

//  Why it refused, for a log line ("SOCKS5 reply 2", ...), or NULL.
const char *
    far_reply_error (far_reply_t *self);

#endif
