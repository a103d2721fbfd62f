/*
 * Persistence: the data directory and the state that outlives the
 * process (issue [persistence]).
 *
 *   <data_dir>/sks5.lock        flock held for the life of the process
 *   <data_dir>/state.json       active bans, quota counters
 *   <data_dir>/reputation.json  IP reputation scores
 *   <data_dir>/users/<f>.json   per-user shell history, bookmarks, aliases
 *   <data_dir>/config-history/  the last config_history.max_entries
 *                               versions of the configuration file
 *   server.bookmarks_path       every user's bookmarks (when set)
 *
 * Files are written atomically (temporary file, fsync, rename, directory
 * fsync) with mode 0600 in a 0700 directory. A file that cannot be parsed
 * is renamed to <file>.corrupt, logged, and the server starts without it.
 * A flush thread writes each file at its own period; persist_flush()
 * writes everything at once (SIGTERM, before and after the drain).
 */
#ifndef SKS5_PERSIST_H
#define SKS5_PERSIST_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

struct cfg;
struct policy_holder;
struct policy_state;
struct shell_store;

/* Counters for /metrics (sks5_persistence_*). */
struct persist_stats {
	_Atomic uint64_t	 state_flush;
	_Atomic uint64_t	 state_flush_errors;
	_Atomic uint64_t	 rep_flush;
	_Atomic uint64_t	 rep_flush_errors;
	_Atomic uint64_t	 user_flush;
	_Atomic uint64_t	 user_flush_errors;
	_Atomic uint64_t	 state_bytes;
	_Atomic uint64_t	 rep_bytes;
	_Atomic uint64_t	 corrupt;	/* files set aside */
	_Atomic int		 available;	/* data dir locked */
};

/* The data directory of cfg: persistence.data_dir, else <directory of
 * the configuration file>/data, else <CWD>/data. Heap string. */
char	*persist_data_dir(const struct cfg *cfg);

struct persist;

/*
 * Creates (0700) and locks the data directory and loads every enabled
 * file into the policy state and the shell store (all borrowed; they
 * must outlive the object). Returns 0 with *out set (an object that does
 * nothing when every part is disabled), or ERR_IO / ERR_EXISTS (another
 * process holds the lock) with the reason logged: the server must not
 * start, so that state is never silently lost.
 */
int	persist_open(const struct cfg *cfg, struct policy_holder *policy,
	    struct policy_state *st, struct shell_store *store,
	    struct persist **out);
/* Starts the flush thread. 0 or ERR_IO. */
int	persist_start(struct persist *p);
/* Writes every enabled file now (any thread; serialised). */
void	persist_flush(struct persist *p);
/* A configuration was applied (start or successful reload): keep a copy
 * of its file in config-history/ when it changed. */
void	persist_config_applied(struct persist *p, const struct cfg *cfg);
/* Stops the thread, writes everything a last time, unlocks and frees.
 * NULL is a no-op. */
void	persist_close(struct persist *p);
/* The counters; valid as long as p. */
const struct persist_stats *persist_stats(const struct persist *p);

#endif /* SKS5_PERSIST_H */
