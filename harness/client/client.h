/*
 * client.h: the subcommands of clay-harness that talk to a receiver: fire
 * (fire.c), replay (replay.c), record (record.c) and scenario (scenario.c).
 * Each takes the arguments after its name (argv[0] is the subcommand) and
 * returns the process exit code: 0 on success, 1 when checks failed, 2 on a
 * usage error (with a one-line message on stderr).
 */
#ifndef CW_HARNESS_CLIENT_H
#define CW_HARNESS_CLIENT_H

int cw_harness_fire_main(int argc, char **argv);
int cw_harness_replay_main(int argc, char **argv);
int cw_harness_record_main(int argc, char **argv);
int cw_harness_scenario_main(int argc, char **argv);

#endif
