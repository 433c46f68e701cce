/*  Tests for wire protocol v2's first flights (nodes/v2_flight.h, against
    the vectors of test/vectors/v2_vectors.h): v2_flight_make byte-exact
    given salt and padding, the parser in one piece, byte by byte,
    truncated, with bytes after it; a flipped bit anywhere, a wrong key,
    suite or kind, a version other than 2, a body too short, a record 0
    that is no HELLO: all BAD.
*/
#include <check.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/kdf.h>
#include <openssl/sha.h>
#include "nodes/node.h"
#include "nodes/replay_filter.h"
#include "nodes/v2_flight.h"
#include "nodes/v2_keys.h"
#include "nodes/v2_node.h"
#include "nodes/v2_record.h"
#include "test/support/check_run.h"
#include "test/vectors/v2_vectors.h"
#include "test/support/v2_vector_check.h"

//  --- First flights

static void
s_hello_of (const v2v_flight_t *f, v2_hello_t *hello)
{
    memset (hello, 0, sizeof *hello);
    hello->kind = (v2_kind_t) f->kind;
    hello->time = f->time;
    if (f->id)
        memcpy (hello->id, f->id, V2_ID_SIZE);
}

START_TEST (test_flight_make)
{
    const v2v_suite_t *s = &V2V_SUITES[_i / V2V_FLIGHTS];
    const v2v_flight_t *f = v2c_flight (s, _i % V2V_FLIGHTS);
    v2_hello_t hello;
    s_hello_of (f, &hello);
    ck_assert_uint_eq (v2_flight_size ((v2_kind_t) f->kind, f->padlen), f->wire_len);
    uint8_t out[2048];
    memset (out, 0xee, sizeof out);
    v2_dir_t *dir = NULL;
    int n = v2_flight_make ((v2_suite_t) s->suite, f->k, f->klen, f->salt, f->cs, &hello,
                            f->padlen, out, sizeof out, &dir);
    ck_assert_msg (n == (int) f->wire_len, "%s/%s: made %d bytes", s->name, f->name, n);
    ck_assert_mem_eq (out, f->wire, f->wire_len);
    ck_assert_uint_eq (out[n], 0xee);
    ck_assert_ptr_nonnull (dir);
    ck_assert_uint_eq (v2_dir_count (dir), 1);
    //  The direction goes on after the flight: with K32 and cs its record 1
    //  is the sequence's record 1 (c2s), or the server's first record (s2c).
    uint8_t rec[64];
    const uint8_t one = 0x5a;
    if (f->k == V2V_K32 && f->salt == V2V_CS) {
        ck_assert_int_eq (v2_seal (dir, V2_DATA, &one, 1, rec), (int) s->records[1].wire_len);
        ck_assert_mem_eq (rec, s->records[1].wire, s->records[1].wire_len);
    }
    else if (f->kind == V2_KIND_SERVER) {
        ck_assert_int_eq (v2_seal (dir, V2_DATA, &one, 1, rec), (int) s->s2c_rec1_len);
        ck_assert_mem_eq (rec, s->s2c_rec1, s->s2c_rec1_len);
    }
    v2_dir_destroy (&dir);
    //  Without dir_out, the same bytes.
    memset (out, 0, sizeof out);
    ck_assert_int_eq (v2_flight_make ((v2_suite_t) s->suite, f->k, f->klen, f->salt, f->cs,
                                      &hello, f->padlen, out, sizeof out, NULL), n);
    ck_assert_mem_eq (out, f->wire, f->wire_len);
    //  Too small a buffer: -1, no direction.
    dir = NULL;
    ck_assert_int_eq (v2_flight_make ((v2_suite_t) s->suite, f->k, f->klen, f->salt, f->cs,
                                      &hello, f->padlen, out, f->wire_len - 1, &dir), -1);
    ck_assert_ptr_null (dir);
}
END_TEST

START_TEST (test_flight_padding)
{
    size_t lo = V2_PAD_MAX, hi = 0;
    for (int i = 0; i < 2000; i++) {
        size_t p = v2_flight_padding ();
        ck_assert_uint_ge (p, V2_PAD_MIN);
        ck_assert_uint_le (p, V2_PAD_MAX);
        lo = p < lo ? p : lo;
        hi = p > hi ? p : hi;
    }
    //  Uniform over 1008 values: 2000 draws span most of the range.
    ck_assert_uint_lt (lo, V2_PAD_MIN + 100);
    ck_assert_uint_gt (hi, V2_PAD_MAX - 100);
}
END_TEST

