/*  http — the HTTP proxy handler (handler: http).

    Glue between the session API and http_codec: CONNECT host:port becomes a
    tunnel; absolute-URI requests (GET http://host/path) are re-sent to the
    origin in origin form, with keep-alive on both the client and the origin
    connection.
*/
#ifndef MK_HTTP_H
#define MK_HTTP_H

#include "runtime/handler.h"

extern const handler_class_t http_handler_class;

//  Requests refused by the target rules (acl.h) since start, all http
//  handlers of the process together.
unsigned long http_denied_total (void);
//  Requests answered 407 (no or wrong Proxy-Authorization).
unsigned long http_auth_failed_total (void);

#endif
