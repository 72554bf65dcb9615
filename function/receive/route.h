/*
 * route.h: routing a lead (docs/design.md §6) and the bodies sent to the sinks
 * (docs/design.md §8).
 *
 *   icp_score >= outreach_min and an email     -> outreach
 *   else icp_score >= nurture_min               -> nurture
 *   else, or no score                           -> skip
 *
 * Sinks: the route's webhook (outreach or nurture), Zapier for every outreach
 * and nurture lead, Slack for every lead with icp_score >= slack_min (whatever
 * its route: a lead scoring 95 without an email is nurture and still reaches
 * Slack). A sink whose URL is not configured is off.
 */
#ifndef CW_ROUTE_H
#define CW_ROUTE_H

#include <stddef.h>
#include "lead.h"

typedef enum en_cw_route_t {
    CW_ROUTE_SKIP,
    CW_ROUTE_NURTURE,
    CW_ROUTE_OUTREACH,
} cw_route_t;

typedef struct st_cw_route_config_t {
    double outreach_min; /* OUTREACH_MIN_SCORE, default 80 */
    double nurture_min;  /* NURTURE_MIN_SCORE, default 50 */
    double slack_min;    /* SLACK_MIN_SCORE, default 90 */
} cw_route_config_t;

#define CW_ROUTE_CONFIG_DEFAULT                                                                                                    \
    {                                                                                                                              \
        80, 50, 90                                                                                                                 \
    }

typedef enum en_cw_sink_t { CW_SINK_OUTREACH, CW_SINK_NURTURE, CW_SINK_ZAPIER, CW_SINK_SLACK, CW_SINK_COUNT } cw_sink_t;

#define CW_SINK_BIT(sink) (1u << (unsigned)(sink))
#define CW_SINK_ALL ((1u << CW_SINK_COUNT) - 1)

/* cw_route_decide returns the route of |lead| under |config|. */
cw_route_t cw_route_decide(const cw_route_config_t *config, const cw_lead_t *lead);

/* cw_route_name returns the static name of |route|: "skip", "nurture" or "outreach". */
const char *cw_route_name(cw_route_t route);

/* cw_route_parse sets |*out_route| from the name |name| of |len| bytes. Returns 0, or -1 when unknown. */
int cw_route_parse(const char *name, size_t len, cw_route_t *out_route);

/* cw_sink_name returns the static name of |sink|: "outreach", "nurture", "zapier" or "slack"
 * (also the key in the response's "deliveries" and the <sink> in store names). */
const char *cw_sink_name(cw_sink_t sink);

/* cw_sink_parse sets |*out_sink| from the name |name| of |len| bytes. Returns 0, or -1 when unknown. */
int cw_sink_parse(const char *name, size_t len, cw_sink_t *out_sink);

/* cw_route_sinks returns the CW_SINK_BIT mask of the sinks |lead| on |route|
 * goes to, limited to |configured_mask| (the sinks whose URL is set). */
unsigned cw_route_sinks(const cw_route_config_t *config, cw_route_t route, const cw_lead_t *lead, unsigned configured_mask);

/* cw_sink_payload returns the JSON body for the outreach, nurture and Zapier
 * sinks: one object holding the normalised lead plus "event_id", "route" and
 * "received_at" (these three replace any same-named lead field). Returns a
 * NUL-terminated string of |*out_len| bytes the caller frees with free(). */
char *cw_sink_payload(const cw_lead_t *lead, const char *event_id, cw_route_t route, const char *received_at, size_t *out_len);

/* cw_slack_payload returns a Slack incoming-webhook message for |lead|: "text"
 * (the notification fallback) and "blocks" (a section naming the person, title,
 * company and score; a context block with |event_id|). Lead values are escaped
 * for Slack (& < >), capped in length, and "Unknown" stands in for missing ones.
 * Returns a NUL-terminated string of |*out_len| bytes the caller frees with free(). */
char *cw_slack_payload(const cw_lead_t *lead, const char *event_id, size_t *out_len);

#endif
