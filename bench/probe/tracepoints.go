package probe

import (
	"errors"
	"os"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/btf"
	"github.com/cilium/ebpf/link"
)

const tracefs = "/sys/kernel/tracing"

// Tracepoint is what Open found and did for one kernel event.
type Tracepoint struct {
	Name     string `json:"name"`          // e.g. "raw_tracepoint/kvm_pio", "tp_btf/sched_switch"
	Exists   bool   `json:"exists"`        // the kernel has the event
	Attached bool   `json:"attached"`      // a program is attached to it
	Fired    uint64 `json:"fired"`         // times it fired host-wide while attached (from Fired)
	Why      string `json:"why,omitempty"` // why it is not attached
}

type attachKind int

const (
	classic attachKind = iota // tracepoint/<group>/<name>
	raw                       // raw_tracepoint/<name>
	typed                     // tp_btf/<name>
)

// progPlan is one program of bpf/probe.c; the order is the C enum prog.
type progPlan struct {
	prog     string
	kind     attachKind
	group    string
	event    string
	required bool
	exists   bool
	attach   bool
	why      string
}

func (p progPlan) String() string {
	switch p.kind {
	case classic:
		return "tracepoint/" + p.group + "/" + p.event
	case raw:
		return "raw_tracepoint/" + p.event
	}
	return "tp_btf/" + p.event
}

// programs lists the probes in the order of the C enum prog.
var programs = []progPlan{
	{prog: "kvm_userspace_exit", kind: raw, event: "kvm_userspace_exit", required: true},
	{prog: "kvm_pio", kind: raw, event: "kvm_pio", required: true},
	{prog: "kvm_mmio", kind: raw, event: "kvm_mmio"},
	{prog: "kvm_emulate_insn", kind: raw, event: "kvm_emulate_insn"},
	{prog: "kvm_vcpu_wakeup", kind: raw, event: "kvm_vcpu_wakeup"},
	{prog: "kvm_msi_set_irq", kind: raw, event: "kvm_msi_set_irq"},
	{prog: "kvm_fpu", kind: raw, event: "kvm_fpu"},
	{prog: "sys_enter", kind: raw, event: "sys_enter"},
	{prog: "sched_wakeup", kind: typed, event: "sched_wakeup"},
	{prog: "sched_switch", kind: typed, event: "sched_switch"},
	{prog: "block_rq_issue", kind: typed, event: "block_rq_issue"},
	{prog: "block_rq_complete", kind: typed, event: "block_rq_complete"},
}

// planAttach decides which programs to load: those whose event exists,
// sys_enter only when it is needed (discovery, or no kvm_fpu to mark the
// entry to KVM_RUN), block ones unless disabled.
func planAttach(o Options) []progPlan {
	plan := append([]progPlan(nil), programs...)
	kernel, kerr := btf.LoadKernelSpec()
	fpu := false
	for i := range plan {
		p := &plan[i]
		switch p.kind {
		case classic:
			_, err := os.Stat(tracefs + "/events/" + p.group + "/" + p.event)
			p.exists = err == nil
		default:
			if kerr == nil {
				var fn *btf.Typedef
				p.exists = kernel.TypeByName("btf_trace_"+p.event, &fn) == nil
			}
		}
		p.attach = p.exists
		if !p.exists {
			p.why = "no such event in this kernel"
		}
		if p.prog == "kvm_fpu" {
			fpu = p.exists
		}
	}
	for i := range plan {
		p := &plan[i]
		switch {
		case p.prog == "sys_enter" && p.exists && !o.Discover && fpu:
			p.attach, p.why = false, "not needed: kvm_fpu marks KVM_RUN entry"
		case (p.prog == "block_rq_issue" || p.prog == "block_rq_complete") && o.NoBlock:
			p.attach, p.why = false, "disabled"
		}
	}
	return plan
}

func (p progPlan) link(prog *ebpf.Program) (link.Link, error) {
	if prog == nil {
		return nil, errors.New("program not loaded")
	}
	switch p.kind {
	case classic:
		return link.Tracepoint(p.group, p.event, prog, nil)
	case raw:
		return link.AttachRawTracepoint(link.RawTracepointOptions{Name: p.event, Program: prog})
	}
	return link.AttachTracing(link.TracingOptions{Program: prog})
}

// Tracepoints returns, for every event the probes know, whether it exists,
// whether it is attached and how often it fired so far.
func (t *Tracer) Tracepoints() []Tracepoint {
	out := append([]Tracepoint(nil), t.tps...)
	g, err := t.globals()
	if err != nil {
		return out
	}
	for i := range out {
		if i < len(programs) {
			out[i].Fired = g[gHits+i]
		}
	}
	return out
}
