/*
 * gen.h: a deterministic generator of realistic enriched leads, as a Clay
 * table's HTTP API column would send them to the function.
 *
 * Lead |index| of |seed| is a pure function of (seed, index, flags): the same
 * triple always yields the same bytes, on every platform (cw_splitmix64 PRNG,
 * no rand(), no locale, no floating-point formatting). Leads are independent of
 * each other, so any index can be generated without generating the others.
 *
 * A lead has a row_id unique per (seed, index), first/last names drawn from a
 * list that includes non-ASCII names (José, Zoë, Łukasz, 李, محمد, Björk, ...),
 * an invented but plausible company with its domain, a work email
 * first.last@domain (missing for about 5% of leads), a title, an industry, an
 * employee count, a LinkedIn URL, an ICP score spread over 0-100 (integers
 * mostly, about 12% with decimals, about 3% without a score) and sometimes a
 * personalised opener containing quotes, '&', '<', a newline and an emoji.
 *
 * Without flags the body uses snake_case keys like the reference template
 * (email, first_name, icp_score, ...), JSON numbers for numbers, and leaves out
 * fields that are absent. With CW_GEN_MUTATE_TYPES, each lead independently
 * (decided by its own PRNG stream) may get Clay-style variance: numbers as
 * strings ("85", " 85 ", "1,200"), absent values written as null or "",
 * optional fields null or "", column-title keys ("Work Email", "ICP Score",
 * "Company Name", "Job Title", ...) or "work_email" instead of "email".
 * Mutations change the representation only, never the meaning: the routing
 * facts of a lead are the same with and without the flag.
 */
#ifndef CW_HARNESS_GEN_H
#define CW_HARNESS_GEN_H

#include <stddef.h>
#include <stdint.h>

#define CW_GEN_MUTATE_TYPES 0x1u

typedef enum en_cw_gen_route_t {
    CW_GEN_ROUTE_SKIP = 0,
    CW_GEN_ROUTE_NURTURE,
    CW_GEN_ROUTE_OUTREACH,
} cw_gen_route_t;

/* The function's routing thresholds (docs/design.md §6). */
typedef struct st_cw_gen_thresholds_t {
    double outreach_min; /* OUTREACH_MIN_SCORE, default 80 */
    double nurture_min;  /* NURTURE_MIN_SCORE, default 50 */
    double slack_min;    /* SLACK_MIN_SCORE, default 90 */
} cw_gen_thresholds_t;

#define CW_GEN_THRESHOLDS_DEFAULT                                                                                                  \
    {                                                                                                                              \
        80.0, 50.0, 90.0                                                                                                           \
    }

/* What the function should do with a lead, derived without parsing JSON. */
typedef struct st_cw_gen_facts_t {
    char row_id[48];      /* the lead's row_id ("Row ID") value, NUL-terminated */
    int has_score;        /* 0 when icp_score is absent, null or "" */
    int32_t score_centi;  /* the score times 100, exact; 0 when !has_score */
    double score;         /* score_centi / 100.0; 0 when !has_score */
    int has_email;        /* 0 when the email is absent, null or "" */
    cw_gen_route_t route; /* with the default thresholds */
    int slack;            /* with the default thresholds: score >= 90 */
} cw_gen_facts_t;

/* Deliveries the mock sinks should see for one lead (each 0 or 1). */
typedef struct st_cw_gen_sinks_t {
    unsigned outreach;
    unsigned nurture;
    unsigned zapier;
    unsigned slack;
} cw_gen_sinks_t;

/* cw_gen_lead_json returns the JSON body of lead |index| for |seed| with |flags| (CW_GEN_*), a
 * NUL-terminated string of *|out_len| bytes (not counting the NUL; |out_len| may be NULL) that the caller
 * frees with free(). Never fails (aborts on out-of-memory). */
char *cw_gen_lead_json(uint64_t seed, size_t index, unsigned flags, size_t *out_len);

/* cw_gen_lead_facts fills |out| with the routing facts of lead |index| for |seed|, which hold for the
 * body cw_gen_lead_json returns with any flags. */
void cw_gen_lead_facts(uint64_t seed, size_t index, cw_gen_facts_t *out);

/* cw_gen_route returns the route of |facts| under |thresholds| (NULL = the defaults): outreach when the
 * score >= outreach_min and there is an email, else nurture when the score >= nurture_min, else skip
 * (also without a score). */
cw_gen_route_t cw_gen_route(const cw_gen_facts_t *facts, const cw_gen_thresholds_t *thresholds);

/* cw_gen_expected_sinks fills |out| with the deliveries |facts| should cause under |thresholds| (NULL =
 * the defaults): the route's sink, zapier for outreach and nurture, slack when the score >= slack_min. */
void cw_gen_expected_sinks(const cw_gen_facts_t *facts, const cw_gen_thresholds_t *thresholds, cw_gen_sinks_t *out);

/* cw_gen_route_name returns "skip", "nurture" or "outreach" (static storage). */
const char *cw_gen_route_name(cw_gen_route_t route);

#endif
