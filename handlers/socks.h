/*  socks — the SOCKS4/4a/5 CONNECT handler (kinds socks, socks4, socks5).

    Glue between the session API and socks_codec: it reads the request,
    connects to the target, answers the client and switches to relaying.
*/
#ifndef MK_SOCKS_H
#define MK_SOCKS_H

#include "runtime/handler.h"

extern const handler_class_t socks_handler_class;

#endif
