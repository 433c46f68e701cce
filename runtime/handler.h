/*  handler — what the runtime offers a handler, and what a handler implements.

    A handler serves one client connection inside a data-plane worker. It is a
    plain state machine: the worker calls it with what happened (bytes from the
    client, a connect result, bytes from the target, an end of stream) and the
    handler answers through the calls below. Handlers never do I/O or block
    themselves. Once a handler calls session_relay() the worker moves bytes
    between client and target on its own and calls the handler no more (except
    destroy). This is all that handlers/ may include of runtime/ (besides
    runtime/base/); the wormhole's own calls are in session.h, stream.h and
    handover.h.
*/
#ifndef MK_HANDLER_H
#define MK_HANDLER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "runtime/base/acl.h"
#include "runtime/base/addr.h"

typedef struct session_t session_t;
struct handover_event_t;

typedef struct handler_class_t handler_class_t;

//  What a listener or a tunnel end gives each session it starts: the class
//  to create and what that class needs. The runtime reads cls, trace_name
//  and wormhole (the session's owner, for dropping a wormhole's sessions on
//  reload); relay_to, flags, acl and users are the class's own business.
typedef struct {
    const handler_class_t *cls;
    hostport_t relay_to;            //  the relay class: where to connect
    const acl_t *acl;               //  socks, http: which targets (NULL: the default rules)
    const acl_users_t *users;       //  socks, http: the credentials asked for (NULL: none)
    const void *wormhole;           //  the tunnel classes: the wormhole_t (actors/wormhole.h)
    unsigned flags;                 //  bits defined by the class (e.g. SOCKS_ACCEPT_V4)
    const char *trace_name;         //  the wormhole or proxy, in trace records and metrics
                                    //  (NULL: cls->name)
    bool user_facing;               //  the client is a user: its connection and bytes are
                                    //  counted (runtime/metrics.h), once, here
    bool warm;                      //  each worker keeps a session of this conf started
                                    //  ahead, without a client, that takes the next client
                                    //  it is given (the class has client_arrived)
    int connect_timeout_ms;         //  how long a session_connect may take, resolving
                                    //  included (a wormhole's connect_timeout:); 0: the
                                    //  process's --connect-timeout
} handler_conf_t;

//  Errors given to connected(): a positive errno from connect(), or one of these.
#define SESSION_ERR_RESOLVE 100001  //  the name did not resolve
#define SESSION_ERR_TIMEOUT ETIMEDOUT
#define SESSION_ERR_DENIED  100002  //  the filter dropped every address (session_connect_filtered)

struct handler_class_t {
    const char *name;
    void *(*create) (session_t *session, const handler_conf_t *conf);
    void (*destroy) (void **self_p);
    //  Bytes from the client. The data is valid only during the call, or
    //  while session_data_kept() says so, until read_done (below).
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
    //  Optional: the bytes one read of a socket brought have all been given
    //  to client_data / target_data. A handler that has it may keep pointers
    //  into what it was given while session_data_kept() was true until this
    //  call (e.g. a multiplexer gathers a stream's pieces from all of a read's
    //  blocks into one send). Called even if the session ended meanwhile.
    void (*read_done) (void *self);
    //  Optional: a tunnel's handover events (runtime/handover.h).
    void (*handover) (void *self, const struct handover_event_t *event);
    //  Optional: a datagram on the session's UDP socket `port` (SESSION_UDP_*)
    //  from `from` (an IPv4-mapped address comes as IPv4). Valid during the call.
    void (*udp_datagram) (void *self, int port, const struct sockaddr *from,
                          const uint8_t *data, size_t len);
    //  Optional (required with handler_conf_t.warm): a session started ahead
    //  of its client (session_warm) has been given one.
    void (*client_arrived) (void *self);
    //  Optional: the result of session_udp_resolve (status 0 or an EAI_* code).
    void (*udp_resolved) (void *self, int status, const struct sockaddr_storage *addrs,
                          const socklen_t *lens, size_t count);
};

