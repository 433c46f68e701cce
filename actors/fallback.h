/*  fallback — what the accepting end does, with `fallback: host:port` set,
    with a connection that is not a client of ours (trojan's idea): instead
    of the silent treatment it connects to that server, sends it every byte
    the connection has sent so far, and splices the two, so that a prober
    (or a browser) sees an ordinary web site on the wormhole's port.

    The bytes read before the first flight was refused are kept (at most
    FALLBACK_KEEP_MAX; a connection that sent more before its refusal gets
    the silent treatment instead).
*/
#ifndef MK_FALLBACK_H
#define MK_FALLBACK_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "runtime/base/addr.h"
#include "runtime/handler.h"

#define FALLBACK_KEEP_MAX 32768

typedef struct fallback_t fallback_t;

fallback_t *fallback_new (void);
void fallback_destroy (fallback_t **self_p);

//  Keeps bytes the connection sent. -1 once more than FALLBACK_KEEP_MAX
//  came (then nothing more is kept).
int fallback_keep (fallback_t *self, const uint8_t *data, size_t len);

//  Refused: starts connecting to the fallback server.
void fallback_start (fallback_t *self, session_t *session, const hostport_t *to);

//  The handler's connected(): sends what was kept and splices, or ends
//  the session if the server could not be reached.
void fallback_connected (fallback_t *self, session_t *session, int err);

//  The client ended before the splice: nothing more to send.
void fallback_client_eof (fallback_t *self, session_t *session);

#endif
