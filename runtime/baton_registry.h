/*  baton_registry — which tunnel a handover connection belongs to.

    The accepting end registers each tunnel under the ID its dialer will
    present at the next handover (PROTOCOL.md section 5: ID1 after the hello,
    then ID(n+1) after each handover). An extra port's connection brings an
    ID; the registry says which worker owns that tunnel and which session it
    is, so the socket can be handed to it. One table per process, owned by the
    assembly the supervisor runs (actors/app.c) and shared by every worker
    under a lock: lookups are rare (one per handover) and must be synchronous.
*/
#ifndef MK_BATON_REGISTRY_H
#define MK_BATON_REGISTRY_H

#include <stddef.h>
#include <stdint.h>

#define BATON_ID_SIZE 16

//  id -> (worker, session). The first to register an ID keeps it: -1 if id
//  names a tunnel already (a replayed v1 hello computes the live tunnel's
//  ID and must not take its handovers), or if memory ran out.
int baton_registry_put (const uint8_t id[BATON_ID_SIZE], int worker, uint64_t session);

//  Removes and returns the entry under id. Returns 0, or -1 if there is none.
int baton_registry_take (const uint8_t id[BATON_ID_SIZE], int *worker, uint64_t *session);

//  Removes the entry under id if it still names session.
void baton_registry_remove (const uint8_t id[BATON_ID_SIZE], uint64_t session);

//  Entries registered (for tests and stats).
size_t baton_registry_size (void);

//  Frees the table (at process end; entries left are dropped).
void baton_registry_shutdown (void);

#endif
