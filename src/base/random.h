/*
 * random.h — bytes from the kernel's CSPRNG (getrandom(2)).
 *
 * Used for UUIDs, hash-table keys and, later, tokens and nonces. There is no
 * user-space buffering: every call goes to the kernel, so a fork()ed child
 * can never repeat its parent's bytes.
 *
 * Thread safety: safe from any thread.
 */
#ifndef CW_BASE_RANDOM_H
#define CW_BASE_RANDOM_H

#include <stddef.h>
#include <stdint.h>

#include "base/err.h"

/*
 * Fill dst with n cryptographically strong random bytes. Retries on EINTR
 * and on short reads (getrandom returns at most 32 MiB per call, and may be
 * interrupted for requests over 256 bytes). Blocks only in early boot until
 * the kernel pool is initialized. Returns 0, or -1 with err (issue
 * "exception") when the kernel refuses (e.g. ENOSYS on very old kernels).
 */
int cw_random_bytes(void *dst, size_t n, struct cw_err *err);

/* One random 64-bit word; same failure rules as cw_random_bytes. */
int cw_random_u64(uint64_t *out, struct cw_err *err);

#endif
