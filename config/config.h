/*  config — loads and validates wormholes.yaml, the one file both ends of
    every wormhole share (PROTOCOL.md section 12).

    The loader turns the YAML into plain structs with every default filled in,
    so the rest of the program never looks at YAML and never re-checks a value.
    Every problem gives one message of the form

        FILE:LINE:COLUMN: FIELD: problem

    where LINE:COLUMN (1-based) is the offending node, or for a missing field
    the mapping that lacks it, and FIELD is a path such as wormholes[1].key or
    proxies[0].listen ("yaml" for syntax errors, "config" for the file as a
    whole). Key material is never part of a message. The messages of one
    file come in the order of their lines, one a line (at most 32, then
    "... and N more"); a YAML syntax error is the only one of its run.
*/
#ifndef MK_CONFIG_H
#define MK_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "runtime/base/acl.h"
#include "runtime/base/addr.h"
#include "runtime/base/log.h"

typedef enum { WORMHOLE_AGGREGATED, WORMHOLE_DISTRIBUTED } wormhole_mode_t;
//  protocol: v1 (the original's, PROTOCOL.md) or v2 (docs/PROTOCOL-v2.md, the default).
typedef enum { PROTOCOL_V1 = 1, PROTOCOL_V2 = 2 } wire_protocol_t;
//  cipher: (v2 only), in the order of nodes/v2_keys.h's suites.
typedef enum { CONFIG_AES_256_GCM = 0, CONFIG_CHACHA20_POLY1305 = 1 } config_cipher_t;
//  wire: (v2 only) tls, records and first flights shaped as TLS 1.3 (the
//  default; docs/PROTOCOL-v2.md section 9), or raw (every byte random).
typedef enum { CONFIG_WIRE_TLS = 0, CONFIG_WIRE_RAW = 1 } config_wire_t;
#define CONFIG_SNI_MAX 253
typedef enum { MIMIC_RANDOM, MIMIC_OFF, MIMIC_FIXED } mimic_choice_t;
//  mimic: {size, delay}, as written (nodes/mimic.h has the codec's own types).
typedef enum {
    CONFIG_SIZE_IDENTITY, CONFIG_SIZE_CONSTANT, CONFIG_SIZE_UNIFORM, CONFIG_SIZE_GAUSSIAN
} config_mimic_size_t;
typedef enum {
    CONFIG_DELAY_IDENTITY, CONFIG_DELAY_CONSTANT, CONFIG_DELAY_UNIFORM, CONFIG_DELAY_GAUSSIAN,
    CONFIG_DELAY_EXPONENTIAL
} config_mimic_delay_t;

//  handler: and relay: as written. What runs for them is the business of
//  actors/handler_registry.h, so that the config knows no handler class.
typedef enum {
    CONFIG_SOCKS,           //  SOCKS4, 4a and 5, picked by the client's version byte
    CONFIG_SOCKS4,          //  SOCKS4 and 4a only
    CONFIG_SOCKS5,          //  SOCKS5 only
    CONFIG_HTTP,            //  HTTP proxy: CONNECT and absolute-URI requests
    CONFIG_RELAY,           //  fixed target address
    CONFIG_RELAY_WORMHOLE   //  another wormhole's local end, by name (multi-hop)
} config_handler_type_t;

//  A socks or http handler's allow:, deny: and users: point into the
//  config (arrays the config owns and frees); a copy of the struct shares them.
typedef struct {
    config_handler_type_t kind;
    hostport_t relay_to;            //  CONFIG_RELAY
    char relay_wormhole [64];       //  CONFIG_RELAY_WORMHOLE
    acl_t acl;                      //  allow: and deny: (socks, http; empty: the defaults)
    acl_users_t users;              //  users: (socks, socks5, http; empty: no auth)
} config_handler_t;

//  A standalone proxy: a handler listening on an address, no wormhole.
typedef struct {
    hostport_t listen;
    config_handler_t handler;       //  never CONFIG_RELAY_WORMHOLE
    int line;                       //  line of the entry, for messages
} proxy_conf_t;

typedef struct {
    char name[64];
    hostport_t server;              //  where users connect (the local end listens)
    hostport_t wormhole_remote;     //  the remote end's main port
    bool has_listen;                //  listen: given
    hostport_t listen;              //  what the remote end binds (behind NAT); else wormhole_remote
    wormhole_mode_t mode;
    config_handler_t handler;       //  run at the end opposite the users
    uint16_t *extra_ports;          //  handover ports on wormhole_remote's host
    size_t extra_port_count;
    uint8_t key [32];
    size_t key_len;                 //  16, 24 or 32
    wire_protocol_t protocol;
    config_cipher_t cipher;         //  v2 only
    config_wire_t wire;             //  v2 only
    char sni [CONFIG_SNI_MAX + 1];  //  wire: tls, the ClientHello's server_name ("": none)
    bool early_data;                //  wire: tls, send before the server's flight (0-RTT)
    bool has_fallback;              //  fallback: (the accepting end) where a connection
    hostport_t fallback;            //  that is not a client of ours is spliced to
    bool reverse;
    bool has_local_proxy;
    hostport_t local_proxy;         //  HTTP CONNECT proxy for the dialing end
    int handover_min_s, handover_max_s;         //  0,0 = disabled
    mimic_choice_t mimic;
    config_mimic_size_t mimic_size;             //  only for MIMIC_FIXED
    config_mimic_delay_t mimic_delay;           //  only for MIMIC_FIXED
    bool mimic_padding;
    int probe_close_min_s, probe_close_max_s;
    int connect_timeout_s;
    bool optimistic;                //  the local end answers a CONNECT itself (actors/local_answer.h)
    bool preconnect;                //  distributed: a tunnel connection is dialed ahead of the next user
    int line;                       //  line of the entry, for messages
} wormhole_conf_t;

typedef struct {
    char *source;                   //  file name (or "<default>")
    log_level_t log_level;
    bool has_log_level;
    bool log_destinations;          //  targets and URLs at info too (else debug only)
    char *trace_endpoint;           //  NULL if not set
    int workers;                    //  0 = one per core
    bool trace_public;              //  trace: may be bound on a non-loopback address
    bool has_metrics;
    hostport_t metrics;             //  metrics: the Prometheus endpoint (loopback unless
    bool metrics_public;            //  metrics_public: true)
    int handshake_timeout_s;        //  handshake_timeout: 0 = the default (15 s)
    proxy_conf_t *proxies;
    size_t proxy_count;
    wormhole_conf_t *wormholes;
    size_t wormhole_count;
} config_t;

//  Read and validate a file. Returns NULL with the messages in err on failure.
config_t *
    config_load (const char *path, char *err, size_t errlen);

//  Same, from text in memory; source names it in messages (NULL: "<default>").
config_t *
    config_parse (const char *text, size_t len, const char *source, char *err, size_t errlen);

//  Free a config (wiping the keys) and set *self_p to NULL.
void
    config_destroy (config_t **self_p);

//  The wormhole of that name, or NULL if none.
const wormhole_conf_t *
    config_wormhole (const config_t *self, const char *name);

//  "socks", "socks4", "socks5", "http", "relay" -> kind (the words of
//  handler: and of the command line); -1 if unknown.
int
    config_handler_parse (const char *name);

//  The word for a kind ("relay" for both relays), for the CLI and messages.
const char *
    config_handler_name (config_handler_type_t kind);

//  Human summary for `check-config`. Prints "key: (N bytes)", never the key.
void
    config_print (const config_t *self, FILE *out);

#endif
