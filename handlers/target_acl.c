/*  target_acl — the session's connect filter for socks and http. */
#include "handlers/target_acl.h"

#include <stdio.h>

#include "runtime/base/addr.h"
#include "runtime/base/log.h"

void
target_acl_reset (target_acl_t *self)
{
    self->denied [0] = 0;
    self->logged [0] = 0;
}

bool
target_acl_filter (void *arg, const struct sockaddr *sa)
{
    target_acl_t *self = (target_acl_t *) arg;
    char why [96];
    if (acl_check (self->acl, sa, why, sizeof why))
        return true;
    if (!self->denied [0]) {
        char at [64];
        snprintf (self->denied, sizeof self->denied, "%s denied: %s",
                  addr_format (sa, at, sizeof at), why);
        snprintf (self->logged, sizeof self->logged, "%s denied: %s", log_dest (at), why);
    }
    return false;
}
