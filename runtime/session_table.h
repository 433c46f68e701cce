/*  session_table — a worker's live sessions by id. An id is a slot (its low
    SESSION_SLOT_BITS bits) and the slot's generation, bumped each time the
    slot is reused, so that an id kept by a timer or a lookup after its
    session ended finds nothing rather than the slot's next session. Not
    for use outside runtime/.
*/
#ifndef MK_SESSION_TABLE_H
#define MK_SESSION_TABLE_H

#include <stddef.h>
#include <stdint.h>

typedef struct session_t session_t;

#define SESSION_SLOT_BITS 24
#define SESSION_SLOT_MASK ((1u << SESSION_SLOT_BITS) - 1)

typedef struct {
    session_t **slots;      //  live sessions by slot
    uint32_t *generations;  //  bumped when a slot is reused
    uint32_t *free_slots;
    size_t count;           //  slots in use or freed: what session_table_at sees
    size_t free_count;
    size_t cap;
} session_table_t;

//  A fresh id in a free slot (the slot holds no session until
//  session_table_set). -1 if the table is full or out of memory.
int session_table_take (session_table_t *self, uint64_t *id);
void session_table_set (session_table_t *self, uint64_t id, session_t *session);
//  The slot is free again (its session is forgotten).
void session_table_release (session_table_t *self, uint64_t id);

//  The session with this id (NULL if it has ended, or its slot is reused).
session_t *session_table_find (session_table_t *self, uint64_t id);
//  The session in slot i < count, whatever its id (NULL if none).
session_t *session_table_at (session_table_t *self, size_t i);

void session_table_free (session_table_t *self);

#endif
