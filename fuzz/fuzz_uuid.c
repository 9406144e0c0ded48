/*
 * fuzz_uuid.c — cw_uuid_parse on arbitrary bytes under each flag set.
 * Whatever parses must format back to the input (lowercased, without the
 * urn:uuid: prefix when one was given).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/uuid.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    cw_slice s = {(const char *)data, size};
    for (unsigned flags = 0; flags < 4; flags++) {
        struct cw_uuid u;
        struct cw_err err;
        cw_err_clear(&err);
        if (cw_uuid_parse(s, flags, &u, &err) != 0) {
            if (err.column == 0 || err.column > size + 1) abort();
            continue;
        }
        char text[CW_UUID_TEXT_LEN + 1];
        cw_uuid_format(&u, text);
        const char *src = (const char *)data + (size - CW_UUID_TEXT_LEN);
        for (size_t i = 0; i < CW_UUID_TEXT_LEN; i++) {
            char c = src[i];
            if (c >= 'A' && c <= 'F') c = (char)(c - 'A' + 'a');
            if (c != text[i]) abort();
        }
    }
    return 0;
}
