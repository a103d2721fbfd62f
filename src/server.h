/*
 * The running server: wires the configuration to the listeners and loops,
 * handles signals (SIGTERM/SIGINT drain and exit 0, SIGHUP reload).
 */
#ifndef SKS5_SERVER_H
#define SKS5_SERVER_H

struct cfg;
struct cfg_overrides;

/*
 * Runs until a stop signal. cfg is borrowed for the whole run; ov is kept
 * to reload the configuration the same way it was first loaded.
 * Returns the process exit code.
 */
int	server_run(struct cfg *cfg, const struct cfg_overrides *ov);

#endif /* SKS5_SERVER_H */
