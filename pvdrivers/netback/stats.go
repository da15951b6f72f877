package netback

import "sync/atomic"

// Stats are a vif's counters since it was created (across reconnections).
type Stats struct {
	TxPackets      uint64 // frames taken from the guest and sent to the Network
	TxBytes        uint64 // bytes of those frames
	TxErrors       uint64 // tx packets dropped as malformed or for an unusable grant
	TxCsumFilled   uint64 // csum_blank frames whose checksum the backend computed
	TxCsumSkipped  uint64 // csum_blank frames it could not complete (sent as they are)
	TxExtraSkipped uint64 // GSO and hash extras ignored
	TxMcast        uint64 // multicast add/del requests accepted
	TxNotifies     uint64 // guest notifications for tx responses
	RxPackets      uint64 // frames copied into the guest
	RxBytes        uint64 // bytes of those frames
	RxDropped      uint64 // frames dropped: queue full, too large, not connected
	RxErrors       uint64 // frames lost to an unusable rx grant
	RxNotifies     uint64 // guest notifications for rx responses
	Wakeups        uint64 // times the serving loop woke from sleep
	Disconnects    uint64 // connections ended for abuse
}

// counters holds Stats as atomics: the serving goroutine writes them, any
// goroutine reads them.
type counters struct {
	txPackets, txBytes, txErrors, txCsumFilled, txCsumSkipped atomic.Uint64
	txExtraSkipped, txMcast, txNotifies                       atomic.Uint64
	rxPackets, rxBytes, rxDropped, rxErrors, rxNotifies       atomic.Uint64
	wakeups, disconnects                                      atomic.Uint64
}

// snapshot reads every counter.
func (c *counters) snapshot() Stats {
	return Stats{
		TxPackets: c.txPackets.Load(), TxBytes: c.txBytes.Load(), TxErrors: c.txErrors.Load(),
		TxCsumFilled: c.txCsumFilled.Load(), TxCsumSkipped: c.txCsumSkipped.Load(),
		TxExtraSkipped: c.txExtraSkipped.Load(), TxMcast: c.txMcast.Load(), TxNotifies: c.txNotifies.Load(),
		RxPackets: c.rxPackets.Load(), RxBytes: c.rxBytes.Load(), RxDropped: c.rxDropped.Load(),
		RxErrors: c.rxErrors.Load(), RxNotifies: c.rxNotifies.Load(),
		Wakeups: c.wakeups.Load(), Disconnects: c.disconnects.Load(),
	}
}