static v2_flight_parser_t *
s_parser (const v2v_suite_t *s, const uint8_t *k, size_t klen, int kind)
{
    v2_flight_parser_t *p = v2_flight_parser_new ((v2_suite_t) s->suite, k, klen, (v2_kind_t) kind,
                                                  kind == V2_KIND_SERVER ? V2V_CS : NULL);
    ck_assert_ptr_nonnull (p);
    return p;
}

static void
s_check_parsed (const v2v_suite_t *s, const v2v_flight_t *f, v2_flight_parser_t *p)
{
    const v2_hello_t *h = v2_flight_parser_hello (p);
    ck_assert_ptr_nonnull (h);
    ck_assert_int_eq (h->kind, f->kind);
    ck_assert_uint_eq (h->time, f->time);
    if (f->id)
        ck_assert_mem_eq (h->id, f->id, V2_ID_SIZE);
    ck_assert_mem_eq (v2_flight_parser_salt (p), f->salt, V2_SALT_SIZE);
    v2_dir_t *dir = v2_flight_parser_take_dir (p);
    ck_assert_ptr_nonnull (dir);
    ck_assert_ptr_null (v2_flight_parser_take_dir (p));
    ck_assert_uint_eq (v2_dir_count (dir), 1);
    uint8_t rec[64];
    if (f->k == V2V_K32 && f->salt == V2V_CS) {
        //  The client's record 1 opens with the direction the parser gave.
        memcpy (rec, s->records[1].wire, s->records[1].wire_len);
        ck_assert_int_eq (v2_peek_len (dir, rec), 2);
        ck_assert_int_eq (v2_open (dir, rec, 2), 0);
        ck_assert_uint_eq (rec[3], 0x5a);
    }
    else if (f->kind == V2_KIND_SERVER) {
        memcpy (rec, s->s2c_rec1, s->s2c_rec1_len);
        ck_assert_int_eq (v2_open (dir, rec, 2), 0);
        ck_assert_uint_eq (rec[3], 0x5a);
    }
    v2_dir_destroy (&dir);
}

START_TEST (test_flight_parse)
{
    const v2v_suite_t *s = &V2V_SUITES[_i / V2V_FLIGHTS];
    const v2v_flight_t *f = v2c_flight (s, _i % V2V_FLIGHTS);
    size_t used = 99999;
    //  In one piece, with bytes after it: those are left unused.
    uint8_t buf[2048];
    memcpy (buf, f->wire, f->wire_len);
    memset (buf + f->wire_len, 0xab, 40);
    v2_flight_parser_t *p = s_parser (s, f->k, f->klen, f->kind);
    ck_assert_int_eq (v2_flight_parser_feed (p, buf, f->wire_len + 40, &used), V2_FLIGHT_OK);
    ck_assert_uint_eq (used, f->wire_len);
    //  Fed again: OK, nothing taken.
    used = 99999;
    ck_assert_int_eq (v2_flight_parser_feed (p, buf + f->wire_len, 40, &used), V2_FLIGHT_OK);
    ck_assert_uint_eq (used, 0);
    s_check_parsed (s, f, p);
    v2_flight_parser_destroy (&p);
    ck_assert_ptr_null (p);
    v2_flight_parser_destroy (&p);

    //  Exactly the flight.
    p = s_parser (s, f->k, f->klen, f->kind);
    ck_assert_int_eq (v2_flight_parser_feed (p, f->wire, f->wire_len, &used), V2_FLIGHT_OK);
    ck_assert_uint_eq (used, f->wire_len);
    v2_flight_parser_destroy (&p);

    //  Byte by byte: NEED_MORE, each byte taken, until the last.
    p = s_parser (s, f->k, f->klen, f->kind);
    for (size_t i = 0; i + 1 < f->wire_len; i++) {
        used = 99999;
        ck_assert_msg (v2_flight_parser_feed (p, f->wire + i, 1, &used) == V2_FLIGHT_NEED_MORE,
                       "%s/%s: not NEED_MORE after %zu bytes", s->name, f->name, i + 1);
        ck_assert_uint_eq (used, 1);
    }
    ck_assert_int_eq (v2_flight_parser_feed (p, f->wire + f->wire_len - 1, 1, &used), V2_FLIGHT_OK);
    ck_assert_uint_eq (used, 1);
    s_check_parsed (s, f, p);
    v2_flight_parser_destroy (&p);

    //  In two pieces at every cut, the second with bytes after the flight.
    for (size_t cut = 0; cut <= f->wire_len; cut++) {
        p = s_parser (s, f->k, f->klen, f->kind);
        v2_flight_result_t first = v2_flight_parser_feed (p, buf, cut, &used);
        if (cut < f->wire_len) {
            ck_assert_int_eq (first, V2_FLIGHT_NEED_MORE);
            ck_assert_uint_eq (used, cut);
            ck_assert_int_eq (v2_flight_parser_feed (p, buf + cut, f->wire_len + 40 - cut, &used),
                              V2_FLIGHT_OK);
            ck_assert_uint_eq (used, f->wire_len - cut);
        }
        else
            ck_assert_int_eq (first, V2_FLIGHT_OK);
        v2_flight_parser_destroy (&p);
    }

    //  Truncated (every length short of the flight): NEED_MORE, all taken.
    for (size_t len = 0; len < f->wire_len; len += 7) {
        p = s_parser (s, f->k, f->klen, f->kind);
        ck_assert_int_eq (v2_flight_parser_feed (p, f->wire, len, &used), V2_FLIGHT_NEED_MORE);
        ck_assert_uint_eq (used, len);
        v2_flight_parser_destroy (&p);
    }
}
END_TEST

