/*
 * Logging: one line per event with key=value context, to stderr.
 * Two formats: "pretty" (human readable) and "json" (one object per line).
 * The level check happens before any formatting.
 */
#ifndef SKS5_CORE_LOG_H
#define SKS5_CORE_LOG_H

enum log_level {
	LOG_TRACE = 0,
	LOG_DEBUG,
	LOG_INFO,
	LOG_WARN,
	LOG_ERROR,
};

enum log_format {
	LOG_FMT_PRETTY = 0,
	LOG_FMT_JSON,
};

/* Sets the minimum level and the output format. Thread-safe to call. */
void	log_setup(enum log_level level, enum log_format fmt);

/* Parses "trace|debug|info|warn|error" (case-insensitive). 0 or ERR_INVAL. */
int	log_level_parse(const char *s, enum log_level *out);

/* Returns the lowercase name of a level. */
const char *log_level_name(enum log_level level);

/* True when messages at this level would be written. */
int	log_enabled(enum log_level level);

/* Writes one log line; use the macros below instead. */
void	log_write(enum log_level level, const char *func, const char *fmt, ...)
	    __attribute__((format(printf, 3, 4)));

#define log_at(lvl, ...) do {						\
	if (log_enabled(lvl))						\
		log_write((lvl), __func__, __VA_ARGS__);		\
} while (0)
#define log_trace(...)	log_at(LOG_TRACE, __VA_ARGS__)
#define log_debug(...)	log_at(LOG_DEBUG, __VA_ARGS__)
#define log_info(...)	log_at(LOG_INFO, __VA_ARGS__)
#define log_warn(...)	log_at(LOG_WARN, __VA_ARGS__)
#define log_error(...)	log_at(LOG_ERROR, __VA_ARGS__)

#endif /* SKS5_CORE_LOG_H */
