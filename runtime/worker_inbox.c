/*  worker_inbox — the messages a data-plane worker's inbox takes (worker.h
    lists them): listening sockets and new sockets, handover connections,
    dials and drops from a reload, handover triggers, the drain.
*/
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <czmq.h>

#include "runtime/base/log.h"
#include "runtime/handover.h"
#include "runtime/session_table.h"
#include "runtime/worker_ports.h"
#include "runtime/worker_priv.h"

//  "DIAL" conf / "DROP" owner (a reload): start a dialing session, or end
//  every session of a wormhole that is gone or changed.
static void
s_handle_control (worker_t *self, zmsg_t *msg, const char *command)
{
    session_table_t *sessions = worker_sessions (self);
    zframe_t *frame = zmsg_pop (msg);
    void *ptr = NULL;
    if (frame && zframe_size (frame) == sizeof ptr)
        memcpy (&ptr, zframe_data (frame), sizeof ptr);
    zframe_destroy (&frame);
    if (!ptr)
        return;
    if (streq (command, "DIAL")) {
        session_t *session = worker_session_start (self, -1, ptr);
        if (session)
            session_settle (session);
        return;
    }
    size_t dropped = 0;
    for (size_t i = 0; i < sessions->count; i++) {
        session_t *session = session_table_at (sessions, i);
        if (session && session_owner (session) == ptr && !session_is_dead (session)) {
            session_abort (session);
            dropped++;
        }
    }
    if (dropped)
        log_info ("worker %d: %zu connection(s) of a removed or changed wormhole closed",
                  worker_index (self), dropped);
}

//  "BATON" fd session rest: a handover connection for one of our tunnels
//  (actors/handover_port.c found it in the registry).
static void
s_handle_baton (worker_t *self, zmsg_t *msg)
{
    session_table_t *sessions = worker_sessions (self);
    char *fd_text = zmsg_popstr (msg);
    zframe_t *id_frame = zmsg_pop (msg);
    zframe_t *rest = zmsg_pop (msg);
    int fd = fd_text ? atoi (fd_text) : -1;
    uint64_t id = 0;
    if (id_frame && zframe_size (id_frame) == sizeof id)
        memcpy (&id, zframe_data (id_frame), sizeof id);
    session_t *session = fd >= 0 && rest ? session_table_find (sessions, id) : NULL;
    if (session && !session_is_dead (session)) {
        handover_event_t event = { .kind = HANDOVER_SOCKET, .fd = fd,
                                   .data = zframe_data (rest), .len = zframe_size (rest) };
        session_handover_event (session, &event);
    }
    else if (fd >= 0) {
        log_info ("worker %d: a handover connection for a tunnel that is gone; closed",
                  worker_index (self));
        close (fd);
    }
    zstr_free (&fd_text);
    zframe_destroy (&id_frame);
    zframe_destroy (&rest);
}

//  "HANDOVER": every tunnel this worker dials starts a handover now.
static void
s_handle_handover (worker_t *self)
{
    session_table_t *sessions = worker_sessions (self);
    handover_event_t event = { .kind = HANDOVER_TRIGGER, .fd = -1 };
    for (size_t i = 0; i < sessions->count; i++) {
        session_t *session = session_table_at (sessions, i);
        if (session && !session_is_dead (session))
            session_handover_event (session, &event);
    }
}

void
worker_serve (worker_t *self, int fd, const handler_conf_t *handler)
{
    session_t *session = handler->warm ? worker_warm_take (self, handler, fd) : NULL;
    if (!session)
        session = worker_session_start (self, fd, handler);
    if (session)
        session_settle (session);
    else
        close (fd);
    //  The next client of this conf finds its session started.
    if (handler->warm)
        worker_warm_up (self, handler);
}

//  "ACCEPT" fd conf: a socket to serve.
static void
s_handle_new_socket (worker_t *self, zmsg_t *msg)
{
    int fd = -1;
    void *conf = NULL;
    char *fd_text = zmsg_popstr (msg);
    zframe_t *conf_frame = zmsg_pop (msg);
    if (fd_text)
        fd = atoi (fd_text);
    if (conf_frame && zframe_size (conf_frame) == sizeof conf)
        memcpy (&conf, zframe_data (conf_frame), sizeof conf);
    zstr_free (&fd_text);
    zframe_destroy (&conf_frame);
    if (fd < 0 || !conf) {
        log_error ("worker %d: malformed inbox message", worker_index (self));
        if (fd >= 0)
            close (fd);
        return;
    }
    worker_serve (self, fd, conf);
}

void
worker_inbox_handle (worker_t *self, zmsg_t **msg_p)
{
    zmsg_t *msg = *msg_p;
    char *command = zmsg_popstr (msg);
    if (!command)
        log_error ("worker %d: malformed inbox message", worker_index (self));
    else if (streq (command, "ACCEPT"))
        s_handle_new_socket (self, msg);
    else if (streq (command, "LISTEN"))
        worker_ports_set (worker_ports (self), msg);
    else if (streq (command, "DRAIN"))
        worker_drain (self);
    else if (streq (command, "BATON"))
        s_handle_baton (self, msg);
    else if (streq (command, "HANDOVER"))
        s_handle_handover (self);
    else if (streq (command, "DIAL") || streq (command, "DROP"))
        s_handle_control (self, msg, command);
    else
        log_error ("worker %d: unknown inbox message %s", worker_index (self), command);
    zstr_free (&command);
    zmsg_destroy (msg_p);
}