//  --- The session calls a handler makes (all from its own callbacks, same thread)

//  Bytes to the client / to the target (the target must be connected or
//  connecting: bytes sent while connecting are written once it is up). Only
//  the bytes the socket cannot take at once are copied.
void session_send_client (session_t *self, const void *data, size_t len);
void session_send_target (session_t *self, const void *data, size_t len);

//  Resolve host (a name goes to the resolver actor, a literal does not) and
//  connect; tries every address returned; calls handler->connected() once.
//  A previous target connection must have been closed with session_close_target.
void session_connect (session_t *self, const char *host, uint16_t port);

//  The same, with a filter asked about every address (the literal, or each
//  one the name resolved to) just before it is tried: false skips it. When
//  the filter dropped every address, connected() gets SESSION_ERR_DENIED;
//  when it dropped some and the rest failed, their error. The filter runs
//  on the worker's thread, inside the session's own calls (it must not call
//  the session); arg must live until connected() is called.
typedef bool (session_filter_fn) (void *arg, const struct sockaddr *sa);
void session_connect_filtered (session_t *self, const char *host, uint16_t port,
                               session_filter_fn *filter, void *arg);

//  Drop the target connection (e.g. an HTTP client moves to another host).
void session_close_target (session_t *self);

//  From now on the worker moves bytes both ways without the handler. Bytes
//  already queued keep their order. An end of stream on one side is passed
//  on as a half-close to the other; the session ends when both are done.
//  While the queue toward one side is over the credit window the other side
//  is not read.
void session_relay (session_t *self);

//  End the session once everything queued to the client is written
//  (e.g. after an error reply). Nothing more is read.
void session_finish (session_t *self);

//  End the session now, dropping what is queued (protocol error, garbage).
void session_abort (session_t *self);

//  One-shot timer for handler->timeout(); ms <= 0 cancels it.
void session_set_timer (session_t *self, int ms);

//  Stop / resume reading the client (e.g. an HTTP proxy waiting for a response
//  before it parses the next request).
void session_pause_client (session_t *self, int paused);

//  How long a client may take to finish its request (the process's
//  --handshake-timeout), in ms; the handler arms its timer with it.
int session_handshake_timeout_ms (session_t *self);

//  The client did not finish its request in time (counted in the metrics).
void session_handshake_timed_out (session_t *self);

//  "1.2.3.4:5678" of the client, for log lines.
const char *session_peer (session_t *self);

//  --- Datagrams (a SOCKS5 UDP association; runtime/session_udp.c)
//  A session has up to two UDP sockets, non-blocking in the worker's epoll:
//  one toward the user, one toward the targets. They close with the session.
enum { SESSION_UDP_USER, SESSION_UDP_TARGETS, SESSION_UDP_PORTS };

//  Bind port's socket to local (port 0: any). An IPv6 socket also takes
//  IPv4 (not V6ONLY). Returns 0, or an errno. *bound: the address it got.
int session_udp_open (session_t *self, int port, const struct sockaddr *local,
                      struct sockaddr_storage *bound);
//  Send one datagram now; false if it was dropped (the socket is full, not
//  open, or cannot reach that family). Never blocks, never queues.
bool session_udp_send (session_t *self, int port, const struct sockaddr *to,
                       const void *data, size_t len);
//  Look a name up for datagrams (handler->udp_resolved); one at a time: a
//  new call forgets the previous one. -1 if the lookup could not be asked.
int session_udp_resolve (session_t *self, const char *host, uint16_t port);
//  The client connection's own address (local) or its peer's; -1 if the
//  client side is not a socket (a stream of a tunnel).
int session_client_address (session_t *self, bool local, struct sockaddr_storage *out);
//  The worker's idle limit for relaying sessions (<= 0: none).
int session_idle_limit_ms (session_t *self);
//  Bytes queued toward the client or toward the target (datagrams are
//  dropped rather than queued past a bound).
size_t session_queued_bytes (session_t *self, bool toward_client);

#endif
