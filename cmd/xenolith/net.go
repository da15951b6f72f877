package main

import (
	"errors"
	"log/slog"

	"github.com/xenolith/xenolith/hv/vm"
	"github.com/xenolith/xenolith/internal/devices"
)

// netFlagUsage is the help text of --net.
const netFlagUsage = "attach a Xen PV network interface: switch:NAME (an in-process L2 switch shared by the VMs of this process) " +
	"or tap:IFNAME (a host tap device, needs root), optionally ,mac=xx:xx:xx:xx:xx:xx (repeatable; vif 0, 1, ...)"

// registerNetFlag adds --net (repeatable) to fs, collecting the specs in dst.
func registerNetFlag(fs interface {
	StringArrayVar(*[]string, string, []string, string)
}, dst *[]string) {
	fs.StringArrayVar(dst, "net", nil, netFlagUsage)
}

// parseNetSpecs checks every --net before any VM exists; errors are usage
// errors.
func parseNetSpecs(specs []string) ([]devices.NetSpec, error) {
	out := make([]devices.NetSpec, 0, len(specs))
	for _, s := range specs {
		ns, err := devices.ParseNetSpec(s)
		if err != nil {
			return nil, usagef("--net: %v", err)
		}
		out = append(out, ns)
	}
	return out, nil
}

// attachNets attaches vif i for specs[i] to m and returns a function that
// detaches them all (call it before m.Close). On error nothing stays
// attached.
func attachNets(m *vm.VM, specs []devices.NetSpec, log *slog.Logger) (func() error, error) {
	var nets []*devices.Net
	closeAll := func() error {
		var errs []error
		for i := len(nets) - 1; i >= 0; i-- {
			errs = append(errs, nets[i].Close())
		}
		return errors.Join(errs...)
	}
	for i, spec := range specs {
		n, err := devices.AttachNet(m, i, spec, log)
		if err != nil {
			closeAll()
			return nil, err
		}
		nets = append(nets, n)
	}
	return closeAll, nil
}
