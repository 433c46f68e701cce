/*  resolver — the name resolution actor (see resolver.h for the protocol).

    One dispatcher thread owns the ROUTER and hands names to lookup threads,
    each a small zactor doing one blocking getaddrinfo at a time. Because the
    dispatcher only ever gives work to an idle lookup thread, one slow name
    never delays another while any lookup thread is free.

    Dispatcher <-> lookup thread messages (over the lookup actor's pipe):
        LOOKUP [identity][token][host][port]   ->  DONE [identity][token][status][addr]...
        HOLD                                   ->  (waits for RELEASE) DONE
        RELEASE, $TERM

    Test hooks on the resolver's own pipe (each answered with a signal):
        HOLD     keep one idle lookup thread busy, as a lookup that never
                 ends would (signal 0, or 1 if no thread is idle)
        RELEASE  let every held lookup thread go (signal 0 once they are
                 idle again and queued requests have been handed out)
*/
#include "runtime/resolver.h"

#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <string.h>

#include "runtime/base/addr.h"
#include "runtime/base/log.h"

typedef enum {
    LOOKUP_IDLE,        //  may be given a request
    LOOKUP_BUSY,        //  working; will answer DONE
    LOOKUP_HELD         //  test hook: busy until RELEASE
} lookup_state_t;

typedef struct {
    zactor_t *actor;
    lookup_state_t state;
} s_lookup_t;

typedef struct {
    zsock_t *pipe;
    zsock_t *router;
    zpoller_t *poller;
    s_lookup_t *lookups;
    int nlookups;
    zlist_t *queue;             //  zmsg_t *: [identity][token][host][port]
    size_t queue_max;
    bool terminated;
} s_resolver_t;


#define S_PORT_SIZE   2
#define S_STATUS_SIZE 4


//  --------------------------------------------------------------------------
//  Wire helpers shared by both ends

static void
s_put_status (uint8_t *out, int status)
{
    uint32_t value = (uint32_t) (int32_t) status;
    out [0] = (uint8_t) (value >> 24);
    out [1] = (uint8_t) (value >> 16);
    out [2] = (uint8_t) (value >> 8);
    out [3] = (uint8_t) value;
}

static int
s_get_status (const uint8_t *in)
{
    uint32_t value = ((uint32_t) in [0] << 24) | ((uint32_t) in [1] << 16)
                   | ((uint32_t) in [2] << 8) | (uint32_t) in [3];
    return (int) (int32_t) value;
}

static uint16_t
s_get_port (zframe_t *frame)
{
    const uint8_t *data = zframe_data (frame);
    return (uint16_t) ((data [0] << 8) | data [1]);
}

//  Build [identity][token][status][addr]... (identity and token are copied).
static zmsg_t *
s_reply_new (zframe_t *identity, zframe_t *token, int status,
             const struct sockaddr_storage *addrs, const socklen_t *lens, size_t count)
{
    zmsg_t *reply = zmsg_new ();
    uint8_t status_be [S_STATUS_SIZE];
    s_put_status (status_be, status);
    zmsg_addmem (reply, zframe_data (identity), zframe_size (identity));
    zmsg_addmem (reply, zframe_data (token), zframe_size (token));
    zmsg_addmem (reply, status_be, sizeof status_be);
    for (size_t i = 0; i < count; i++)
        zmsg_addmem (reply, &addrs [i], lens [i]);
    return reply;
}


//  --------------------------------------------------------------------------
//  Lookup thread

static bool
s_same_address (const struct sockaddr_storage *a, const struct sockaddr_storage *b)
{
    if (a->ss_family != b->ss_family)
        return false;
    if (a->ss_family == AF_INET) {
        const struct sockaddr_in *a4 = (const struct sockaddr_in *) a;
        const struct sockaddr_in *b4 = (const struct sockaddr_in *) b;
        return a4->sin_addr.s_addr == b4->sin_addr.s_addr;
    }
    const struct sockaddr_in6 *a6 = (const struct sockaddr_in6 *) a;
    const struct sockaddr_in6 *b6 = (const struct sockaddr_in6 *) b;
    return memcmp (&a6->sin6_addr, &b6->sin6_addr, sizeof a6->sin6_addr) == 0
        && a6->sin6_scope_id == b6->sin6_scope_id;
}

