/* printf.c: a small vsnprintf and console printf (output: console.c). */
#include "guestkit.h"

struct out {
	char *buf;
	size_t size; /* capacity including the NUL */
	size_t n;    /* characters produced so far (may exceed size) */
};

static void put(struct out *o, char c)
{
	if (o->n + 1 < o->size)
		o->buf[o->n] = c;
	o->n++;
}

static void pad(struct out *o, char c, int count)
{
	while (count-- > 0)
		put(o, c);
}

/* fmt_num prints v in base with the given flags and width. */
static void fmt_num(struct out *o, uint64_t v, unsigned base, int neg, int upper, int width,
		    int left, int zero, int alt)
{
	char tmp[24];
	const char *digits = upper ? "0123456789ABCDEF" : "0123456789abcdef";
	int len = 0;
	do {
		tmp[len++] = digits[v % base];
		v /= base;
	} while (v);
	int prefix = neg ? 1 : (alt && base == 16) ? 2 : 0;
	int fill = width - len - prefix;
	if (!left && !zero)
		pad(o, ' ', fill);
	if (neg)
		put(o, '-');
	if (alt && base == 16) {
		put(o, '0');
		put(o, upper ? 'X' : 'x');
	}
	if (!left && zero)
		pad(o, '0', fill);
	while (len)
		put(o, tmp[--len]);
	if (left)
		pad(o, ' ', fill);
}

int vsnprintf(char *buf, size_t size, const char *fmt, va_list ap)
{
	struct out o = {.buf = buf, .size = size, .n = 0};

	for (; *fmt; fmt++) {
		if (*fmt != '%') {
			put(&o, *fmt);
			continue;
		}
		fmt++;
		int left = 0, zero = 0, alt = 0, width = 0, lng = 0;
		for (;; fmt++) {
			if (*fmt == '-')
				left = 1;
			else if (*fmt == '0')
				zero = 1;
			else if (*fmt == '#')
				alt = 1;
			else
				break;
		}
		if (*fmt == '*') {
			width = va_arg(ap, int);
			fmt++;
		}
		while (*fmt >= '0' && *fmt <= '9')
			width = width * 10 + (*fmt++ - '0');
		int prec = -1; /* only %s uses it: at most prec bytes */
		if (*fmt == '.') {
			fmt++;
			prec = 0;
			if (*fmt == '*') {
				prec = va_arg(ap, int);
				fmt++;
			}
			while (*fmt >= '0' && *fmt <= '9')
				prec = prec * 10 + (*fmt++ - '0');
		}
		for (;; fmt++) {
			if (*fmt == 'l' || *fmt == 'z')
				lng = 1;
			else if (*fmt != 'h')
				break;
		}
		switch (*fmt) {
		case 'd':
		case 'i': {
			int64_t v = lng ? va_arg(ap, long) : va_arg(ap, int);
			uint64_t u = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
			fmt_num(&o, u, 10, v < 0, 0, width, left, zero, 0);
			break;
		}
		case 'u':
		case 'x':
		case 'X':
		case 'o': {
			uint64_t v = lng ? va_arg(ap, unsigned long) : va_arg(ap, unsigned);
			unsigned base = *fmt == 'u' ? 10 : *fmt == 'o' ? 8 : 16;
			fmt_num(&o, v, base, 0, *fmt == 'X', width, left, zero, alt);
			break;
		}
		case 'p':
			fmt_num(&o, (uint64_t)va_arg(ap, void *), 16, 0, 0, width, left, zero, 1);
			break;
		case 'c':
			pad(&o, ' ', left ? 0 : width - 1);
			put(&o, (char)va_arg(ap, int));
			pad(&o, ' ', left ? width - 1 : 0);
			break;
		case 's': {
			const char *s = va_arg(ap, const char *);
			if (!s)
				s = "(null)";
			int len = prec >= 0 ? (int)strnlen(s, (size_t)prec) : (int)strlen(s);
			pad(&o, ' ', left ? 0 : width - len);
			for (int i = 0; i < len; i++)
				put(&o, s[i]);
			pad(&o, ' ', left ? width - len : 0);
			break;
		}
		case '%':
			put(&o, '%');
			break;
		case '\0':
			fmt--;
			break;
		default:
			put(&o, '%');
			put(&o, *fmt);
			break;
		}
	}
	if (size)
		buf[o.n < size ? o.n : size - 1] = '\0';
	return (int)o.n;
}

int snprintf(char *buf, size_t size, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(buf, size, fmt, ap);
	va_end(ap);
	return n;
}

int printf(const char *fmt, ...)
{
	char buf[512];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(buf, sizeof buf, fmt, ap);
	va_end(ap);
	if (n < (int)sizeof buf) {
		console_write(buf, (size_t)n);
		return n;
	}
	/* Too long for the buffer: format again into a larger stack area. */
	char big[4096];
	va_start(ap, fmt);
	int m = vsnprintf(big, sizeof big, fmt, ap);
	va_end(ap);
	console_write(big, m < (int)sizeof big ? (size_t)m : sizeof big - 1);
	return n;
}
