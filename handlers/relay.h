/*  relay — the handler that forwards a client's byte stream to a fixed
    address (handler: relay), the conf's relay_to.
*/
#ifndef MK_RELAY_H
#define MK_RELAY_H

#include "runtime/handler.h"

extern const handler_class_t relay_handler_class;

#endif
