/*  mimic_node — the mimic (nodes/mimic.h) as a node of a tunnel side's
    stack, outermost on the send path (after the cipher).

    It does not hold bytes: what it is given passes on at once (the driver
    queues it toward the socket) and the mimic learns its size and timing.
    While its model shapes (anything but identity/identity) the node gates
    the outer end: it schedules the queued bytes by count and RELEASEs them
    when its model says, asks for a WAKE at the next release, and reports a
    SHORTFALL when a model send wanted more than was queued. Padding chunks
    (NODE_PADDING) are released at once and not learned from.
*/
#ifndef MK_MIMIC_NODE_H
#define MK_MIMIC_NODE_H

#include "nodes/mimic.h"
#include "nodes/node.h"

typedef struct mimic_node_t mimic_node_t;

//  The driver's clock in ms (the codec itself has none).
typedef uint64_t (mimic_clock_fn) (void);

//  model NULL: identity / identity. NULL if the model is out of range.
mimic_node_t *mimic_node_new (const mimic_model_t *model, mimic_clock_fn *clock);

//  A new model (it keeps what it learned). Returns 0, or -1 (nothing
//  changed) if the model is out of range. The driver pumps next.
int mimic_node_set_model (mimic_node_t *self, const mimic_model_t *model);

//  Bytes pass at once for ms (e.g. 5 s after a NEW_SOCKET). The driver pumps next.
void mimic_node_suspend (mimic_node_t *self, int ms);

//  State: a mimic_node_t, which the stack owns.
extern const node_class_t mimic_node_class;

#endif
