/* Line-oriented logger writing to stderr. */
#include "core/log.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "core/err.h"

/* Log state is the one allowed global (STYLE.md). */
static enum log_level g_level = LOG_INFO;
static enum log_format g_format = LOG_FMT_PRETTY;
static pthread_mutex_t g_lock = PTHREAD_MUTEX_INITIALIZER;

static const char *const level_names[] = {
	"trace", "debug", "info", "warn", "error",
};

/* Sets the minimum level and the output format. */
void
log_setup(enum log_level level, enum log_format fmt)
{
	pthread_mutex_lock(&g_lock);
	g_level = level;
	g_format = fmt;
	pthread_mutex_unlock(&g_lock);
}

/* Parses a level name. */
int
log_level_parse(const char *s, enum log_level *out)
{
	size_t i;

	for (i = 0; i < sizeof(level_names) / sizeof(level_names[0]); i++) {
		if (strcasecmp(s, level_names[i]) == 0) {
			*out = (enum log_level)i;
			return 0;
		}
	}
	if (strcasecmp(s, "warning") == 0) {
		*out = LOG_WARN;
		return 0;
	}
	return ERR_INVAL;
}

/* Returns the lowercase name of a level. */
const char *
log_level_name(enum log_level level)
{
	if ((unsigned)level > LOG_ERROR)
		return "info";
	return level_names[level];
}

/* True when messages at this level would be written. */
int
log_enabled(enum log_level level)
{
	return level >= __atomic_load_n(&g_level, __ATOMIC_RELAXED);
}

/* Appends s to out as a JSON string body (no quotes). */
static void
json_escape(FILE *out, const char *s)
{
	const unsigned char *p = NULL;

	for (p = (const unsigned char *)s; *p != '\0'; p++) {
		if (*p == '"' || *p == '\\')
			fprintf(out, "\\%c", *p);
		else if (*p == '\n')
			fputs("\\n", out);
		else if (*p < 0x20)
			fprintf(out, "\\u%04x", *p);
		else
			fputc(*p, out);
	}
}

/* Writes one log line with a timestamp, level and function. */
void
log_write(enum log_level level, const char *func, const char *fmt, ...)
{
	char msg[2048], ts[64];
	struct timespec now;
	struct tm tm;
	va_list ap;
	char *nl = NULL;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	/* One event, one line: fold newlines a caller may have passed. */
	while ((nl = strchr(msg, '\n')) != NULL)
		*nl = ' ';

	clock_gettime(CLOCK_REALTIME, &now);
	gmtime_r(&now.tv_sec, &tm);
	snprintf(ts, sizeof(ts), "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ",
	    tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
	    tm.tm_min, tm.tm_sec, (int)(now.tv_nsec / 1000000));

	pthread_mutex_lock(&g_lock);
	if (g_format == LOG_FMT_JSON) {
		fprintf(stderr, "{\"ts\":\"%s\",\"level\":\"%s\",\"func\":\"",
		    ts, log_level_name(level));
		json_escape(stderr, func);
		fputs("\",\"msg\":\"", stderr);
		json_escape(stderr, msg);
		fputs("\"}\n", stderr);
	} else {
		fprintf(stderr, "%s level=%s func=%s %s\n", ts,
		    log_level_name(level), func, msg);
	}
	fflush(stderr);
	pthread_mutex_unlock(&g_lock);
}
