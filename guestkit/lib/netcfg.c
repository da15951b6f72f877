/*
 * netcfg.c: parsing of the network arguments of the command line
 * (ip=10.0.0.2 mask=24 peer=10.0.0.1 gw=... mac=02:00:00:00:00:02) and
 * address formatting.
 */
#include "gk_net.h"

const char *net_arg_str(int argc, char **argv, const char *key, const char *def)
{
	size_t k = strlen(key);
	for (int i = 1; i < argc; i++)
		if (strncmp(argv[i], key, k) == 0 && argv[i][k] == '=')
			return argv[i] + k + 1;
	return def;
}

int net_parse_ip(const char *s, uint32_t *ip)
{
	uint32_t v = 0;
	for (int part = 0; part < 4; part++) {
		unsigned n = 0, digits = 0;
		while (*s >= '0' && *s <= '9' && digits < 4) {
			n = n * 10 + (unsigned)(*s++ - '0');
			digits++;
		}
		if (digits == 0 || digits > 3 || n > 255)
			return -XEN_EINVAL;
		v = v << 8 | n;
		if (part < 3 && *s++ != '.')
			return -XEN_EINVAL;
	}
	if (*s != '\0')
		return -XEN_EINVAL;
	*ip = v;
	return 0;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int net_parse_mac(const char *s, uint8_t mac[6])
{
	uint8_t m[6];
	for (int i = 0; i < 6; i++) {
		int hi = hexval(s[0]), lo = hi < 0 ? -1 : hexval(s[1]);
		if (hi < 0 || lo < 0)
			return -XEN_EINVAL;
		m[i] = (uint8_t)(hi << 4 | lo);
		s += 2;
		if (i < 5 && *s++ != ':')
			return -XEN_EINVAL;
	}
	/* Xenstore values may end in a newline; nothing else may follow. */
	if (*s != '\0' && !(*s == '\n' && s[1] == '\0'))
		return -XEN_EINVAL;
	memcpy(mac, m, 6);
	return 0;
}

char *net_fmt_ip(uint32_t ip, char *buf)
{
	snprintf(buf, 16, "%u.%u.%u.%u", ip >> 24, (ip >> 16) & 255, (ip >> 8) & 255, ip & 255);
	return buf;
}

/* parse_mask takes a prefix length (0..32) or a dotted netmask of leading ones. */
static int parse_mask(const char *s, uint32_t *mask)
{
	if (strlen(s) <= 2) {
		int ok;
		uint64_t n = strtou64(s, &ok);
		if (!ok || n > 32)
			return -XEN_EINVAL;
		*mask = n == 0 ? 0 : ~0u << (32 - n);
		return 0;
	}
	uint32_t m;
	if (net_parse_ip(s, &m) < 0)
		return -XEN_EINVAL;
	if (m & (~m >> 1)) /* a one after a zero */
		return -XEN_EINVAL;
	*mask = m;
	return 0;
}

int net_config_parse(int argc, char **argv, struct net_config *c)
{
	memset(c, 0, sizeof *c);
	c->mask = 0xffffff00u;
	const char *ip = net_arg_str(argc, argv, "ip", NULL);
	if (!ip || net_parse_ip(ip, &c->ip) < 0)
		return -XEN_EINVAL;
	const char *s;
	if ((s = net_arg_str(argc, argv, "mask", NULL)) && parse_mask(s, &c->mask) < 0)
		return -XEN_EINVAL;
	if ((s = net_arg_str(argc, argv, "peer", NULL)) && net_parse_ip(s, &c->peer) < 0)
		return -XEN_EINVAL;
	if ((s = net_arg_str(argc, argv, "gw", NULL)) && net_parse_ip(s, &c->gw) < 0)
		return -XEN_EINVAL;
	if ((s = net_arg_str(argc, argv, "mac", NULL))) {
		if (net_parse_mac(s, c->mac) < 0)
			return -XEN_EINVAL;
		c->have_mac = 1;
	}
	return 0;
}