//  Feeds data to a new parser of that kind and key; returns the result.
static v2_flight_result_t
s_parse_once (const v2v_suite_t *s, int suite, const uint8_t *k, size_t klen, int kind,
              const uint8_t *data, size_t len)
{
    v2_flight_parser_t *p = v2_flight_parser_new ((v2_suite_t) suite, k, klen, (v2_kind_t) kind,
                                                  kind == V2_KIND_SERVER ? V2V_CS : NULL);
    ck_assert_ptr_nonnull (p);
    (void) s;
    size_t used = 0;
    v2_flight_result_t result = v2_flight_parser_feed (p, data, len, &used);
    if (result == V2_FLIGHT_BAD) {
        //  Once BAD, always BAD, nothing taken, no direction.
        used = 99999;
        ck_assert_int_eq (v2_flight_parser_feed (p, data, len, &used), V2_FLIGHT_BAD);
        ck_assert_uint_eq (used, 0);
        ck_assert_ptr_null (v2_flight_parser_take_dir (p));
    }
    v2_flight_parser_destroy (&p);
    return result;
}

//  The flight followed by enough zeros for any length its ML may claim.
static uint8_t *
s_padded (const uint8_t *wire, size_t len, size_t *total)
{
    *total = len + V2_RECORD_MAX + V2_TAG_SIZE + 2;
    uint8_t *buf = (uint8_t *) calloc (1, *total);
    memcpy (buf, wire, len);
    return buf;
}

START_TEST (test_flight_flipped)
{
    //  One bit flipped at every byte of a client flight (salt, ML, C, T) and
    //  of the server's: BAD (with bytes enough after it that a changed
    //  length cannot leave it waiting).
    const v2v_suite_t *s = &V2V_SUITES[_i];
    static const int which[] = { V2V_F_TUNNEL16, V2V_F_HANDOVER, V2V_F_SERVER };
    for (size_t w = 0; w < sizeof which / sizeof which[0]; w++) {
        const v2v_flight_t *f = v2c_flight (s, which[w]);
        size_t total;
        uint8_t *buf = s_padded (f->wire, f->wire_len, &total);
        for (size_t pos = 0; pos < f->wire_len; pos++) {
            uint8_t bit = (uint8_t) (1u << ((pos * 3) % 8));
            buf[pos] ^= bit;
            v2_flight_result_t r = s_parse_once (s, s->suite, f->k, f->klen, f->kind, buf, total);
            ck_assert_msg (r == V2_FLIGHT_BAD, "%s/%s: a flip at byte %zu gave %d",
                           s->name, f->name, pos, (int) r);
            buf[pos] ^= bit;
        }
        ck_assert_int_eq (s_parse_once (s, s->suite, f->k, f->klen, f->kind, buf, total), V2_FLIGHT_OK);
        free (buf);
    }
}
END_TEST

