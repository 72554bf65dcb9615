/*
 * mock_objmap.h: the object table of the mock GCS emulator. Objects are kept
 * sorted by key in a treap (a randomised balanced tree), so get, put and
 * delete take O(log n) and listing a page of k keys after a prefix or a
 * continuation point takes O(log n + k): thousands of objects stay fast.
 *
 * Keys are byte strings compared with memcmp (the emulator uses
 * "<bucket>/<object name>", so one bucket's objects are contiguous). Every
 * write is given a new generation, strictly increasing across the map, as GCS's
 * x-goog-generation. Not thread-safe: the caller locks.
 */
#ifndef CW_HARNESS_MOCK_OBJMAP_H
#define CW_HARNESS_MOCK_OBJMAP_H

#include <stddef.h>
#include <stdint.h>

typedef struct st_cw_mock_objmap_t cw_mock_objmap_t;

/* cw_mock_obj_t is one stored object; owned by the map, valid until the next change of the map. */
typedef struct st_cw_mock_obj_t {
    char *key; /* never NULL; NUL-terminated after key_len bytes */
    size_t key_len;
    char *data; /* never NULL; NUL-terminated after data_len bytes */
    size_t data_len;
    uint64_t generation; /* > 0 */
    int64_t updated_ms;  /* wall clock of the write */
} cw_mock_obj_t;

typedef enum en_cw_mock_obj_status_t {
    CW_MOCK_OBJ_OK,
    CW_MOCK_OBJ_NOT_FOUND,    /* delete: no such key */
    CW_MOCK_OBJ_PRECONDITION, /* the generation precondition did not hold */
} cw_mock_obj_status_t;

/* CW_MOCK_OBJ_ANY means "no generation precondition". */
#define CW_MOCK_OBJ_ANY INT64_C(-1)

/* cw_mock_objmap_new returns an empty map whose first write is given generation
 * |first_generation| (at least 1); |seed| drives the tree's balancing. Caller frees. */
cw_mock_objmap_t *cw_mock_objmap_new(uint64_t first_generation, uint64_t seed);
/* cw_mock_objmap_free releases |map| and every object (NULL is fine). */
void cw_mock_objmap_free(cw_mock_objmap_t *map);
/* cw_mock_objmap_clear removes every object; generations keep increasing. */
void cw_mock_objmap_clear(cw_mock_objmap_t *map);

/* cw_mock_objmap_get returns the object at |key| or NULL. Borrowed. */
const cw_mock_obj_t *cw_mock_objmap_get(const cw_mock_objmap_t *map, const char *key, size_t key_len);
/* cw_mock_objmap_put writes a copy of |data| at |key| if |if_generation|
 * holds: CW_MOCK_OBJ_ANY always, 0 only when |key| is absent, N only when the
 * current generation is N. Returns CW_MOCK_OBJ_OK with *out_generation (may
 * be NULL) set, or CW_MOCK_OBJ_PRECONDITION leaving the map unchanged. */
cw_mock_obj_status_t cw_mock_objmap_put(cw_mock_objmap_t *map, const char *key, size_t key_len, const void *data, size_t data_len,
                                        int64_t if_generation, int64_t now_ms, uint64_t *out_generation);
/* cw_mock_objmap_delete removes |key| if |if_generation| (as for put, 0 never
 * matching an existing object) holds. Returns CW_MOCK_OBJ_OK, CW_MOCK_OBJ_NOT_FOUND
 * (absent, whatever the precondition) or CW_MOCK_OBJ_PRECONDITION. */
cw_mock_obj_status_t cw_mock_objmap_delete(cw_mock_objmap_t *map, const char *key, size_t key_len, int64_t if_generation);

/* cw_mock_objmap_count returns the number of objects. */
size_t cw_mock_objmap_count(const cw_mock_objmap_t *map);
/* cw_mock_objmap_bytes returns the sum of the objects' sizes. */
uint64_t cw_mock_objmap_bytes(const cw_mock_objmap_t *map);

/* cw_mock_objmap_list fills |out| (room for |max| pointers) with the objects
 * whose key starts with |prefix| and, when |after| is not NULL, is greater
 * than |after|, in key order. Returns how many it wrote; *out_truncated is 1
 * when more such objects exist. The pointers are borrowed until the next change. */
size_t cw_mock_objmap_list(const cw_mock_objmap_t *map, const char *prefix, size_t prefix_len, const char *after, size_t after_len,
                           size_t max, const cw_mock_obj_t **out, int *out_truncated);

#endif
