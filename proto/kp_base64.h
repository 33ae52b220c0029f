/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Base64 (RFC 4648, standard alphabet, '=' padding) for the Varlink protocol:
 * chunks travel base64-encoded in io.ktap.Submit and output that is not UTF-8
 * in Record.base64. Header-only so the daemon and the client share one copy.
 */
#ifndef KTAP_PROTO_BASE64_H
#define KTAP_PROTO_BASE64_H

#include <stddef.h>
#include <stdint.h>

/* Bytes kp_base64_encode() writes for n input bytes, without the NUL. */
static inline size_t kp_base64_encoded_len(size_t n)
{
	return (n + 2) / 3 * 4;
}

/* Encode n bytes to out: kp_base64_encoded_len(n) + 1 bytes with the NUL. */
static inline size_t kp_base64_encode(const void *in, size_t n, char *out)
{
	static const char tab[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	const uint8_t *p = in;
	size_t i, o = 0;

	for (i = 0; i + 2 < n; i += 3) {
		uint32_t v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8 |
			     p[i + 2];

		out[o++] = tab[v >> 18];
		out[o++] = tab[(v >> 12) & 63];
		out[o++] = tab[(v >> 6) & 63];
		out[o++] = tab[v & 63];
	}
	if (i < n) {
		uint32_t v = (uint32_t)p[i] << 16;

		if (i + 1 < n)
			v |= (uint32_t)p[i + 1] << 8;
		out[o++] = tab[v >> 18];
		out[o++] = tab[(v >> 12) & 63];
		out[o++] = i + 1 < n ? tab[(v >> 6) & 63] : '=';
		out[o++] = '=';
	}
	out[o] = '\0';
	return o;
}

static inline int kp_base64_value(char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

/*
 * Decode n characters of strict base64 (length a multiple of 4, padding only
 * at the end, no whitespace) to out (at least n / 4 * 3 bytes). Returns the
 * decoded length, or -1 if the text is not base64.
 */
static inline long kp_base64_decode(const char *in, size_t n, void *out)
{
	uint8_t *q = out;
	size_t i, o = 0;

	if (n % 4)
		return -1;
	for (i = 0; i < n; i += 4) {
		int a = kp_base64_value(in[i]);
		int b = kp_base64_value(in[i + 1]);
		int c = kp_base64_value(in[i + 2]);
		int d = kp_base64_value(in[i + 3]);
		int last = i + 4 == n;

		if (a < 0 || b < 0)
			return -1;
		if (c < 0 || d < 0) {
			/* Only "xx==" or "xxx=" closing the text. */
			if (!last || in[i + 3] != '=' ||
			    (c < 0 && in[i + 2] != '='))
				return -1;
		}
		q[o++] = (uint8_t)(a << 2 | b >> 4);
		if (c >= 0)
			q[o++] = (uint8_t)(b << 4 | c >> 2);
		if (c >= 0 && d >= 0)
			q[o++] = (uint8_t)(c << 6 | d);
	}
	return (long)o;
}

#endif /* KTAP_PROTO_BASE64_H */
