/*
 * libFuzzer target for the auth parsers: the first byte picks the
 * OpenSSH certificate parser (with the CA signature check on what
 * parses), the authorized_keys options parser, the address list matcher
 * or the TOTP password split; the rest is the input.
 */
#include <sys/socket.h>

#include <netinet/in.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "auth/auth.h"
#include "core/err.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct auth_cert cert;
	struct auth_keyopts o;
	struct sockaddr_in sin;
	char *s = NULL, err[128], code[7];
	long n;
	int r;

	if (size < 1)
		return 0;
	switch (data[0] % 4) {
	case 0:
		if (auth_cert_parse(data + 1, size - 1, &cert) == 0) {
			if (cert.signed_len > size - 1)
				abort();
			(void)auth_cert_verify_signature(&cert);
		}
		return 0;
	default:
		break;
	}
	s = malloc(size);
	memcpy(s, data + 1, size - 1);
	s[size - 1] = '\0';
	switch (data[0] % 4) {
	case 1:
		r = auth_keyopts_parse(s, &o, err, sizeof(err));
		if (r == 0)
			auth_keyopts_cleanup(&o);
		else if (r != ERR_INVAL || err[0] == '\0')
			abort();
		break;
	case 2:
		memset(&sin, 0, sizeof(sin));
		sin.sin_family = AF_INET;
		sin.sin_addr.s_addr = htonl(0x0a010203);
		r = auth_addr_match_list(s, (struct sockaddr *)&sin);
		if (r != 0 && r != 1 && r != ERR_INVAL)
			abort();
		break;
	default:
		n = auth_totp_split(s, strlen(s), code);
		if (n > (long)strlen(s) || (n >= 0 && strlen(code) != 6))
			abort();
		break;
	}
	free(s);
	return 0;
}
