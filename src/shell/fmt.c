/* Formatting of sizes, rates, durations and times; target parsing. */
#include "shell/shell_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"

/* 1024-based, one decimal: "0 B", "512 B", "1.5 KB", ... "TB". */
void
shell__fmt_bytes(uint64_t n, char *out, size_t len)
{
	static const char *const unit[] = { "KB", "MB", "GB", "TB", "PB" };
	double v = (double)n;
	int i = -1;

	if (n < 1024) {
		snprintf(out, len, "%llu B", (unsigned long long)n);
		return;
	}
	while (v >= 1024.0 && i < 4) {
		v /= 1024.0;
		i++;
	}
	snprintf(out, len, "%.1f %s", v, unit[i]);
}

/* Bits per second: "800 bps", "1.5 Kbps", "12.0 Mbps", "1.2 Gbps". */
void
shell__fmt_rate(uint64_t bytes_per_s, char *out, size_t len)
{
	double b = (double)bytes_per_s * 8.0;

	if (b >= 1e9) {
		snprintf(out, len, "%.1f Gbps", b / 1e9);
	} else if (b >= 1e6) {
		snprintf(out, len, "%.1f Mbps", b / 1e6);
	} else if (b >= 1e3) {
		snprintf(out, len, "%.1f Kbps", b / 1e3);
	} else {
		snprintf(out, len, "%llu bps",
		    (unsigned long long)bytes_per_s * 8);
	}
}

/* "42s", "5m", "5m 3s", "2h", "2h 7m", "3d", "3d 4h". */
void
shell__fmt_duration(uint64_t s, char *out, size_t len)
{
	unsigned long long a, b;
	const char *ua, *ub;

	if (s < 60) {
		snprintf(out, len, "%llus", (unsigned long long)s);
		return;
	}
	if (s < 3600) {
		a = s / 60, b = s % 60, ua = "m", ub = "s";
	} else if (s < 86400) {
		a = s / 3600, b = (s % 3600) / 60, ua = "h", ub = "m";
	} else {
		a = s / 86400, b = (s % 86400) / 3600, ua = "d", ub = "h";
	}
	if (b == 0) {
		snprintf(out, len, "%llu%s", a, ua);
	} else {
		snprintf(out, len, "%llu%s %llu%s", a, ua, b, ub);
	}
}

/* RFC 3339 in UTC: "2026-01-02T03:04:05Z". */
void
shell__fmt_time(time_t t, char *out, size_t len)
{
	struct tm tm;

	if (gmtime_r(&t, &tm) == NULL ||
	    strftime(out, len, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0) {
		snprintf(out, len, "%lld", (long long)t);
	}
}

/* Microseconds as milliseconds with one decimal: "1.2 ms". */
void
shell__fmt_us(uint64_t us, char *out, size_t len)
{
	snprintf(out, len, "%llu.%llu ms", (unsigned long long)(us / 1000),
	    (unsigned long long)((us % 1000) / 100));
}

/* The machine name `uname -m` shows (the build target). */
const char *
shell__arch(void)
{
#if defined(__x86_64__)
	return "x86_64";
#elif defined(__aarch64__)
	return "aarch64";
#elif defined(__i386__)
	return "i686";
#elif defined(__arm__)
	return "armv7l";
#elif defined(__riscv)
	return "riscv64";
#else
	return "unknown";
#endif
}

/* Parses a decimal port 1..65535. */
static int
parse_port(const char *s, uint16_t *port)
{
	unsigned long v = 0;
	const char *p = s;

	if (*p == '\0') {
		return ERR_INVAL;
	}
	for (; *p != '\0'; p++) {
		if (*p < '0' || *p > '9' || v > 65535) {
			return ERR_INVAL;
		}
		v = v * 10 + (unsigned long)(*p - '0');
	}
	if (v == 0 || v > 65535) {
		return ERR_INVAL;
	}
	*port = (uint16_t)v;
	return 0;
}

int
shell__parse_target(const char *s, uint16_t defport, char *host,
    size_t hostlen, uint16_t *port)
{
	const char *colon = NULL, *end = NULL, *hs = s;
	size_t hl;

	*port = 0;
	if (hostlen > 0) {
		host[0] = '\0';
	}
	if (s[0] == '[') {
		if ((end = strchr(s, ']')) == NULL) {
			return ERR_INVAL;
		}
		hs = s + 1;
		hl = (size_t)(end - hs);
		if (end[1] == ':') {
			if (parse_port(end + 2, port) != 0) {
				return ERR_INVAL;
			}
		} else if (end[1] != '\0' || defport == 0) {
			return ERR_INVAL;
		} else {
			*port = defport;
		}
	} else {
		colon = strrchr(s, ':');
		if (colon != NULL && strchr(s, ':') != colon) {
			if (defport == 0) {
				return ERR_INVAL;	/* use [v6]:port */
			}
			colon = NULL;	/* a bare IPv6 address, no port */
		}
		if (colon == NULL) {
			if (defport == 0) {
				return ERR_INVAL;
			}
			hl = strlen(s);
			*port = defport;
		} else {
			hl = (size_t)(colon - s);
			if (parse_port(colon + 1, port) != 0) {
				return ERR_INVAL;
			}
		}
	}
	if (hl == 0 || hl >= hostlen || hl > 253 + 1) {
		*port = 0;
		return ERR_INVAL;
	}
	memcpy(host, hs, hl);
	host[hl] = '\0';
	if (memchr(host, '/', hl) != NULL || strpbrk(host, " \t") != NULL) {
		*port = 0;
		host[0] = '\0';
		return ERR_INVAL;
	}
	return 0;
}

int
shell__name_ok(const char *s)
{
	size_t n = strlen(s), i;

	if (n == 0 || n > SHELL_NAME_MAX) {
		return 0;
	}
	for (i = 0; i < n; i++) {
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' &&
		    s[i] <= 'Z') || (s[i] >= '0' && s[i] <= '9') ||
		    s[i] == '_' || s[i] == '.' || s[i] == '-')) {
			return 0;
		}
	}
	return 1;
}
