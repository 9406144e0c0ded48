/*
 * testutil.h — shared helpers for the cmocka tests.
 *
 * Tests include <cmocka.h> through this header (cmocka needs stdarg, stddef,
 * setjmp first). Corpus access: cw_test_corpus("json-test-suite") gives the
 * folder's path or NULL when the shared corpus is absent; the test then calls
 * cw_test_skip("why") which prints the reason and exits 77 (ctest "Skipped").
 */
#ifndef CW_TESTUTIL_H
#define CW_TESTUTIL_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>
#include <cmocka.h>

#include "base/slice.h"

/* "<CW_CORPUS>/<sub>" when that folder exists, else NULL (static storage). */
const char *cw_test_corpus(const char *sub);

/* Print "SKIPPED: why" and exit 77. */
_Noreturn void cw_test_skip(const char *why);

/* Read a whole file (malloc'ed, NUL-terminated; *len its length). NULL on error. */
char *cw_test_read_file(const char *path, size_t *len);

/* The text of path when its name ends in ext (".json"), as cw_test_read_file;
   NULL for other names. A matching file that cannot be read fails the test. */
char *cw_test_read_if(const char *path, const char *ext, size_t *len);

/* Callback per regular file under dir (recursive, sorted by name). */
typedef void (*cw_test_file_fn)(const char *path, void *ctx);
int cw_test_walk(const char *dir, cw_test_file_fn fn, void *ctx);

#define assert_slice_equal(sl, cstr)                                                               \
    do {                                                                                           \
        cw_slice s_ = (sl);                                                                        \
        const char *c_ = (cstr);                                                                   \
        if (!cw_slice_eq_cstr(s_, c_))                                                             \
            fail_msg("slice \"%.*s\" != \"%s\"", (int)s_.len, s_.ptr ? s_.ptr : "", c_);           \
    } while (0)

#endif
