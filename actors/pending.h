/*  pending — the connections a wormhole's remote end has accepted (main port
    or extra port) that have not proven themselves yet: no first flight of
    ours has come on them. Silent probers can open thousands and hold them
    for minutes (the silent treatment's deadline): so each worker keeps at
    most PENDING_MAX of them per wormhole, and at most PENDING_PER_SOURCE
    from one source address; one more drops the oldest (of the wormhole, or
    of that source) at once (a reset, still without a byte sent). A real
    end proves itself within a round trip, so it is never among the old.
    One whose bytes wait unread (a burst of real set-ups from a distributed
    local end, all from one address, that the worker has not read yet) is
    spared, up to PENDING_HARD_FACTOR times the bound.

    The handler that owns a connection embeds a pending_t, adds it when the
    connection is accepted and removes it once the connection is proven or
    ends. One list per worker thread: no locks.
*/
#ifndef MK_PENDING_H
#define MK_PENDING_H

#include <stdbool.h>
#include <sys/socket.h>

#include "actors/wormhole.h"
#include "runtime/session.h"

#define PENDING_MAX 512
#define PENDING_PER_SOURCE 256
#define PENDING_HARD_FACTOR 4

typedef struct pending_t {
    struct pending_t *prev, *next;
    session_t *session;
    const wormhole_t *wormhole;
    struct sockaddr_storage source;     //  the peer's address (its port aside)
    bool listed;
} pending_t;

//  The connection joins its wormhole's list (the newest); past PENDING_MAX
//  the oldest is dropped.
void pending_add (pending_t *self, session_t *session, const wormhole_t *wormhole);

//  It leaves the list (proven, or ended); nothing if it is not in one.
void pending_remove (pending_t *self);

//  Connections pending in this thread for that wormhole (for tests).
unsigned pending_count (const wormhole_t *wormhole);

#endif
