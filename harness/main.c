/*
 * clay-harness: behaves like Clay and the world around the function, for
 * laptops and CI. Works against any HTTP endpoint; it shares the common
 * library (server core, HTTP client, logging) but none of the function's
 * authentication, normalisation or store code.
 */
#include <stdio.h>
#include <string.h>
#include "cw/http.h"
#include "client.h"
#include "mock.h"

typedef struct st_command_t {
    const char *name;
    int (*main)(int argc, char **argv);
    const char *help;
} command_t;

static void usage(FILE *fp, const command_t *cmds, size_t num_cmds)
{
    fputs("usage: clay-harness <command> [options]     (clay-harness <command> --help for its options)\n\n"
          "commands:\n",
          fp);
    for (size_t i = 0; i != num_cmds; ++i) {
        fprintf(fp, "  %-9s %s\n", cmds[i].name, cmds[i].help);
    }
}

int main(int argc, char **argv)
{
    const command_t cmds[] = {
        {"fire", cw_harness_fire_main,
         "send N generated or fixture callbacks to --target, signed (static|hmac|standard), with duplicates, "
         "concurrency, shuffling, type mutations, Clay-like retries, tampering; prints statuses and latency percentiles"},
        {"replay", cw_harness_replay_main,
         "replay fixture files byte-exact against a target; check status, body fields and sink deliveries; "
         "'N passed, N failed'; --junit FILE"},
        {"record", cw_harness_record_main, "listen and store every request as a fixture (optionally --forward to a target)"},
        {"mock", cw_harness_mock_main,
         "serve a mock Clay inbound webhook, mock sinks with a delivery ledger, a GCS conditional-write store emulator "
         "with fault injection, and a metadata-server mock"},
        {"scenario", cw_harness_scenario_main,
         "start function instances against the mock and run end-to-end scenarios (duplicate storm, store faults, sink "
         "outage then redrive, SIGTERM under load, kill -9 then resume)"},
    };
    const size_t num_cmds = sizeof(cmds) / sizeof(cmds[0]);
    if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "help") == 0) {
        usage(argc < 2 ? stderr : stdout, cmds, num_cmds);
        return argc < 2 ? 2 : 0;
    }
    if (strcmp(argv[1], "--version") == 0) {
        printf("clay-harness 0.1.0 (%s)\n", cw_http_version());
        return 0;
    }
    for (size_t i = 0; i != num_cmds; ++i) {
        if (strcmp(argv[1], cmds[i].name) == 0) {
            return cmds[i].main(argc - 1, argv + 1);
        }
    }
    fprintf(stderr, "clay-harness: unknown command '%s' (see clay-harness --help)\n", argv[1]);
    return 2;
}
