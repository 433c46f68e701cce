/*  handover — a tunnel side moving to a fresh socket (the baton handover,
    PROTOCOL.md section 5): the events a tunnel handler hears and the
    mechanics the session offers it (runtime/session_handover.c). The steps
    themselves are actors/baton.c's.
*/
#ifndef MK_HANDOVER_H
#define MK_HANDOVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "runtime/session.h"

//  What happens to a tunnel being handed over to a fresh socket (the baton
//  handover, PROTOCOL.md section 5; runtime/session.h: Handover).
typedef enum {
    HANDOVER_TRIGGER,       //  an operator asks for a handover now (SIGUSR1)
    HANDOVER_TIMER,         //  the timer set by session_set_handover_timer() fired
    HANDOVER_SOCKET,        //  accepting end: a new socket for this tunnel (fd, data: bytes
                            //  already read from it); the handler owns fd from now on
    HANDOVER_CONNECTED,     //  dialing end: the new socket connected (err 0) or failed
    HANDOVER_LOST,          //  the new socket ended before it took over (err)
    HANDOVER_HELD,          //  bytes came on the new socket before it took over
    HANDOVER_COMMAND,       //  an in-band command in the tapped stream (cmd)
    HANDOVER_RETIRED        //  the old socket is closed: the handover is over
} handover_kind_t;

typedef struct handover_event_t {
    handover_kind_t kind;
    int err;
    int cmd;
    int fd;
    const uint8_t *data;
    size_t len;
} handover_event_t;

//  A side (a tunnel with a cipher) moves to a fresh socket
//  (PROTOCOL.md section 5). The side keeps its cipher and stream state; the
//  handler drives the steps and hears what happens through its handover()
//  callback (runtime/handler.h). One handover at a time per session.
//
//  Dialing end: session_handover_connect, tap, (HO_R2L seen) send the
//  command, session_handover_switch_reads (true).
//  Accepting end: session_handover_adopt, tap, send HO_R2L,
//  session_handover_switch_writes, (HO_COMPLETE_L2R seen)
//  session_handover_switch_reads (false).

//  A new socket for side: connect to addr and send first (the ID, in clear)
//  once connected; its bytes are kept, undecrypted, until it takes over.
//  HANDOVER_CONNECTED tells how the connect went. -1 with errno if it cannot
//  start (or a handover socket exists already).
int session_handover_connect (session_t *self, session_side_t side, const struct sockaddr *addr,
                              socklen_t addrlen, const void *first, size_t first_len);

//  The same for a socket that was accepted (fd, and the bytes already read
//  from it after the ID). Returns -1 if the session cannot take it (the
//  caller still owns fd).
int session_handover_adopt (session_t *self, session_side_t side, int fd, const void *data,
                            size_t len);

//  Put scanner (a node the caller keeps owning) innermost in the side's
//  node stack for the handover; its NODE_COMMANDs reach the handler as
//  HANDOVER_COMMAND, after the bytes of the chunk they came in. NULL takes
//  it out again: the bytes it held back are delivered as data.
void session_handover_tap (session_t *self, const node_t *scanner);

//  From now on the side's bytes are written to the new socket; the old one
//  writes what it has queued and is still read (and tapped).
void session_handover_switch_writes (session_t *self);

//  Tapping stops; the old socket is no longer read for the stream (it closes
//  once its queue is written, and with wait_eof once its peer has closed it:
//  HANDOVER_RETIRED); what the new socket brought meanwhile is decrypted and
//  delivered, and from now on it is the side's socket. Switches writes too
//  if they were not yet.
void session_handover_switch_reads (session_t *self, bool wait_eof);

//  Accepting end, for a dialer that goes on writing to the old socket after
//  its HO_COMPLETE_L2R until it sees that socket end (the original:
//  ho_wait_close): after the command, with writes switched and tapping
//  stopped, the old socket still carries the stream in; this sends its FIN.
//  Its end then comes as HANDOVER_LOST (not as the tunnel's end), after the
//  bytes before it; session_handover_switch_reads then moves the reads.
void session_handover_shut_old (session_t *self);

//  Before the new socket takes over: bytes that came on it (HANDOVER_HELD
//  says when), taken out (up to max; returns how many), and bytes to send on
//  it in clear (e.g. an HTTP proxy's CONNECT, then the ID).
size_t session_handover_take_held (session_t *self, uint8_t *buf, size_t max);
void session_handover_send (session_t *self, const void *data, size_t len);

//  Close the handover socket (new or old) at once; tapping stops.
void session_handover_drop (session_t *self);

//  True if the side's socket is connected and neither direction has ended
//  (a handover only makes sense then).
bool session_side_open (session_t *self, session_side_t side);

//  True while a second socket exists.
bool session_handover_busy (session_t *self);

//  One-shot timer for HANDOVER_TIMER; ms < 0 cancels it.
void session_set_handover_timer (session_t *self, int ms);

//  Deliver a handover event to the handler from outside (the worker: a
//  trigger, an accepted socket), then settle the session.
void session_handover_event (session_t *self, const handover_event_t *event);

//  Bytes written so far on the old socket of a handover after the write
//  switch (the accepting end's backlog, ahead of its HO_R2L).
uint64_t session_handover_progress (session_t *self);

#endif
