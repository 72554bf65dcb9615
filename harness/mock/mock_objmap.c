/*
 * mock_objmap.c: a treap of objects keyed by byte strings (see mock_objmap.h).
 * Each node carries a random priority and the tree is a heap on priorities,
 * which keeps its expected depth logarithmic whatever the insertion order
 * (the emulator sees long runs of keys in sorted order).
 */
#include <stdlib.h>
#include <string.h>
#include "cw/util.h"
#include "mock_objmap.h"
#include "mock_util.h"

typedef struct st_node_t {
    cw_mock_obj_t obj;
    uint64_t priority;
    struct st_node_t *left, *right;
} node_t;

struct st_cw_mock_objmap_t {
    node_t *root;
    size_t num_objects;
    uint64_t num_bytes;
    uint64_t next_generation;
    cw_mock_rng_t rng;
};

static int compare_keys(const char *a, size_t a_len, const char *b, size_t b_len)
{
    int c = memcmp(a, b, a_len < b_len ? a_len : b_len);
    if (c != 0) {
        return c;
    }
    return a_len < b_len ? -1 : a_len > b_len ? 1 : 0;
}

static int has_prefix(const cw_mock_obj_t *obj, const char *prefix, size_t prefix_len)
{
    return obj->key_len >= prefix_len && memcmp(obj->key, prefix, prefix_len) == 0;
}

static void free_node(node_t *node)
{
    free(node->obj.key);
    free(node->obj.data);
    free(node);
}

static void free_tree(node_t *node)
{
    /* Recursion depth is the tree's depth: logarithmic with high probability. */
    if (node == NULL) {
        return;
    }
    free_tree(node->left);
    free_tree(node->right);
    free_node(node);
}

cw_mock_objmap_t *cw_mock_objmap_new(uint64_t first_generation, uint64_t seed)
{
    cw_mock_objmap_t *map = cw_calloc(1, sizeof(*map));
    map->next_generation = first_generation != 0 ? first_generation : 1;
    cw_mock_rng_seed(&map->rng, seed);
    return map;
}

void cw_mock_objmap_free(cw_mock_objmap_t *map)
{
    if (map == NULL) {
        return;
    }
    free_tree(map->root);
    free(map);
}

void cw_mock_objmap_clear(cw_mock_objmap_t *map)
{
    free_tree(map->root);
    map->root = NULL;
    map->num_objects = 0;
    map->num_bytes = 0;
}

static node_t *find(const cw_mock_objmap_t *map, const char *key, size_t key_len)
{
    node_t *node = map->root;
    while (node != NULL) {
        int c = compare_keys(key, key_len, node->obj.key, node->obj.key_len);
        if (c == 0) {
            return node;
        }
        node = c < 0 ? node->left : node->right;
    }
    return NULL;
}

const cw_mock_obj_t *cw_mock_objmap_get(const cw_mock_objmap_t *map, const char *key, size_t key_len)
{
    node_t *node = find(map, key, key_len);
    return node != NULL ? &node->obj : NULL;
}

static node_t *rotate_right(node_t *node)
{
    node_t *l = node->left;
    node->left = l->right;
    l->right = node;
    return l;
}

static node_t *rotate_left(node_t *node)
{
    node_t *r = node->right;
    node->right = r->left;
    r->left = node;
    return r;
}

/* insert adds |fresh| (whose key is known to be absent) below |node|; returns the new subtree root. */
static node_t *insert(node_t *node, node_t *fresh)
{
    if (node == NULL) {
        return fresh;
    }
    if (compare_keys(fresh->obj.key, fresh->obj.key_len, node->obj.key, node->obj.key_len) < 0) {
        node->left = insert(node->left, fresh);
        if (node->left->priority > node->priority) {
            node = rotate_right(node);
        }
    } else {
        node->right = insert(node->right, fresh);
        if (node->right->priority > node->priority) {
            node = rotate_left(node);
        }
    }
    return node;
}

/* erase unlinks the node holding |key| (known to be present) from |node|'s subtree into *out_removed. */
static node_t *erase(node_t *node, const char *key, size_t key_len, node_t **out_removed)
{
    int c = compare_keys(key, key_len, node->obj.key, node->obj.key_len);
    if (c < 0) {
        node->left = erase(node->left, key, key_len, out_removed);
        return node;
    }
    if (c > 0) {
        node->right = erase(node->right, key, key_len, out_removed);
        return node;
    }
    if (node->left == NULL || node->right == NULL) {
        *out_removed = node;
        return node->left != NULL ? node->left : node->right;
    }
    /* Rotate the higher-priority child up, then keep sinking the node. */
    if (node->left->priority > node->right->priority) {
        node_t *top = rotate_right(node);
        top->right = erase(top->right, key, key_len, out_removed);
        return top;
    }
    node_t *top = rotate_left(node);
    top->left = erase(top->left, key, key_len, out_removed);
    return top;
}

