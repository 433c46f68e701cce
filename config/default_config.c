/*  default_config — the configuration `mimicsocks` runs without --config:
    loopback-only proxies, so that a fresh build can be tried with curl. */
#include "config/default_config.h"

const char default_config_text[] =
    "# mimicsocks embedded default configuration\n"
    "log_level: info\n"
    "proxies:\n"
    "  - listen: 127.0.0.1:1080\n"
    "    handler: socks\n"
    "  - listen: 127.0.0.1:8080\n"
    "    handler: http\n";
