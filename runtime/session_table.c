/*  session_table — a worker's live sessions by id (session_table.h). */
#include "runtime/session_table.h"

#include <stdlib.h>

#include "runtime/session.h"

session_t *
session_table_find (session_table_t *self, uint64_t id)
{
    uint32_t slot = (uint32_t) (id & SESSION_SLOT_MASK);
    if (slot >= self->count)
        return NULL;
    session_t *session = self->slots[slot];
    return session && session_id (session) == id ? session : NULL;
}

session_t *
session_table_at (session_table_t *self, size_t i)
{
    return i < self->count ? self->slots[i] : NULL;
}

int
session_table_take (session_table_t *self, uint64_t *id)
{
    uint32_t slot;
    if (self->free_count > 0)
        slot = self->free_slots[--self->free_count];
    else {
        if (self->count == self->cap) {
            size_t cap = self->cap ? self->cap * 2 : 256;
            if (cap > SESSION_SLOT_MASK)
                return -1;
            session_t **slots = realloc (self->slots, cap * sizeof *slots);
            uint32_t *gens = slots ? realloc (self->generations, cap * sizeof *gens) : NULL;
            uint32_t *frees = gens ? realloc (self->free_slots, cap * sizeof *frees) : NULL;
            if (slots)
                self->slots = slots;
            if (gens)
                self->generations = gens;
            if (!frees)
                return -1;
            self->free_slots = frees;
            self->cap = cap;
        }
        slot = (uint32_t) self->count++;
        self->generations[slot] = 0;
    }
    self->generations[slot]++;
    *id = ((uint64_t) self->generations[slot] << 32) | slot;
    return 0;
}

void
session_table_set (session_table_t *self, uint64_t id, session_t *session)
{
    self->slots[id & SESSION_SLOT_MASK] = session;
}

void
session_table_release (session_table_t *self, uint64_t id)
{
    uint32_t slot = (uint32_t) (id & SESSION_SLOT_MASK);
    self->slots[slot] = NULL;
    self->free_slots[self->free_count++] = slot;
}

void
session_table_free (session_table_t *self)
{
    free (self->slots);
    free (self->generations);
    free (self->free_slots);
    *self = (session_table_t) { 0 };
}
