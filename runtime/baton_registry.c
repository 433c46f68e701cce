/*  baton_registry — ID -> tunnel, shared by the workers under a lock. */
#include "runtime/baton_registry.h"

#include <pthread.h>
#include <stdlib.h>

#include <czmq.h>

typedef struct {
    int worker;
    uint64_t session;
} s_entry_t;

static pthread_mutex_t s_lock = PTHREAD_MUTEX_INITIALIZER;
static zhashx_t *s_table;           //  hex ID -> s_entry_t

static void
s_key (const uint8_t id[BATON_ID_SIZE], char key[2 * BATON_ID_SIZE + 1])
{
    static const char hex[] = "0123456789abcdef";
    for (int i = 0; i < BATON_ID_SIZE; i++) {
        key[2 * i] = hex[id[i] >> 4];
        key[2 * i + 1] = hex[id[i] & 15];
    }
    key[2 * BATON_ID_SIZE] = 0;
}

static void
s_entry_free (void **item_p)
{
    free (*item_p);
    *item_p = NULL;
}

int
baton_registry_put (const uint8_t id[BATON_ID_SIZE], int worker, uint64_t session)
{
    char key[2 * BATON_ID_SIZE + 1];
    s_key (id, key);
    s_entry_t *entry = malloc (sizeof *entry);
    if (!entry)
        return -1;
    *entry = (s_entry_t) { worker, session };
    pthread_mutex_lock (&s_lock);
    if (!s_table) {
        s_table = zhashx_new ();
        if (s_table)
            zhashx_set_destructor (s_table, s_entry_free);
    }
    int rc = s_table ? zhashx_insert (s_table, key, entry) : -1;
    pthread_mutex_unlock (&s_lock);
    if (rc != 0)
        free (entry);
    return rc;
}

int
baton_registry_take (const uint8_t id[BATON_ID_SIZE], int *worker, uint64_t *session)
{
    char key[2 * BATON_ID_SIZE + 1];
    s_key (id, key);
    int rc = -1;
    pthread_mutex_lock (&s_lock);
    s_entry_t *entry = s_table ? zhashx_lookup (s_table, key) : NULL;
    if (entry) {
        *worker = entry->worker;
        *session = entry->session;
        zhashx_delete (s_table, key);
        rc = 0;
    }
    pthread_mutex_unlock (&s_lock);
    return rc;
}

void
baton_registry_remove (const uint8_t id[BATON_ID_SIZE], uint64_t session)
{
    char key[2 * BATON_ID_SIZE + 1];
    s_key (id, key);
    pthread_mutex_lock (&s_lock);
    s_entry_t *entry = s_table ? zhashx_lookup (s_table, key) : NULL;
    if (entry && entry->session == session)
        zhashx_delete (s_table, key);
    pthread_mutex_unlock (&s_lock);
}

size_t
baton_registry_size (void)
{
    pthread_mutex_lock (&s_lock);
    size_t size = s_table ? zhashx_size (s_table) : 0;
    pthread_mutex_unlock (&s_lock);
    return size;
}

void
baton_registry_shutdown (void)
{
    pthread_mutex_lock (&s_lock);
    zhashx_destroy (&s_table);
    pthread_mutex_unlock (&s_lock);
}
