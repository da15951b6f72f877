// Package netsw is an in-process Ethernet switch: it connects the vifs of
// VMs (and anything else with a frame receiver) that share one process.
//
// It learns source MAC addresses per port, forwards a unicast frame to the
// port that owns its destination, and floods broadcast, multicast and
// unknown-destination frames to every other port. A frame whose destination
// was learned on the sending port is dropped (no hairpin). Learned entries
// expire after Options.Aging and the table holds at most Options.MaxMACs.
//
// Delivery is a call to the receiving port's Receiver in the sender's
// goroutine: the Receiver must not block and keeps its own bounded queue
// (netback.Vif.Deliver queues at most its Config.RxQueue frames); a false
// return is a drop, counted on that port. Send never blocks.
package netsw
