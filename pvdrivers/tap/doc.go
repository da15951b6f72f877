// Package tap connects a vif to the host's network stack through a Linux
// tap device (/dev/net/tun, IFF_TAP|IFF_NO_PI): frames the guest sends are
// written to the device, frames the host sends to the device are read by a
// loop and handed to a receiver. The device is non-blocking: a write the
// kernel cannot take at once is dropped and counted, so the guest's transmit
// path never waits on the host. Opening a tap device needs CAP_NET_ADMIN.
package tap
