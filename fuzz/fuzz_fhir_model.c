/*
 * fuzz_fhir_model.c — libFuzzer target: JSON text -> resource model walk.
 *
 * Parses the input as JSON (strict FHIR mode), makes the root node and
 * walks every node, checking each primitive value and formatting each
 * node's path; structural issues are collected, never fatal. Finds crashes,
 * leaks, overreads and unbounded recursion in fhir_model.c and the
 * primitive checkers on arbitrary resources.
 */
#include <stddef.h>
#include <stdint.h>

#include "fhir/fhir.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int visit(const struct cw_fhir_node *n, void *ctx)
{
    struct cw_buf *b = ctx;
    cw_buf_reset(b);
    cw_fhir_node_path(n, b);
    if ((n->flags & CW_FHIR_NODE_PRIMITIVE) && n->value) {
        struct cw_err err;
        cw_fhir_check_json_primitive(n->type, n->value, &err);
    }
    return 0;
}

static int issue(const struct cw_fhir_node *n, const struct cw_err *err, void *ctx)
{
    (void)n, (void)err, (void)ctx;
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct cw_arena *a = cw_arena_new(64u << 20);
    if (!a) return 0;
    struct cw_json *root;
    struct cw_err err;
    struct cw_json_opts o = {.flags = CW_JSON_STRICT, .max_depth = 128};
    if (cw_json_parse(a, (const char *)data, size, &o, &root, &err) == 0) {
        struct cw_fhir_node node;
        if (cw_fhir_node_root(root, CW_FHIR_NONE_SD, &node, &err) == 0) {
            struct cw_buf b;
            cw_buf_init(&b, 1 << 20);
            cw_fhir_walk(&node, visit, issue, &b, 64, &err);
            cw_buf_release(&b);
        }
    }
    cw_arena_destroy(a);
    return 0;
}
