/*
 * netecho ip=A [mask=M] [gw=G] [mac=X] [port=7] [duration_ms=60000] [dev=0]
 * Opens vif dev, answers ARP and ICMP echo requests, and echoes every UDP
 * datagram sent to port back to its sender. A datagram "netecho:quit" is
 * answered "netecho:bye" and ends the program; so does duration_ms.
 * Metrics: icmp_echoes, udp_echoes, arp_replies, rx_packets, tx_packets.
 */
#include "gk_net.h"

#define MS 1000000ull
#define QUIT "netecho:quit"
#define BYE "netecho:bye"

static struct netfront nic;
static struct net_stack st;
static uint64_t udp_echoes;
static int quit;

static void on_udp(struct net_stack *s, const struct net_udp_pkt *p, void *arg)
{
	(void)arg;
	if (p->len == sizeof QUIT - 1 && memcmp(p->data, QUIT, p->len) == 0) {
		net_udp_send(s, p->src, p->dport, p->sport, BYE, sizeof BYE - 1);
		quit = 1;
		return;
	}
	uint8_t *b;
	int id = net_udp_alloc(s, &b);
	if (id < 0)
		return;
	memcpy(b + NET_UDP_HLEN, p->data, p->len);
	/* Queued only: net_poll publishes the batch. */
	if (net_udp_commit(s, id, p->src, p->dport, p->sport, p->len, 0) == 0)
		udp_echoes++;
}

int main(int argc, char **argv)
{
	struct net_config cfg;
	uint64_t port = gk_arg_u64(argc, argv, "port", 7);
	uint64_t dur = gk_arg_u64(argc, argv, "duration_ms", 60000);
	uint64_t dev = gk_arg_u64(argc, argv, "dev", 0);
	if (net_config_parse(argc, argv, &cfg) < 0 || port == 0 || port > 65535) {
		printf("usage: netecho ip=A.B.C.D [mask=N] [gw=G] [mac=X] [port=7] "
		       "[duration_ms=N] [dev=N]\n");
		return 2;
	}
	if (xs_init() != 0 || gnttab_init() != 0)
		T_ABORT("xenstore or grant table set-up failed");
	evtchn_poll();
	int rc = net_open((int)dev, 0, &nic);
	if (rc != 0) {
		printf("netecho: net_open(%lu) = %d\n", dev, rc);
		T_ABORT("net_open failed");
	}
	net_stack_init(&st, &nic, &cfg);
	if (net_udp_bind(&st, (uint16_t)port, on_udp, NULL) != 0)
		T_ABORT("net_udp_bind failed");
	char ip[16];
	printf("netecho: %s mac %02x:%02x:%02x:%02x:%02x:%02x udp port %lu ready\n",
	       net_fmt_ip(cfg.ip, ip), st.mac[0], st.mac[1], st.mac[2], st.mac[3], st.mac[4],
	       st.mac[5], port);
	T_MARK("ready");
	uint64_t end = xen_system_time_ns() + dur * MS;
	while (!quit && xen_system_time_ns() < end)
		net_wait(&st, 200000, end);
	/* Let the last replies leave before closing. */
	for (int i = 0; i < 1000 && net_tx_inflight(&nic); i++)
		net_wait(&st, 1000, xen_system_time_ns() + MS);
	T_METRIC("icmp_echoes", st.icmp_echoes);
	T_METRIC("udp_echoes", udp_echoes);
	T_METRIC("arp_replies", st.arp_replies);
	T_METRIC("rx_packets", nic.rx_packets);
	T_METRIC("tx_packets", nic.tx_packets);
	printf("netecho: %lu icmp echoes, %lu udp echoes, %lu arp replies, rx %lu tx %lu, "
	       "drops: short %lu csum %lu not-us %lu proto %lu port %lu; bad responses %lu\n",
	       st.icmp_echoes, udp_echoes, st.arp_replies, nic.rx_packets, nic.tx_packets,
	       st.drop_short, st.drop_bad_csum, st.drop_not_us, st.drop_proto, st.drop_no_port,
	       nic.bad_responses);
	T_EXPECT_EQ(nic.bad_responses, 0);
	rc = net_close(&nic);
	if (rc != 0)
		printf("netecho: net_close = %d\n", rc);
	printf("netecho: %lu passed, %lu failed\n", gk_tests_passed, gk_tests_failed);
	return gk_tests_failed ? 1 : 0;
}