//  Copy one getaddrinfo result with the port set; false for families the
//  data plane cannot connect to.
static bool
s_address_from_ai (const struct addrinfo *ai, uint16_t port,
                   struct sockaddr_storage *sa, socklen_t *salen)
{
    memset (sa, 0, sizeof *sa);
    if (ai->ai_family == AF_INET && ai->ai_addrlen == sizeof (struct sockaddr_in)) {
        memcpy (sa, ai->ai_addr, sizeof (struct sockaddr_in));
        ((struct sockaddr_in *) sa)->sin_port = htons (port);
        *salen = sizeof (struct sockaddr_in);
        return true;
    }
    if (ai->ai_family == AF_INET6 && ai->ai_addrlen == sizeof (struct sockaddr_in6)) {
        memcpy (sa, ai->ai_addr, sizeof (struct sockaddr_in6));
        ((struct sockaddr_in6 *) sa)->sin6_port = htons (port);
        *salen = sizeof (struct sockaddr_in6);
        return true;
    }
    return false;
}

//  Blocking. No AI_ADDRCONFIG: on a machine with only loopback configured it
//  would hide "localhost" itself.
static int
s_resolve (const char *host, uint16_t port,
           struct sockaddr_storage *addrs, socklen_t *lens, size_t *count)
{
    struct addrinfo hints;
    memset (&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;

    struct addrinfo *result = NULL;
    *count = 0;
    int rc = getaddrinfo (host, NULL, &hints, &result);
    if (rc != 0)
        return rc;

    for (struct addrinfo *ai = result; ai && *count < RESOLVER_MAX_ADDRS; ai = ai->ai_next) {
        struct sockaddr_storage sa;
        socklen_t salen;
        if (!s_address_from_ai (ai, port, &sa, &salen))
            continue;
        bool seen = false;
        for (size_t i = 0; i < *count && !seen; i++)
            seen = s_same_address (&addrs [i], &sa);
        if (seen)
            continue;
        addrs [*count] = sa;
        lens [*count] = salen;
        (*count)++;
    }
    freeaddrinfo (result);
    return *count > 0 ? 0 : EAI_NONAME;
}

//  request: [identity][token][host][port], already checked by the dispatcher.
static void
s_lookup_answer (zsock_t *pipe, zmsg_t *request)
{
    zframe_t *identity = zmsg_first (request);
    zframe_t *token = zmsg_next (request);
    zframe_t *host_frame = zmsg_next (request);
    zframe_t *port_frame = zmsg_next (request);
    char *host = zframe_strdup (host_frame);
    uint16_t port = s_get_port (port_frame);

    struct sockaddr_storage addrs [RESOLVER_MAX_ADDRS];
    socklen_t lens [RESOLVER_MAX_ADDRS];
    size_t count = 0;
    int status = s_resolve (host, port, addrs, lens, &count);
    log_debug ("resolver: '%s' -> status %d, %zu address(es)", host, status, count);
    freen (host);

    zmsg_t *reply = s_reply_new (identity, token, status, addrs, lens, count);
    zmsg_pushstr (reply, "DONE");
    zmsg_send (&reply, pipe);
}

//  Test hook: stay busy until RELEASE. Returns true if $TERM came instead.
static bool
s_lookup_hold (zsock_t *pipe)
{
    while (true) {
        char *command = zstr_recv (pipe);
        if (!command && errno == EINTR)
            continue;
        bool release = command && streq (command, "RELEASE");
        bool stop = !command || streq (command, "$TERM");
        zstr_free (&command);
        if (release) {
            zstr_send (pipe, "DONE");
            return false;
        }
        if (stop)
            return true;
    }
}

static void
s_lookup_actor (zsock_t *pipe, void *args)
{
    (void) args;
    zsock_signal (pipe, 0);
    bool terminated = false;
    while (!terminated) {
        zmsg_t *msg = zmsg_recv (pipe);
        if (!msg) {
            if (errno == EINTR)
                continue;
            break;              //  context terminated
        }
        char *command = zmsg_popstr (msg);
        if (!command || streq (command, "$TERM"))
            terminated = true;
        else
        if (streq (command, "LOOKUP"))
            s_lookup_answer (pipe, msg);
        else
        if (streq (command, "HOLD"))
            terminated = s_lookup_hold (pipe);
        zstr_free (&command);
        zmsg_destroy (&msg);
    }
}


//  --------------------------------------------------------------------------
//  Dispatcher

static void s_resolver_destroy (s_resolver_t **self_p);

static s_resolver_t *
s_resolver_new (zsock_t *pipe, const resolver_args_t *args)
{
    s_resolver_t *self = (s_resolver_t *) zmalloc (sizeof (s_resolver_t));
    self->pipe = pipe;
    self->queue_max = args->queue_max;
    self->queue = zlist_new ();
    self->router = zsock_new (ZMQ_ROUTER);
    if (!self->router) {
        s_resolver_destroy (&self);
        return NULL;
    }
    //  Replies must never be dropped for a slow worker: the number in flight
    //  is already bounded by the queue and by what workers ask.
    zsock_set_sndhwm (self->router, 0);
    zsock_set_rcvhwm (self->router, 0);
    zsock_set_linger (self->router, 0);
    zsock_set_maxmsgsize (self->router, 1024);
    if (zsock_bind (self->router, "%s", args->endpoint) == -1) {
        log_error ("resolver: cannot bind %s: %s", args->endpoint, zmq_strerror (zmq_errno ()));
        s_resolver_destroy (&self);
        return NULL;
    }
    self->poller = zpoller_new (pipe, self->router, NULL);

    self->nlookups = args->threads;
    self->lookups = (s_lookup_t *) zmalloc (sizeof (s_lookup_t) * (size_t) self->nlookups);
    for (int i = 0; i < self->nlookups; i++) {
        self->lookups [i].actor = zactor_new (s_lookup_actor, NULL);
        self->lookups [i].state = LOOKUP_IDLE;
        if (!self->lookups [i].actor) {
            log_error ("resolver: cannot start lookup thread");
            s_resolver_destroy (&self);
            return NULL;
        }
        zpoller_add (self->poller, self->lookups [i].actor);
    }
    log_info ("resolver: on %s with %d lookup thread(s)", args->endpoint, self->nlookups);
    return self;
}

//  Requests still queued are told to try again rather than left waiting.
static void
s_resolver_destroy (s_resolver_t **self_p)
{
    s_resolver_t *self = *self_p;
    if (!self)
        return;
    zmsg_t *request;
    while ((request = (zmsg_t *) zlist_pop (self->queue))) {
        zframe_t *identity = zmsg_first (request);
        zframe_t *token = zmsg_next (request);
        zmsg_t *reply = s_reply_new (identity, token, EAI_AGAIN, NULL, NULL, 0);
        zmsg_send (&reply, self->router);
        zmsg_destroy (&request);
    }
    zlist_destroy (&self->queue);
    //  Each zactor_destroy waits for its thread, i.e. for a lookup in flight.
    for (int i = 0; i < self->nlookups; i++)
        zactor_destroy (&self->lookups [i].actor);
    freen (self->lookups);
    zpoller_destroy (&self->poller);
    zsock_destroy (&self->router);
    freen (self);
    *self_p = NULL;
}

static void
s_reply (s_resolver_t *self, zframe_t *identity, zframe_t *token, int status,
         const struct sockaddr_storage *addrs, const socklen_t *lens, size_t count)
{
    zmsg_t *reply = s_reply_new (identity, token, status, addrs, lens, count);
    zmsg_send (&reply, self->router);
}

static s_lookup_t *
s_idle_lookup (s_resolver_t *self)
{
    for (int i = 0; i < self->nlookups; i++)
        if (self->lookups [i].state == LOOKUP_IDLE)
            return &self->lookups [i];
    return NULL;
}

static void
s_dispatch (s_lookup_t *lookup, zmsg_t **request_p)
{
    zmsg_pushstr (*request_p, "LOOKUP");
    zmsg_send (request_p, lookup->actor);
    lookup->state = LOOKUP_BUSY;
}

static void
s_dispatch_queued (s_resolver_t *self)
{
    s_lookup_t *lookup;
    while (zlist_size (self->queue) > 0 && (lookup = s_idle_lookup (self))) {
        zmsg_t *request = (zmsg_t *) zlist_pop (self->queue);
        s_dispatch (lookup, &request);
    }
}

//  A host frame a lookup thread may use as a C string.
static bool
s_host_is_valid (zframe_t *host)
{
    size_t size = zframe_size (host);
    return size <= ADDR_HOST_MAX && memchr (zframe_data (host), 0, size) == NULL;
}

//  request: [identity][token][host][port]; takes ownership.
static void
s_handle_request (s_resolver_t *self, zmsg_t **request_p)
{
    zmsg_t *request = *request_p;
    zframe_t *identity = zmsg_first (request);
    zframe_t *token = zmsg_next (request);
    zframe_t *host = zmsg_next (request);
    zframe_t *port = zmsg_next (request);

    if (!token || zframe_size (token) != RESOLVER_TOKEN_SIZE) {
        log_debug ("resolver: dropped a request without a token");
        zmsg_destroy (request_p);
        return;
    }
    if (zmsg_size (request) != 4 || zframe_size (port) != S_PORT_SIZE || !s_host_is_valid (host)) {
        log_debug ("resolver: malformed request (%zu frames)", zmsg_size (request));
        s_reply (self, identity, token, EAI_FAIL, NULL, NULL, 0);
        zmsg_destroy (request_p);
        return;
    }
    if (zframe_size (host) == 0) {
        s_reply (self, identity, token, EAI_NONAME, NULL, NULL, 0);
        zmsg_destroy (request_p);
        return;
    }
    char name [ADDR_HOST_MAX + 1];
    memcpy (name, zframe_data (host), zframe_size (host));
    name [zframe_size (host)] = 0;
    struct sockaddr_storage sa;
    socklen_t salen;
    if (addr_from_literal (name, s_get_port (port), &sa, &salen)) {
        s_reply (self, identity, token, 0, &sa, &salen, 1);
        zmsg_destroy (request_p);
        return;
    }
    s_lookup_t *lookup = s_idle_lookup (self);
    if (lookup)
        s_dispatch (lookup, request_p);
    else
    if (zlist_size (self->queue) < self->queue_max) {
        zlist_append (self->queue, request);
        *request_p = NULL;
    }
    else {
        log_debug ("resolver: queue full (%zu), answering EAI_AGAIN", self->queue_max);
        s_reply (self, identity, token, EAI_AGAIN, NULL, NULL, 0);
        zmsg_destroy (request_p);
    }
}

//  Drain what is there, then let the poller look at the other sockets.
static void
s_handle_router (s_resolver_t *self)
{
    for (int n = 0; n < 256 && (zsock_events (self->router) & ZMQ_POLLIN); n++) {
        zmsg_t *request = zmsg_recv (self->router);
        if (!request)
            break;
        s_handle_request (self, &request);
    }
}

static void
s_handle_lookup (s_resolver_t *self, s_lookup_t *lookup)
{
    zmsg_t *msg = zmsg_recv (lookup->actor);
    if (!msg)
        return;
    char *command = zmsg_popstr (msg);
    if (command && streq (command, "DONE")) {
        if (zmsg_size (msg) > 0)
            zmsg_send (&msg, self->router);
        lookup->state = LOOKUP_IDLE;
        s_dispatch_queued (self);
    }
    zstr_free (&command);
    zmsg_destroy (&msg);
}

static void
s_handle_pipe (s_resolver_t *self)
{
    char *command = zstr_recv (self->pipe);
    if (!command)
        return;
    if (streq (command, "$TERM"))
        self->terminated = true;
    else
    if (streq (command, "HOLD")) {
        s_lookup_t *lookup = s_idle_lookup (self);
        if (lookup) {
            zstr_send (lookup->actor, "HOLD");
            lookup->state = LOOKUP_HELD;
        }
        zsock_signal (self->pipe, lookup ? 0 : 1);
    }
    else
    if (streq (command, "RELEASE")) {
        //  Wait for each DONE here, so that when the caller gets the signal
        //  the threads are idle again and the queue has been dispatched.
        for (int i = 0; i < self->nlookups; i++)
            if (self->lookups [i].state == LOOKUP_HELD) {
                zstr_send (self->lookups [i].actor, "RELEASE");
                self->lookups [i].state = LOOKUP_BUSY;
                s_handle_lookup (self, &self->lookups [i]);
            }
        zsock_signal (self->pipe, 0);
    }
    else
        log_warn ("resolver: unknown command '%s'", command);
    zstr_free (&command);
}

void
resolver_actor (zsock_t *pipe, void *args_)
{
    resolver_args_t *args = (resolver_args_t *) args_;
    s_resolver_t *self = s_resolver_new (pipe, args);
    args->status = self ? 0 : 1;
    zsock_signal (pipe, (byte) args->status);
    if (!self)
        return;

    while (!self->terminated) {
        void *which = zpoller_wait (self->poller, -1);
        if (!which) {
            if (errno == ETERM)
                break;
            continue;           //  a signal: only $TERM stops us
        }
        if (which == pipe)
            s_handle_pipe (self);
        else
        if (which == self->router)
            s_handle_router (self);
        else
            for (int i = 0; i < self->nlookups; i++)
                if (which == self->lookups [i].actor)
                    s_handle_lookup (self, &self->lookups [i]);
    }
    s_resolver_destroy (&self);
}


//  --------------------------------------------------------------------------
//  Public API

zactor_t *
resolver_new_with_queue (const char *endpoint, int threads, size_t queue_max)
{
    if (!endpoint)
        return NULL;
    if (threads < 1)
        threads = 1;
    if (threads > RESOLVER_THREADS_MAX)
        threads = RESOLVER_THREADS_MAX;
    resolver_args_t args = { endpoint, threads, queue_max, 1 };
    zactor_t *actor = zactor_new (resolver_actor, &args);
    //  zactor_new has consumed the start-up signal; the status came with it.
    if (actor && args.status != 0)
        zactor_destroy (&actor);
    return actor;
}

zactor_t *
resolver_new (const char *endpoint, int threads)
{
    return resolver_new_with_queue (endpoint, threads, RESOLVER_QUEUE_MAX);
}

int
resolver_request (zsock_t *dealer, uint64_t token, const char *host, uint16_t port)
{
    if (!dealer || !host || strlen (host) > ADDR_HOST_MAX) {
        errno = EINVAL;
        return -1;
    }
    void *handle = zsock_resolve (dealer);
    uint8_t port_be [S_PORT_SIZE] = { (uint8_t) (port >> 8), (uint8_t) port };
    //  Only the first part can meet the high-water mark: once it is queued
    //  libzmq accepts the rest of the message, so the later sends never block.
    if (zmq_send (handle, &token, sizeof token, ZMQ_SNDMORE | ZMQ_DONTWAIT) == -1)
        return -1;
    zmq_send (handle, host, strlen (host), ZMQ_SNDMORE);
    zmq_send (handle, port_be, sizeof port_be, 0);
    return 0;
}

static bool
s_address_frame_is_valid (zframe_t *frame)
{
    size_t size = zframe_size (frame);
    sa_family_t family;
    if (size < sizeof family)
        return false;
    memcpy (&family, zframe_data (frame), sizeof family);
    return (family == AF_INET && size == sizeof (struct sockaddr_in))
        || (family == AF_INET6 && size == sizeof (struct sockaddr_in6));
}

int
resolver_reply_parse (zmsg_t *msg, uint64_t *token, int *status,
                      struct sockaddr_storage *addrs, socklen_t *lens,
                      size_t max, size_t *count)
{
    *count = 0;
    if (!msg)
        return -1;
    zframe_t *token_frame = zmsg_first (msg);
    zframe_t *status_frame = zmsg_next (msg);
    if (!token_frame || zframe_size (token_frame) != RESOLVER_TOKEN_SIZE
    ||  !status_frame || zframe_size (status_frame) != S_STATUS_SIZE)
        return -1;
    memcpy (token, zframe_data (token_frame), RESOLVER_TOKEN_SIZE);
    *status = s_get_status (zframe_data (status_frame));

    for (zframe_t *frame = zmsg_next (msg); frame; frame = zmsg_next (msg)) {
        if (!s_address_frame_is_valid (frame))
            return -1;
        if (*count < max) {
            memset (&addrs [*count], 0, sizeof addrs [*count]);
            memcpy (&addrs [*count], zframe_data (frame), zframe_size (frame));
            lens [*count] = (socklen_t) zframe_size (frame);
            (*count)++;
        }
    }
    return 0;
}
