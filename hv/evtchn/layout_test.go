package evtchn

import "testing"

// TestWireLayout pins the sizes and offsets of the event_channel.h structs
// and of shared_info/vcpu_info against the Xen public headers (x86-64,
// checked with gcc's sizeof/offsetof on xen/include/public at xen-project/xen
// c447b7308b13). The expected values are written out here, not derived from
// the constants under test.
func TestWireLayout(t *testing.T) {
	for _, c := range []struct {
		what      string
		got, want int
	}{
		{"sizeof(evtchn_alloc_unbound)", allocUnboundSize, 8},
		{"evtchn_alloc_unbound.dom", allocUnboundDom, 0},
		{"evtchn_alloc_unbound.remote_dom", allocUnboundRemoteDom, 2},
		{"evtchn_alloc_unbound.port", allocUnboundPort, 4},
		{"sizeof(evtchn_bind_interdomain)", bindInterdomainSize, 12},
		{"evtchn_bind_interdomain.remote_dom", bindInterdomainDom, 0},
		{"evtchn_bind_interdomain.remote_port", bindInterdomainRPort, 4},
		{"evtchn_bind_interdomain.local_port", bindInterdomainLPort, 8},
		{"sizeof(evtchn_bind_virq)", bindVIRQSize, 12},
		{"evtchn_bind_virq.virq", bindVIRQVIRQ, 0},
		{"evtchn_bind_virq.vcpu", bindVIRQVCPU, 4},
		{"evtchn_bind_virq.port", bindVIRQPort, 8},
		{"sizeof(evtchn_bind_pirq)", bindPIRQSize, 12},
		{"sizeof(evtchn_bind_ipi)", bindIPISize, 8},
		{"evtchn_bind_ipi.vcpu", bindIPIVCPU, 0},
		{"evtchn_bind_ipi.port", bindIPIPort, 4},
		{"sizeof(evtchn_close)", closeSize, 4},
		{"sizeof(evtchn_send)", sendSize, 4},
		{"sizeof(evtchn_status)", statusSize, 24},
		{"evtchn_status.dom", statusDom, 0},
		{"evtchn_status.port", statusPort, 4},
		{"evtchn_status.status", statusStatus, 8},
		{"evtchn_status.vcpu", statusVCPU, 12},
		{"evtchn_status.u", statusUnion, 16},
		{"evtchn_status.u.interdomain.port", statusInterPort, 20},
		{"sizeof(evtchn_bind_vcpu)", bindVCPUSize, 8},
		{"evtchn_bind_vcpu.port", bindVCPUPort, 0},
		{"evtchn_bind_vcpu.vcpu", bindVCPUVCPU, 4},
		{"sizeof(evtchn_unmask)", unmaskSize, 4},
		{"sizeof(evtchn_reset)", resetSize, 2},
		{"sizeof(evtchn_init_control)", initControlSize, 24},
		{"sizeof(evtchn_expand_array)", expandArraySize, 8},
		{"sizeof(evtchn_set_priority)", setPrioritySize, 8},
		{"evtchn_set_priority.port", setPriorityPort, 0},
		{"shared_info.vcpu_info", shinfoVCPUInfo, 0},
		{"shared_info.evtchn_pending", shinfoEvtchnPending, 2048},
		{"shared_info.evtchn_mask", shinfoEvtchnMask, 2560},
		{"sizeof(vcpu_info)", vcpuInfoSize, 64},
		{"vcpu_info.evtchn_upcall_mask", vcpuInfoUpcallMask, 1},
		{"vcpu_info.evtchn_pending_sel", vcpuInfoPendingSel, 8},
		{"EVTCHN_2L_NR_CHANNELS", NrPorts, 4096},
		{"NR_VIRQS", NrVIRQs, 24},
		{"XEN_LEGACY_MAX_VCPUS", LegacyVCPUs, 32},
		{"EVTCHNOP_reset_cont", OpResetCont, 14},
		{"EVTCHNOP_set_priority", OpSetPriority, 13},
	} {
		if c.got != c.want {
			t.Errorf("%s = %d, want %d", c.what, c.got, c.want)
		}
	}
}
