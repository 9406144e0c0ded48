/*
 * server_int.h — shared only inside src/server: the MLLP glue's entry
 * points, called from cw_server_start/stop in http.c.
 */
#ifndef CW_SERVER_INT_H
#define CW_SERVER_INT_H

#include "server/server.h"

struct cw_server_mllp;

/*
 * Open <data>/journal.db and start the MLLP listener per the config. When
 * the listener is not wanted (mllp off) or no ACK builder is registered,
 * returns 0 with *out = NULL and a reason in note. -1 on a real failure.
 */
int cw_server_mllp_start(const struct cw_config *c, struct cw_server_mllp **out, char *note,
                         size_t note_size, struct cw_err *err);

/* The bound port. */
int cw_server_mllp_bound_port(const struct cw_server_mllp *m);

/* Stop the listener (its pending ACKs are sent), then close the journal. NULL: no-op. */
void cw_server_mllp_stop(struct cw_server_mllp *m);

#endif