static int precondition_holds(const node_t *node, int64_t if_generation)
{
    if (if_generation == CW_MOCK_OBJ_ANY) {
        return 1;
    }
    if (if_generation == 0) {
        return node == NULL;
    }
    return node != NULL && node->obj.generation == (uint64_t)if_generation;
}

cw_mock_obj_status_t cw_mock_objmap_put(cw_mock_objmap_t *map, const char *key, size_t key_len, const void *data, size_t data_len,
                                        int64_t if_generation, int64_t now_ms, uint64_t *out_generation)
{
    node_t *node = find(map, key, key_len);
    if (!precondition_holds(node, if_generation)) {
        return CW_MOCK_OBJ_PRECONDITION;
    }
    char *copy = cw_malloc(data_len + 1);
    if (data_len != 0) {
        memcpy(copy, data, data_len);
    }
    copy[data_len] = '\0';
    if (node != NULL) {
        map->num_bytes -= node->obj.data_len;
        free(node->obj.data);
    } else {
        node = cw_calloc(1, sizeof(*node));
        node->obj.key = cw_strndup(key, key_len);
        node->obj.key_len = key_len;
        node->priority = cw_mock_rng_next(&map->rng);
        map->root = insert(map->root, node);
        ++map->num_objects;
    }
    node->obj.data = copy;
    node->obj.data_len = data_len;
    node->obj.generation = map->next_generation++;
    node->obj.updated_ms = now_ms;
    map->num_bytes += data_len;
    if (out_generation != NULL) {
        *out_generation = node->obj.generation;
    }
    return CW_MOCK_OBJ_OK;
}

cw_mock_obj_status_t cw_mock_objmap_delete(cw_mock_objmap_t *map, const char *key, size_t key_len, int64_t if_generation)
{
    node_t *node = find(map, key, key_len);
    if (node == NULL) {
        return CW_MOCK_OBJ_NOT_FOUND;
    }
    if (!precondition_holds(node, if_generation)) {
        return CW_MOCK_OBJ_PRECONDITION;
    }
    node_t *removed = NULL;
    map->root = erase(map->root, key, key_len, &removed);
    --map->num_objects;
    map->num_bytes -= removed->obj.data_len;
    free_node(removed);
    return CW_MOCK_OBJ_OK;
}

size_t cw_mock_objmap_count(const cw_mock_objmap_t *map)
{
    return map->num_objects;
}

uint64_t cw_mock_objmap_bytes(const cw_mock_objmap_t *map)
{
    return map->num_bytes;
}

typedef struct st_list_ctx_t {
    const char *prefix;
    size_t prefix_len;
    const char *after; /* may be NULL */
    size_t after_len;
    size_t max;
    const cw_mock_obj_t **out;
    size_t num_out;
    int truncated;
    int done;
} list_ctx_t;

/* below_start reports whether |obj| sorts before the first key the listing may return. */
static int below_start(const list_ctx_t *ctx, const cw_mock_obj_t *obj)
{
    if (compare_keys(obj->key, obj->key_len, ctx->prefix, ctx->prefix_len) < 0) {
        return 1;
    }
    return ctx->after != NULL && compare_keys(obj->key, obj->key_len, ctx->after, ctx->after_len) <= 0;
}

/* walk visits |node|'s subtree in key order, skipping subtrees wholly before
 * the start and stopping at the first key past the prefix or at max + 1. */
static void walk(list_ctx_t *ctx, const node_t *node)
{
    if (node == NULL || ctx->done) {
        return;
    }
    int before = below_start(ctx, &node->obj);
    if (!before) {
        walk(ctx, node->left);
        if (ctx->done) {
            return;
        }
        if (!has_prefix(&node->obj, ctx->prefix, ctx->prefix_len)) {
            ctx->done = 1; /* every later key is past the prefix range too */
            return;
        }
        if (ctx->num_out == ctx->max) {
            ctx->truncated = 1;
            ctx->done = 1;
            return;
        }
        ctx->out[ctx->num_out++] = &node->obj;
    }
    walk(ctx, node->right);
}

size_t cw_mock_objmap_list(const cw_mock_objmap_t *map, const char *prefix, size_t prefix_len, const char *after, size_t after_len,
                           size_t max, const cw_mock_obj_t **out, int *out_truncated)
{
    list_ctx_t ctx = {.prefix = prefix != NULL ? prefix : "",
                      .prefix_len = prefix != NULL ? prefix_len : 0,
                      .after = after,
                      .after_len = after_len,
                      .max = max,
                      .out = out};
    walk(&ctx, map->root);
    if (out_truncated != NULL) {
        *out_truncated = ctx.truncated;
    }
    return ctx.num_out;
}
