/*
 * random.c — getrandom(2) with the retry loop every caller would otherwise
 * have to write.
 */
#include "base/random.h"

#include <errno.h>
#include <sys/random.h>

int cw_random_bytes(void *dst, size_t n, struct cw_err *err)
{
    unsigned char *p = dst;
    while (n > 0) {
        ssize_t got = getrandom(p, n, 0);
        if (got < 0) {
            if (errno == EINTR) continue;
            return cw_err_set(err, CW_ISSUE_EXCEPTION, "getrandom failed (errno %d)", errno);
        }
        p += got;
        n -= (size_t)got;
    }
    return 0;
}

int cw_random_u64(uint64_t *out, struct cw_err *err)
{
    return cw_random_bytes(out, sizeof *out, err);
}
