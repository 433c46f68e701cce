/*  inband_check — what the in-band command tests (test_inband_*) share:
    the golden vectors of test/vectors/gen_crypto_vectors.py inband, the
    fixture, streams built of data and commands, and a recorder of what
    the scanner (nodes/inband.h) delivers: data, commands and where they
    came, chunks, and commands that fail or stop tapping; and a recorder
    of what leaves a stack with the tap in it (chunks toward a side, events).
*/
#include <check.h>
#include <czmq.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/rand.h>
#include "nodes/cipher.h"
#include "test/unit/test_keys.h"
#include "nodes/inband.h"
#include "runtime/actor.h"
#include "runtime/base/log.h"
#include "test/support/node_actor.h"
#include "test/support/inband_check.h"

void
ic_setup (void)
{
    zsys_handler_set (NULL);
    zsys_set_linger (0);
    log_set_level (LOG_LEVEL_ERROR);
}



void
ic_put (ic_buf_t *buf, const uint8_t *data, size_t len)
{
    ck_assert_uint_le (buf->n + len, IC_MAX);
    memcpy (buf->d + buf->n, data, len);
    buf->n += len;
}

void
ic_put_random (ic_buf_t *buf, size_t len)
{
    ck_assert_uint_le (buf->n + len, IC_MAX);
    if (len)
        ck_assert_int_eq (RAND_bytes (buf->d + buf->n, (int) len), 1);
    buf->n += len;
}

void
ic_put_cmd (ic_buf_t *buf, const uint8_t *cmds, size_t n)
{
    uint8_t encoded[INBAND_SIZE];
    ck_assert_int_eq (inband_encode (KEY32, 32, cmds, n, encoded), 0);
    ic_put (buf, encoded, sizeof encoded);
}



void
ic_rec_init (ic_rec_t *rec, inband_rx_t *rx)
{
    memset (rec, 0, sizeof *rec);
    rec->rx = rx;
    rec->fail_cmd = -1;
    rec->stop_cmd = -1;
}

void
ic_on_data (void *ctx, const uint8_t *data, size_t len)
{
    ic_rec_t *rec = (ic_rec_t *) ctx;
    ck_assert_uint_gt (len, 0);     //  no empty chunks
    ck_assert_uint_le (rec->ndata + len, IC_MAX);
    memcpy (rec->data + rec->ndata, data, len);
    rec->ndata += len;
    rec->chunks++;
    rec->last_ptr = data;
}

int
ic_on_command (void *ctx, inband_cmd_t cmd, uint16_t port)
{
    ic_rec_t *rec = (ic_rec_t *) ctx;
    ck_assert_uint_lt (rec->ncmds, 64);
    rec->cmds[rec->ncmds++] = (ic_cmd_rec_t) { (int) cmd, port, rec->ndata };
    if ((int) cmd == rec->stop_cmd)
        inband_rx_set_tapping (rec->rx, false);
    return (int) cmd == rec->fail_cmd ? -1 : 0;
}

//  Feeds data in segments ending at cuts[] while tapping, then stops
//  tapping and flushes, so that every byte is accounted for.
void
ic_run (ic_rec_t *rec, const uint8_t *data, size_t len, const size_t *cuts, size_t ncuts)
{
    inband_rx_t *rx = inband_rx_new (KEY32, 32);
    ck_assert_ptr_nonnull (rx);
    ic_rec_init (rec, rx);
    inband_rx_set_tapping (rx, true);
    size_t start = 0;
    for (size_t c = 0; c <= ncuts; c++) {
        size_t end = c < ncuts ? cuts[c] : len;
        ck_assert (start <= end && end <= len);
        ck_assert_int_eq (inband_rx_feed (rx, data + start, end - start, ic_on_data, ic_on_command, rec), 0);
        ck_assert_uint_le (inband_rx_held (rx), INBAND_SIZE - 1);
        start = end;
    }
    inband_rx_set_tapping (rx, false);
    inband_rx_flush (rx, ic_on_data, rec);
    ck_assert_uint_eq (inband_rx_held (rx), 0);
    inband_rx_destroy (&rx);
    ck_assert_ptr_null (rx);
}

void
ic_run_steps (ic_rec_t *rec, const uint8_t *data, size_t len, size_t step)
{
    static size_t cuts[IC_MAX];
    size_t ncuts = 0;
    for (size_t at = step; at < len; at += step)
        cuts[ncuts++] = at;
    ic_run (rec, data, len, cuts, ncuts);
}

void
ic_assert_same (const ic_rec_t *a, const ic_rec_t *b)
{
    ck_assert_uint_eq (a->ndata, b->ndata);
    ck_assert_mem_eq (a->data, b->data, a->ndata);
    ck_assert_uint_eq (a->ncmds, b->ncmds);
    for (size_t i = 0; i < a->ncmds; i++) {
        ck_assert_int_eq (a->cmds[i].cmd, b->cmds[i].cmd);
        ck_assert_uint_eq (a->cmds[i].port, b->cmds[i].port);
        ck_assert_uint_eq (a->cmds[i].at, b->cmds[i].at);
    }
}


static void
s_tap_data (void *ctx, node_side_t to, uint8_t *data, size_t len, unsigned flags)
{
    ic_tap_rec_t *rec = (ic_tap_rec_t *) ctx;
    ck_assert_uint_lt (rec->nrecs, 64);
    rec->recs[rec->nrecs++] = (ic_out_rec_t) {
        .kind = to == NODE_INNER ? 'i' : 'o', .ptr = data, .len = len, .flags = flags
    };
    uint8_t *buf = to == NODE_INNER ? rec->inner : rec->outer;
    size_t *n = to == NODE_INNER ? &rec->ninner : &rec->nouter;
    ck_assert_uint_le (*n + len, IC_MAX);
    if (len)
        memcpy (buf + *n, data, len);
    *n += len;
}

static void
s_tap_event (void *ctx, node_event_t event, uint64_t value)
{
    ic_tap_rec_t *rec = (ic_tap_rec_t *) ctx;
    ck_assert_uint_lt (rec->nrecs, 64);
    rec->recs[rec->nrecs++] = (ic_out_rec_t) {
        .kind = 'e', .event = event, .value = value, .at = rec->ninner
    };
}

void
ic_tap_rec_init (ic_tap_rec_t *rec, node_out_t *out)
{
    memset (rec, 0, sizeof *rec);
    *out = (node_out_t) { s_tap_data, s_tap_event, rec, NULL };
}

//  The commands reported, in order, and where: none but NODE_COMMAND events.
size_t
ic_commands (const ic_tap_rec_t *rec, int *cmds, size_t *at, size_t max)
{
    size_t n = 0;
    for (size_t i = 0; i < rec->nrecs; i++) {
        if (rec->recs[i].kind != 'e')
            continue;
        ck_assert_int_eq (rec->recs[i].event, NODE_COMMAND);
        ck_assert_uint_lt (n, max);
        cmds[n] = (int) rec->recs[i].value;
        at[n] = rec->recs[i].at;
        n++;
    }
    return n;
}

//  A stack of one tap on a scanner the test keeps.
node_stack_t *
ic_tap_stack (inband_rx_t *rx)
{
    node_stack_t *stack = node_stack_new ();
    ck_assert_ptr_nonnull (stack);
    ck_assert_int_eq (node_stack_add (stack, NODE_INNER, &inband_tap_class, rx), 0);
    ck_assert_ptr_eq (node_stack_find (stack, &inband_tap_class), rx);
    return stack;
}
