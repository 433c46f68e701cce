/*  fallback — splicing a refused connection to the fallback server (see
    fallback.h).

    States:
      KEEPING     reading the first flight: every byte is kept
      CONNECTING  refused: connecting; bytes that come meanwhile are kept too
      SPLICED     the kept bytes were sent; the worker relays both ways
*/
#include "actors/fallback.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/base/log.h"

typedef enum { F_KEEPING, F_CONNECTING, F_SPLICED } f_state_t;

struct fallback_t {
    f_state_t state;
    uint8_t *kept;
    size_t len;
    bool over;                  //  more than FALLBACK_KEEP_MAX came
    bool client_ended;
};

fallback_t *
fallback_new (void)
{
    return calloc (1, sizeof (fallback_t));
}

void
fallback_destroy (fallback_t **self_p)
{
    fallback_t *self = *self_p;
    if (!self)
        return;
    free (self->kept);
    free (self);
    *self_p = NULL;
}

int
fallback_keep (fallback_t *self, const uint8_t *data, size_t len)
{
    if (self->over || len > FALLBACK_KEEP_MAX - self->len) {
        self->over = true;
        return -1;
    }
    if (len == 0)
        return 0;
    uint8_t *kept = realloc (self->kept, self->len + len);
    if (!kept) {
        self->over = true;
        return -1;
    }
    memcpy (kept + self->len, data, len);
    self->kept = kept;
    self->len += len;
    return 0;
}

void
fallback_start (fallback_t *self, session_t *session, const hostport_t *to)
{
    self->state = F_CONNECTING;
    session_connect (session, to->host, to->port);
}

void
fallback_connected (fallback_t *self, session_t *session, int err)
{
    if (self->state != F_CONNECTING)
        return;
    if (err) {
        log_info ("fallback: cannot reach the fallback server for %s (%s)",
                  session_peer (session), strerror (err));
        session_abort (session);
        return;
    }
    self->state = F_SPLICED;
    if (self->len)
        session_send_target (session, self->kept, self->len);
    free (self->kept);
    self->kept = NULL;
    self->len = 0;
    if (self->client_ended)
        session_finish (session);
    else
        session_relay (session);
}

void
fallback_client_eof (fallback_t *self, session_t *session)
{
    self->client_ended = true;
    if (self->state != F_CONNECTING)
        session_finish (session);
}
