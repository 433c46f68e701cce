/*  target_acl — what socks and http hand session_connect_filtered: the
    handler's rules (runtime/base/acl.h) and the first denial, for the log
    line and the reply.
*/
#ifndef MK_TARGET_ACL_H
#define MK_TARGET_ACL_H

#include <stdbool.h>
#include <sys/socket.h>

#include "runtime/base/acl.h"

typedef struct {
    const acl_t *acl;           //  NULL: the default rules
    char denied [160];          //  "127.0.0.1:22 denied: loopback" ("" if none)
    char logged [160];          //  the same for the log: "(a destination) denied: loopback"
                                //  unless destinations are logged (runtime/base/log.h)
} target_acl_t;

//  Before each connect: the denial it records, then an empty one.
void target_acl_reset (target_acl_t *self);

//  A session_filter_fn; arg is a target_acl_t.
bool target_acl_filter (void *arg, const struct sockaddr *sa);

#endif
