/*
 * random.c: the CSPRNG and the seeded splitmix64 stream (see random.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <openssl/rand.h>
#include "cw/random.h"

void cw_random_bytes(void *out, size_t len)
{
    if (RAND_bytes(out, len) != 1) {
        fprintf(stderr, "fatal: RAND_bytes failed\n");
        abort();
    }
}

uint64_t cw_random_u64(void)
{
    uint64_t v;
    cw_random_bytes(&v, sizeof(v));
    return v;
}

uint64_t cw_splitmix64(uint64_t *state)
{
    uint64_t z = (*state += UINT64_C(0x9E3779B97F4A7C15));
    z = (z ^ (z >> 30)) * UINT64_C(0xBF58476D1CE4E5B9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94D049BB133111EB);
    return z ^ (z >> 31);
}
