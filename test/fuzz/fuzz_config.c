/*  fuzz_config — the config loader from a YAML string (config/config.h).

    Input: the text of a wormholes.yaml (not NUL-terminated).

    Checks: a failure gives messages "fuzz.yaml:LINE:COLUMN: FIELD: problem",
    one a line in the order of LINE, each LINE within the text (YAML line
    breaks), and at most 32 of them then "... and N more"; the same text gives the
    same result and message again, also with a tiny message buffer (cut
    short, never overrun) or none; a success has every value in range:
    keys of 16, 24 or 32 bytes, unique non-empty names that
    config_wormhole finds, ordered handover and probe ranges, ports 1..65535,
    extra ports present when counted, relays to wormholes that exist, no
    standalone proxy relaying to a wormhole; config_print prints it without
    the key (in hex, either case) and config_destroy clears the pointer.
*/
#include <ctype.h>
#include <strings.h>

#include "config/config.h"
#include "test/fuzz/fuzz_common.h"

#define S_SOURCE "fuzz.yaml"

//  One message (err: a line of the messages, without its '\n'); returns its line.
static long
s_check_message (const char *err, const uint8_t *text, size_t len)
{
    //  YAML's line breaks, as libyaml counts them: LF, CR not before an LF,
    //  NEL (C2 85), LS and PS (E2 80 A8/A9)
    size_t lines = 1;
    for (size_t i = 0; i < len; i++)
        lines += text [i] == '\n' || (text [i] == '\r' && (i + 1 == len || text [i + 1] != '\n'))
              || (text [i] == 0xC2 && i + 1 < len && text [i + 1] == 0x85)
              || (text [i] == 0xE2 && i + 2 < len && text [i + 1] == 0x80
                  && (text [i + 2] == 0xA8 || text [i + 2] == 0xA9));
    size_t n = strlen (S_SOURCE);
    FUZZ_CHECK (strncmp (err, S_SOURCE ":", n + 1) == 0);
    const char *p = err + n + 1;
    char *end;
    long line = strtol (p, &end, 10);
    FUZZ_CHECK (end > p && *end == ':' && isdigit ((unsigned char) p [0]));
    FUZZ_CHECK (line >= 1 && (size_t) line <= lines + 1);
    p = end + 1;
    long column = strtol (p, &end, 10);
    FUZZ_CHECK (end > p && column >= 1 && isdigit ((unsigned char) p [0]));
    FUZZ_CHECK (end [0] == ':' && end [1] == ' ');
    const char *field = end + 2, *sep = strstr (field, ": ");
    FUZZ_CHECK (sep && sep > field);
    FUZZ_CHECK (sep [2] != 0);
    return line;
}

static void
s_check_messages (char *err, const uint8_t *text, size_t len)
{
    long last = 0;
    size_t count = 0;
    for (char *line = err; line; count++) {
        char *end = strchr (line, '\n');
        if (end)
            *end = 0;
        if (strncmp (line, "... and ", 8) == 0) {
            FUZZ_CHECK (!end && count == 32);
            char *more;
            FUZZ_CHECK (strtol (line + 8, &more, 10) >= 1 && strcmp (more, " more") == 0);
        }
        else {
            long at = s_check_message (line, text, len);
            FUZZ_CHECK (at >= last);
            last = at;
        }
        if (end)
            *end = '\n';
        line = end ? end + 1 : NULL;
    }
    FUZZ_CHECK (count <= 33);
}

static void
s_hex (const uint8_t *key, size_t n, bool upper, char *out)
{
    for (size_t i = 0; i < n; i++)
        sprintf (out + 2 * i, upper ? "%02X" : "%02x", key [i]);
}

//  How many times needle (lower-case hex) stands in text, in either case.
static size_t
s_count_ci (const uint8_t *text, size_t len, const char *needle)
{
    size_t n = strlen (needle), count = 0;
    for (size_t i = 0; n && i + n <= len; i++)
        if (strncasecmp ((const char *) text + i, needle, n) == 0)
            count++;
    return count;
}

