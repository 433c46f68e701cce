/*  default_config — the configuration `mimicsocks` runs without --config:
    two loopback wormholes with both ends in this process, so that a fresh
    build can be tried with curl at once (and its tunnels handed over with
    SIGUSR1, or every 20-30 minutes). The key is made new at every start
    (config_default_text fills in @KEY@), so no key is ever built in. */
#include "config/default_config.h"

const char default_config_text[] =
    "# mimicsocks embedded default configuration\n"
    "log_level: info\n"
    "wormholes:\n"
    "  - name: socks\n"
    "    server: 127.0.0.1:1080\n"
    "    wormhole_remote: 127.0.0.1:18443\n"
    "    wormhole: aggregated\n"
    "    handler: socks\n"
    "    extra_ports: [18445, 18446]\n"
    "    key: @KEY@\n"
    "  - name: http\n"
    "    server: 127.0.0.1:8080\n"
    "    wormhole_remote: 127.0.0.1:18444\n"
    "    wormhole: distributed\n"
    "    handler: http\n"
    "    extra_ports: [18447]\n"
    "    key: @KEY@\n";
