/*  handler — the interface every handler (socks, http, relay) implements.

    A handler serves one client connection inside a data-plane worker. It is a
    plain state machine: the worker calls it with what happened (bytes from the
    client, a connect result, bytes from the target, an end of stream) and the
    handler answers through the session API in runtime/session.h. Handlers never
    do I/O or block themselves. Once a handler calls session_relay() the worker
    moves bytes between client and target on its own and calls the handler no
    more (except destroy).
*/
#ifndef MK_HANDLER_H
#define MK_HANDLER_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "runtime/addr.h"

typedef struct session_t session_t;

typedef enum {
    HANDLER_SOCKS = 0,      //  SOCKS4, 4a and 5, picked by the client's version byte
    HANDLER_SOCKS4,         //  SOCKS4 and 4a only
    HANDLER_SOCKS5,         //  SOCKS5 only
    HANDLER_HTTP,           //  HTTP proxy: CONNECT and absolute-URI requests
    HANDLER_RELAY,          //  fixed target address
    HANDLER_RELAY_WORMHOLE, //  another wormhole's local end, by name (multi-hop)
    HANDLER_TUNNEL_LOCAL,   //  internal: a wormhole's local end (users connect here)
    HANDLER_TUNNEL_REMOTE,  //  internal: a wormhole's remote end (the tunnel arrives here)
    HANDLER_TUNNEL_MUX,     //  internal: an aggregated tunnel, carrying many streams
    HANDLER_HANDOVER        //  internal: an extra port, where a tunnel's new socket arrives
} handler_kind_t;

typedef struct {
    handler_kind_t kind;
    hostport_t relay_to;            //  HANDLER_RELAY
    char relay_wormhole[64];        //  HANDLER_RELAY_WORMHOLE
    const void *wormhole;           //  HANDLER_TUNNEL_*: the wormhole_t (actors/wormhole.h)
    unsigned flags;                 //  HANDLER_FLAG_*
    const char *trace_name;         //  the wormhole or proxy, in trace records (NULL: the kind)
} handler_conf_t;

//  HANDLER_TUNNEL_MUX: this end dials the tunnel (else it was accepted).
#define HANDLER_FLAG_DIAL 1u

//  Errors given to connected(): a positive errno from connect(), or one of these.
#define SESSION_ERR_RESOLVE 100001  //  the name did not resolve
#define SESSION_ERR_TIMEOUT ETIMEDOUT

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

typedef struct {
    handover_kind_t kind;
    int err;
    int cmd;
    int fd;
    const uint8_t *data;
    size_t len;
} handover_event_t;

typedef struct {
    const char *name;
    void *(*create) (session_t *session, const handler_conf_t *conf);
    void (*destroy) (void **self_p);
    //  Bytes from the client. The data is valid only during the call.
    void (*client_data) (void *self, const uint8_t *data, size_t len);
    //  The client half-closed (FIN) before the handler switched to relaying.
    void (*client_eof) (void *self);
    //  Result of session_connect(): err 0 with the target socket's local
    //  address (for SOCKS BND.ADDR), or an error as above.
    void (*connected) (void *self, int err, const struct sockaddr *local);
    //  Bytes from the target (only handlers that have not called session_relay).
    void (*target_data) (void *self, const uint8_t *data, size_t len);
    //  The target half-closed or closed (FIN, or an error: err is its errno or 0).
    void (*target_eof) (void *self, int err);
    //  The timer set by session_set_timer() fired. NULL: the session is aborted.
    void (*timeout) (void *self);
    //  Optional: a side's queue went over the credit window and has drained
    //  back under it (a multiplexer resumes the streams it holds back).
    void (*drained) (void *self);
    //  Optional: a tunnel's handover events (see handover_kind_t).
    void (*handover) (void *self, const handover_event_t *event);
} handler_class_t;

//  The class for a kind (HANDLER_RELAY_WORMHOLE is served by the relay class).
const handler_class_t *handler_class (handler_kind_t kind);

//  "socks", "socks4", "socks5", "http", "relay" -> kind; -1 if unknown.
int handler_kind_parse (const char *name);
const char *handler_kind_name (handler_kind_t kind);

#endif
