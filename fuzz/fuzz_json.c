/*
 * fuzz_json.c — libFuzzer target for the JSON codec (src/json).
 *
 * For each input, in plain, strict and BOM-allowing modes:
 *  - parse; a rejection must carry an issue, a message and, for syntax
 *    errors, a 1-based line and column;
 *  - strict may only be stricter than plain (accepts => plain accepts);
 *  - an accepted tree is written compact and pretty, each text parsed
 *    again: the trees must be cw_json_equal, and writing the second tree
 *    must give the same bytes (the writer is a fixed point);
 *  - every number node's text must satisfy cw_json_check_number, and the
 *    conversions must not crash;
 *  - the same input is parsed again under a tight arena ceiling: it must
 *    either give an equal tree or fail with "too-costly", never anything else.
 * Any violation aborts, which libFuzzer reports as a crash.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json/json.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "fuzz_json: check failed: %s (line %d)\n", #cond, __LINE__);           \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

/* Walk the tree (explicitly, no recursion) checking number texts. */
static void check_numbers(const struct cw_json *root)
{
    const struct cw_json *stack[64];
    size_t sp = 0;
    stack[sp++] = root;
    size_t visited = 0;
    while (sp && visited < 100000) {
        const struct cw_json *v = stack[--sp];
        visited++;
        if (v->type == CW_JSON_NUMBER) {
            CHECK(cw_json_check_number(cw_json_text(v)));
            long long i;
            double d;
            (void)cw_json_to_i64(v, &i);
            (void)cw_json_to_double(v, &d);
        } else if (v->type == CW_JSON_ARRAY) {
            for (uint32_t k = 0; k < v->len && sp < 64; k++) stack[sp++] = &v->u.items[k];
        } else if (v->type == CW_JSON_OBJECT) {
            for (uint32_t k = 0; k < v->len && sp < 64; k++) stack[sp++] = &v->u.members[k].value;
        }
    }
}

static void roundtrip(struct cw_arena *a, const struct cw_json *root, unsigned flags, int indent)
{
    struct cw_buf t1, t2;
    cw_buf_init(&t1, 0);
    cw_buf_init(&t2, 0);
    CHECK(cw_json_write(&t1, root, indent) == 0);
    struct cw_json_opts opts = {.flags = flags & CW_JSON_STRICT};
    struct cw_json *again = NULL;
    struct cw_err err;
    int rc = cw_json_parse(a, t1.ptr, t1.len, &opts, &again, &err);
    if (rc != 0) fprintf(stderr, "reparse failed: %u:%u %s\n", err.line, err.column, err.msg);
    CHECK(rc == 0);
    CHECK(cw_json_equal(root, again));
    CHECK(cw_json_write(&t2, again, indent) == 0);
    CHECK(t1.len == t2.len && memcmp(t1.ptr, t2.ptr, t1.len) == 0);
    cw_buf_release(&t1);
    cw_buf_release(&t2);
}

static int parse_mode(const uint8_t *data, size_t size, unsigned flags)
{
    struct cw_arena *a = cw_arena_new(64u << 20);
    CHECK(a != NULL);
    struct cw_json_opts opts = {.flags = flags};
    struct cw_json *root = NULL;
    struct cw_err err;
    int rc = cw_json_parse(a, (const char *)data, size, &opts, &root, &err);
    if (rc == 0) {
        CHECK(root != NULL);
        check_numbers(root);
        roundtrip(a, root, flags, 0);
        roundtrip(a, root, flags, 2);

        /* Tight ceiling: same tree or a clean too-costly. */
        size_t ceiling = cw_arena_used(a) / 3 + (size & 1023);
        struct cw_arena *small = cw_arena_new(ceiling ? ceiling : 1);
        CHECK(small != NULL);
        struct cw_json *t = NULL;
        struct cw_err e2;
        if (cw_json_parse(small, (const char *)data, size, &opts, &t, &e2) == 0)
            CHECK(cw_json_equal(root, t));
        else
            CHECK(e2.issue == CW_ISSUE_TOO_COSTLY && t == NULL);
        cw_arena_destroy(small);
    } else {
        CHECK(root == NULL);
        CHECK(err.issue != CW_ISSUE_NONE && err.msg[0] != '\0');
        if (err.issue == CW_ISSUE_STRUCTURE || err.issue == CW_ISSUE_DUPLICATE)
            CHECK(err.line >= 1 && err.column >= 1);
    }
    cw_arena_destroy(a);
    return rc;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int plain = parse_mode(data, size, 0);
    int strict = parse_mode(data, size, CW_JSON_STRICT);
    int bom = parse_mode(data, size, CW_JSON_ALLOW_BOM);
    if (strict == 0) CHECK(plain == 0);
    if (plain == 0) CHECK(bom == 0); /* allowing a BOM never rejects more */
    return 0;
}
