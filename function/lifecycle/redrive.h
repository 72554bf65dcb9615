/*
 * redrive.h: finish pending events (docs/design.md §9 and §7). The same run
 * serves POST /internal/redrive (Cloud Scheduler, every minute) and
 * `clay-function redrive`.
 */
#ifndef CW_REDRIVE_H
#define CW_REDRIVE_H

#include <stddef.h>
#include "cw/loop.h"
#include "cw/server.h"
#include "event.h"

typedef struct st_cw_redrive_summary_t {
    size_t scanned;       /* pending markers found */
    size_t completed;     /* every sink settled now */
    size_t already_done;  /* finished earlier; stale marker cleared */
    size_t still_pending; /* some sink still failing: waits for its next lease */
    size_t leased;        /* another owner's lease (or backoff) is running */
    size_t cleared;       /* marker without an event, older than a lease: removed */
    size_t store_errors;
    size_t skipped;  /* not started: the time budget ran out */
    int list_failed; /* the pending listing itself failed */
} cw_redrive_summary_t;

typedef void (*cw_redrive_cb)(const cw_redrive_summary_t *summary, void *data);

/* cw_redrive_run resumes every pending event, |max_parallel| at a time, starting
 * none after |budget_ms|. |cb| runs once on |loop|'s thread. */
void cw_redrive_run(const cw_engine_t *engine, cw_loop_t *loop, size_t max_parallel, uint64_t budget_ms, cw_redrive_cb cb,
                    void *data);

/* cw_redrive_summary_json appends the summary as a JSON object to |out|. */
void cw_redrive_summary_json(cw_buf_t *out, const cw_redrive_summary_t *s);

/* cw_redrive_main is `clay-function redrive`: finish pending events, or list dead
 * letters. Takes the arguments after the command name (argv[0] is "redrive");
 * returns the exit code: 0 success, 1 work failed, 2 usage or configuration error. */
int cw_redrive_main(int argc, char **argv);

/* cw_redrive_init_metrics registers the redrive series (clay_pending_events,
 * clay_redrive_denied_total) so /metrics lists them before any redrive. Any thread; idempotent. */
void cw_redrive_init_metrics(void);

/* cw_redrive_handle is the cw_handler_fn of POST /internal/redrive; |data| is the engine. */
int cw_redrive_handle(cw_worker_t *worker, h2o_req_t *req, void *data);
/* cw_redrive_check_headers is its cw_headers_fn: a request the handler would refuse (redrive off, not POST, no
 * valid token) is answered the same way from its headers, before any of its body is read. */
int cw_redrive_check_headers(cw_worker_t *worker, h2o_req_t *req, void *data);

#endif
