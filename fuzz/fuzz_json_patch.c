/*
 * fuzz_json_patch.c — JSON Patch (RFC 6902) documents applied to a fixed
 * resource: the patch comes from the client. The input is the patch text.
 *
 * Checks: no crash, no leak; a successful patch leaves a tree that writes
 * and parses back to the same text; a failed one sets an error with HTTP
 * 400 or 422 semantics (issue invalid, or processing with status 422).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/arena.h"
#include "json/json.h"
#include "server/rest_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char RESOURCE[] =
    "{\"resourceType\":\"Patient\",\"id\":\"p\",\"name\":[{\"family\":\"F\",\"given\":[\"A\",\"B\"]}],"
    "\"identifier\":[{\"system\":\"s\",\"value\":\"1\"}],\"active\":true,\"extension\":[{\"url\":\"u\","
    "\"valueString\":\"x\"}],\"contact\":[{\"name\":{\"family\":\"C\"}}]}";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 16384) return 0;
    struct cw_arena *a = cw_arena_new(32 << 20);
    struct cw_err err;
    struct cw_json *res, *patch;
    struct cw_json_opts o = {.max_depth = 64};
    if (cw_json_parse(a, RESOURCE, sizeof RESOURCE - 1, NULL, &res, &err) < 0) abort();
    if (cw_json_parse(a, (const char *)data, size, &o, &patch, &err) == 0) {
        cw_err_clear(&err);
        if (rest_json_patch(a, res, patch, &err) == 0) {
            struct cw_buf b;
            cw_buf_init(&b, 64 << 20);
            if (cw_json_write(&b, res, 0) == 0) {
                struct cw_json *back;
                if (cw_json_parse(a, b.ptr, b.len, NULL, &back, &err) < 0) abort();
                if (!cw_json_equal(back, res)) abort();
            }
            cw_buf_release(&b);
        } else if (err.issue != CW_ISSUE_INVALID && err.issue != CW_ISSUE_PROCESSING &&
                   err.issue != CW_ISSUE_TOO_COSTLY) {
            abort();
        }
    }
    cw_arena_destroy(a);
    return 0;
}
