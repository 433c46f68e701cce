/*  worker_warm — sessions a worker starts ahead of their clients
    (handler_conf_t.warm): for a conf that asks for it, the worker keeps one
    session started without a client, and the next socket accepted for that
    conf becomes its client instead of starting a session of its own. A
    distributed wormhole's local end uses it to have the user's tunnel
    connection dialed (and its handshake done) before the user arrives; the
    session's handler decides how long it waits (it may end itself).

    One per conf and worker: started when a client of the conf arrives (so
    an idle conf costs nothing), ended at a drain and with its wormhole.
*/
#include "runtime/session.h"
#include "runtime/session_table.h"
#include "runtime/worker_priv.h"

//  The table entry of conf (NULL: none), and whether it holds a live warm session.
static worker_warm_t *
s_entry (worker_t *self, const handler_conf_t *conf, session_t **session)
{
    worker_warm_t *table = worker_warm_table (self);
    *session = NULL;
    for (size_t i = 0; i < WORKER_WARM_MAX; i++)
        if (table[i].conf == conf) {
            session_t *found = session_table_find (worker_sessions (self), table[i].id);
            if (found && !session_is_dead (found) && session_warm (found))
                *session = found;
            return &table[i];
        }
    return NULL;
}

session_t *
worker_warm_take (worker_t *self, const handler_conf_t *conf, int fd)
{
    session_t *session;
    worker_warm_t *entry = s_entry (self, conf, &session);
    if (!session)
        return NULL;
    entry->conf = NULL;
    session_adopt_client (session, fd);
    return session;
}

void
worker_warm_up (worker_t *self, const handler_conf_t *conf)
{
    session_t *session;
    worker_warm_t *entry = s_entry (self, conf, &session);
    if (session)
        return;
    if (!entry) {
        worker_warm_t *table = worker_warm_table (self);
        for (size_t i = 0; i < WORKER_WARM_MAX && !entry; i++)
            if (!table[i].conf)
                entry = &table[i];
        if (!entry)
            return;         //  more warm confs than slots: those clients wait for theirs
    }
    entry->conf = conf;
    entry->id = 0;              //  (no session has id 0: its generation starts at 1)
    entry->due = true;
}

bool
worker_warm_due (worker_t *self)
{
    worker_warm_t *table = worker_warm_table (self);
    for (size_t i = 0; i < WORKER_WARM_MAX; i++)
        if (table[i].due)
            return true;
    return false;
}

void
worker_warm_run (worker_t *self)
{
    worker_warm_t *table = worker_warm_table (self);
    for (size_t i = 0; i < WORKER_WARM_MAX; i++) {
        if (!table[i].due)
            continue;
        table[i].due = false;
        session_t *session = worker_session_start_warm (self, table[i].conf);
        if (!session) {
            table[i].conf = NULL;
            continue;
        }
        table[i].id = session_id (session);
        session_settle (session);
    }
}

void
worker_warm_end_all (worker_t *self)
{
    worker_warm_t *table = worker_warm_table (self);
    for (size_t i = 0; i < WORKER_WARM_MAX; i++) {
        session_t *session;
        if (table[i].conf && s_entry (self, table[i].conf, &session) && session)
            session_end (session);
        table[i].conf = NULL;
        table[i].due = false;
    }
}
