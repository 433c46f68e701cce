/*  actor — RECV frames and the child-actor failure protocol (see actor.h). */
#include "runtime/actor.h"

#include <string.h>

#define RECV_COMMAND "RECV"

bool
actor_name_valid (const char *name)
{
    if (!name)
        return false;
    size_t len = strlen (name);
    return len >= 1 && len <= ACTOR_NAME_MAX;
}

int
actor_send_recv (void *dest, const char *from, const void *data, size_t len)
{
    return actor_send_recv_to (dest, from, data, len, NULL);
}

int
actor_send_recv_to (void *dest, const char *from, const void *data, size_t len,
                    const char *to)
{
    if (!actor_name_valid (from) || (to && !actor_name_valid (to)) || (len > 0 && !data))
        return -1;
    zmsg_t *msg = zmsg_new ();
    zmsg_addstr (msg, RECV_COMMAND);
    zmsg_addstr (msg, from);
    zmsg_addmem (msg, data, len);
    if (to)
        zmsg_addstr (msg, to);
    if (zmsg_send (&msg, dest) != 0) {
        zmsg_destroy (&msg);
        return -1;
    }
    return 0;
}

//  Copy a name frame into a NUL-terminated buffer; names carry no NUL bytes.
static int
s_copy_name (zframe_t *frame, char *out)
{
    size_t size = zframe_size (frame);
    if (size < 1 || size > ACTOR_NAME_MAX || memchr (zframe_data (frame), '\0', size))
        return -1;
    memcpy (out, zframe_data (frame), size);
    out[size] = '\0';
    return 0;
}

int
actor_recv_parse (zmsg_t *msg, actor_recv_t *out)
{
    if (!msg || (zmsg_size (msg) != 3 && zmsg_size (msg) != 4))
        return -1;
    zframe_t *command = zmsg_first (msg);
    if (!zframe_streq (command, RECV_COMMAND))
        return -1;
    if (s_copy_name (zmsg_next (msg), out->from) != 0)
        return -1;
    zframe_t *data = zmsg_next (msg);
    out->data = zframe_data (data);
    out->len = zframe_size (data);
    zframe_t *to = zmsg_next (msg);
    out->to[0] = '\0';
    if (to && s_copy_name (to, out->to) != 0)
        return -1;
    return 0;
}

bool
actor_is_term (zmsg_t *msg)
{
    return msg && zmsg_size (msg) >= 1 && zframe_streq (zmsg_first (msg), "$TERM");
}

bool
actor_pipe_term (zsock_t *pipe)
{
    zmsg_t *msg = zmsg_recv (pipe);
    bool term = !msg || actor_is_term (msg);
    zmsg_destroy (&msg);
    return term;
}

void
actor_wait_term (zsock_t *pipe)
{
    while (true) {
        zmsg_t *msg = zmsg_recv (pipe);
        if (!msg)
            return;             //  context terminated: nobody will send $TERM
        bool term = actor_is_term (msg);
        zmsg_destroy (&msg);
        if (term)
            return;
    }
}

void
actor_fail (zsock_t *pipe, const char *reason)
{
    zstr_sendx (pipe, "CRASHED", reason ? reason : "unknown failure", NULL);
    actor_wait_term (pipe);
}