static void
s_check_config (config_t *c, const uint8_t *text, size_t len)
{
    FUZZ_CHECK (c->source && strcmp (c->source, S_SOURCE) == 0);
    FUZZ_CHECK (c->workers >= 0);
    FUZZ_CHECK ((c->proxies != NULL) == (c->proxy_count > 0));
    FUZZ_CHECK ((c->wormholes != NULL) == (c->wormhole_count > 0));
    for (size_t i = 0; i < c->proxy_count; i++) {
        const proxy_conf_t *p = &c->proxies [i];
        FUZZ_CHECK (p->listen.port >= 1 && p->listen.host [0]);
        FUZZ_CHECK (p->handler.kind != CONFIG_RELAY_WORMHOLE);
        if (p->handler.kind == CONFIG_RELAY)
            FUZZ_CHECK (p->handler.relay_to.port >= 1 && p->handler.relay_to.host [0]);
    }
    for (size_t i = 0; i < c->wormhole_count; i++) {
        const wormhole_conf_t *w = &c->wormholes [i];
        FUZZ_CHECK (w->name [0] && memchr (w->name, 0, sizeof w->name));
        FUZZ_CHECK (config_wormhole (c, w->name) == w);
        for (size_t j = 0; j < i; j++)
            FUZZ_CHECK (strcmp (c->wormholes [j].name, w->name) != 0);
        FUZZ_CHECK (w->key_len == 16 || w->key_len == 24 || w->key_len == 32);
        FUZZ_CHECK (w->server.port >= 1 && w->wormhole_remote.port >= 1);
        FUZZ_CHECK ((w->extra_ports != NULL) == (w->extra_port_count > 0));
        for (size_t k = 0; k < w->extra_port_count; k++)
            FUZZ_CHECK (w->extra_ports [k] >= 1);
        FUZZ_CHECK (w->handover_min_s >= 0 && w->handover_min_s <= w->handover_max_s);
        FUZZ_CHECK (w->probe_close_min_s >= 0 && w->probe_close_min_s <= w->probe_close_max_s);
        FUZZ_CHECK (w->connect_timeout_s >= 0);
        FUZZ_CHECK (w->mode == WORMHOLE_AGGREGATED || w->mode == WORMHOLE_DISTRIBUTED);
        if (w->handler.kind == CONFIG_RELAY_WORMHOLE)
            FUZZ_CHECK (config_wormhole (c, w->handler.relay_wormhole) != NULL);
        if (w->has_local_proxy)
            FUZZ_CHECK (w->local_proxy.port >= 1);
        if (w->has_listen)
            FUZZ_CHECK (w->listen.port >= 1 && w->listen.host [0]);
    }

    char *printed = NULL;
    size_t plen = 0;
    FILE *out = open_memstream (&printed, &plen);
    FUZZ_CHECK (out);
    config_print (c, out);
    fclose (out);
    for (size_t i = 0; i < c->wormhole_count; i++) {
        const wormhole_conf_t *w = &c->wormholes [i];
        char hex [65];
        s_hex (w->key, w->key_len, false, hex);
        //  The same digits elsewhere in the file (a host name, say) may be
        //  printed as what they are there: only the key's own is checked.
        if (s_count_ci (text, len, hex) > 1)
            continue;
        FUZZ_CHECK (strstr (printed, hex) == NULL);
        s_hex (w->key, w->key_len, true, hex);
        FUZZ_CHECK (strstr (printed, hex) == NULL);
    }
    free (printed);
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
    uint8_t *text = fuzz_dup (data, size);
    static char err [16384];
    err [0] = 0;
    config_t *c = config_parse ((const char *) text, size, S_SOURCE, err, sizeof err);
    //  again, with a message buffer of 8 bytes and with none
    char *small = malloc (8);
    config_t *c2 = config_parse ((const char *) text, size, S_SOURCE, small, 8);
    config_t *c3 = config_parse ((const char *) text, size, S_SOURCE, NULL, 0);
    FUZZ_CHECK ((c == NULL) == (c2 == NULL) && (c == NULL) == (c3 == NULL));
    if (!c) {
        FUZZ_CHECK (err [0]);
        s_check_messages (err, text, size);
        FUZZ_CHECK (memchr (small, 0, 8) && strncmp (small, err, strlen (small)) == 0);
        static char again [16384];
        again [0] = 0;
        config_t *c4 = config_parse ((const char *) text, size, S_SOURCE, again, sizeof again);
        FUZZ_CHECK (c4 == NULL && strcmp (again, err) == 0);
    }
    else {
        s_check_config (c, text, size);
        FUZZ_CHECK (c2->wormhole_count == c->wormhole_count && c2->proxy_count == c->proxy_count);
        config_destroy (&c);
        FUZZ_CHECK (c == NULL);
        config_destroy (&c2);
        config_destroy (&c3);
    }
    free (small);
    free (text);
    return 0;
}