START_TEST (test_flight_wrong)
{
    const v2v_suite_t *s = &V2V_SUITES[_i];
    const v2v_flight_t *t = v2c_flight (s, V2V_F_TUNNEL16);
    const v2v_flight_t *h = v2c_flight (s, V2V_F_HANDOVER);
    const v2v_flight_t *sv = v2c_flight (s, V2V_F_SERVER);
    size_t total;
    uint8_t *buf = s_padded (t->wire, t->wire_len, &total);
    //  Wrong key, wrong suite.
    ck_assert_int_eq (s_parse_once (s, s->suite, V2V_K16, 16, V2_KIND_TUNNEL, buf, total), V2_FLIGHT_BAD);
    ck_assert_int_eq (s_parse_once (s, 1 - s->suite, V2V_K32, 32, V2_KIND_TUNNEL, buf, total),
                      V2_FLIGHT_BAD);
    //  The wrong kind for the parser: authentic, but not what this port takes.
    ck_assert_int_eq (s_parse_once (s, s->suite, V2V_K32, 32, V2_KIND_HANDOVER, t->wire, t->wire_len),
                      V2_FLIGHT_BAD);
    ck_assert_int_eq (s_parse_once (s, s->suite, V2V_K32, 32, V2_KIND_TUNNEL, h->wire, h->wire_len),
                      V2_FLIGHT_BAD);
    free (buf);
    //  A client flight where the client expects the server's, and the server's
    //  at a server: the keys differ (c2s vs s2c), so the tag fails.
    buf = s_padded (t->wire, t->wire_len, &total);
    ck_assert_int_eq (s_parse_once (s, s->suite, V2V_K32, 32, V2_KIND_SERVER, buf, total), V2_FLIGHT_BAD);
    free (buf);
    buf = s_padded (sv->wire, sv->wire_len, &total);
    ck_assert_int_eq (s_parse_once (s, s->suite, V2V_K32, 32, V2_KIND_TUNNEL, buf, total), V2_FLIGHT_BAD);
    free (buf);
    //  The server's flight bound to another cs: BAD.
    uint8_t other_cs[V2_SALT_SIZE];
    memcpy (other_cs, V2V_CS, sizeof other_cs);
    other_cs[0] ^= 0x80;
    v2_flight_parser_t *p = v2_flight_parser_new ((v2_suite_t) s->suite, V2V_K32, 32, V2_KIND_SERVER,
                                                  other_cs);
    ck_assert_ptr_nonnull (p);
    buf = s_padded (sv->wire, sv->wire_len, &total);
    size_t used;
    ck_assert_int_eq (v2_flight_parser_feed (p, buf, total, &used), V2_FLIGHT_BAD);
    v2_flight_parser_destroy (&p);
    free (buf);
}
END_TEST

START_TEST (test_flight_malformed)
{
    //  Authentic records 0 that are no valid HELLO (version 3 and 1, kind 0
    //  or SERVER, type DATA or PADDING, a body of 9 bytes or none), and
    //  lengths 0, 16385 and 65535: BAD, the lengths at once (34 bytes).
    const v2v_suite_t *s = &V2V_SUITES[_i];
    for (int j = 0; j < V2V_BAD_TUNNEL; j++) {
        const v2v_bad_t *b = &s->bad_tunnel[j];
        v2_flight_result_t r = s_parse_once (s, s->suite, V2V_K32, 32, V2_KIND_TUNNEL, b->wire,
                                             b->wire_len);
        ck_assert_msg (r == V2_FLIGHT_BAD, "%s/%s gave %d", s->name, b->name, (int) r);
    }
    //  A HANDOVER without its 16-byte id (15 bytes of it, none).
    for (int j = 0; j < V2V_BAD_HANDOVER; j++) {
        const v2v_bad_t *b = &s->bad_handover[j];
        v2_flight_result_t r = s_parse_once (s, s->suite, V2V_K32, 32, V2_KIND_HANDOVER, b->wire,
                                             b->wire_len);
        ck_assert_msg (r == V2_FLIGHT_BAD, "%s/%s gave %d", s->name, b->name, (int) r);
    }
    //  Garbage: zeros (enough for any length they unmask to), and the salt alone.
    size_t total = V2_SALT_SIZE + 2 + V2_RECORD_MAX + V2_TAG_SIZE;
    uint8_t *zeros = (uint8_t *) calloc (1, total);
    ck_assert_int_eq (s_parse_once (s, s->suite, V2V_K32, 32, V2_KIND_TUNNEL, zeros, total),
                      V2_FLIGHT_BAD);
    free (zeros);
    ck_assert_int_eq (s_parse_once (s, s->suite, V2V_K32, 32, V2_KIND_TUNNEL, V2V_CS, 32),
                      V2_FLIGHT_NEED_MORE);
}
END_TEST

int
main (void)
{
    Suite *suite = suite_create ("v2_flights");
    TCase *tc = tcase_create ("flights");
    tcase_add_loop_test (tc, test_flight_make, 0, 2 * V2V_FLIGHTS);
    tcase_add_test (tc, test_flight_padding);
    tcase_add_loop_test (tc, test_flight_parse, 0, 2 * V2V_FLIGHTS);
    tcase_add_loop_test (tc, test_flight_flipped, 0, 2);
    tcase_add_loop_test (tc, test_flight_wrong, 0, 2);
    tcase_add_loop_test (tc, test_flight_malformed, 0, 2);
    tcase_set_timeout (tc, 60);
    suite_add_tcase (suite, tc);
    return check_run (suite);
}
