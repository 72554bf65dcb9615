/*
 * random.h: randomness. cw_random_* draw from BoringSSL's CSPRNG (secrets,
 * ids, jitter; any thread). cw_splitmix64 is the one seeded generator: the
 * same seed gives the same sequence on every platform (generated leads,
 * fixtures, shuffles, the mock's fault injection), and it is no CSPRNG.
 */
#ifndef CW_RANDOM_H
#define CW_RANDOM_H

#include <stddef.h>
#include <stdint.h>

/* cw_random_bytes fills |out| from the CSPRNG (BoringSSL); aborts on failure. */
void cw_random_bytes(void *out, size_t len);
/* cw_random_u64 returns a uniformly random 64-bit value from the CSPRNG. */
uint64_t cw_random_u64(void);

/* cw_splitmix64 advances |*state| and returns its next 64-bit value
 * (Vigna's splitmix64: seed 0 gives 0xe220a8397b1dcdaf, 0x6e789e6aa1b965f4, …).
 * The caller owns |state|; one state per thread. */
uint64_t cw_splitmix64(uint64_t *state);

#endif
