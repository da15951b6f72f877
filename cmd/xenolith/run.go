package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/xenolith/xenolith/hv/kvm"
	"github.com/xenolith/xenolith/hv/vm"
	"github.com/xenolith/xenolith/internal/devices"
	"github.com/xenolith/xenolith/pvdrivers/blkback"
)

const runUsage = `Usage: xenolith run [flags] KERNEL.elf

Boot KERNEL.elf, a Xen PVH ELF kernel (for example guestkit/build/hello.elf),
in a new VM and stream its console to stdout. Ctrl-C stops the VM.

Exit status follows the guest's shutdown reason:
  0 poweroff, 65 reboot, 66 suspend, 67 crash, 68 watchdog, 69 soft_reset,
  70 VM destroyed by the monitor (e.g. triple fault), 130 interrupted,
  1 host error, 2 bad input. The reason is printed on stderr unless it is
  a poweroff.
`

// runOptions are the flags shared by run and the benchmarks that boot guests.
type runOptions struct {
	mem      string
	vcpus    int
	cmdline  string
	verbose  bool
	xsSocket string
	disks    []string
	nets     []string
	name     string
}

func (o *runOptions) register(fs interface {
	StringVar(*string, string, string, string)
	IntVar(*int, string, int, string)
	BoolVarP(*bool, string, string, bool, string)
}) {
	fs.StringVar(&o.mem, "mem", "64M", "guest RAM (e.g. 16M, 1G)")
	fs.IntVar(&o.vcpus, "vcpus", 1, "number of vCPUs, each on its own OS thread")
	fs.StringVar(&o.cmdline, "cmdline", "", "kernel command line (guestkit: program arguments)")
	fs.BoolVarP(&o.verbose, "verbose", "v", false, "log monitor events on stderr")
}

func (o *runOptions) registerRun(fs interface {
	StringVar(*string, string, string, string)
	StringArrayVar(*[]string, string, []string, string)
}) {
	fs.StringArrayVar(&o.disks, "disk", nil, "attach a raw disk image as a Xen PV block device: PATH[,ro][,direct] (repeatable; vbd 0, 1, ...)")
	registerNetFlag(fs, &o.nets)
	fs.StringVar(&o.name, "name", "", "the VM's name, for 'xenolith trace --vm NAME' (default: the kernel file's name without its extension)")
	fs.StringVar(&o.xsSocket, "xenstore-socket", "", "serve the VM's xenstore on this unix socket (default "+socketDir()+"/xenstore-PID.sock)")
}

// config validates the options and reads the kernel file.
func (o *runOptions) config(kernelPath string, stdout, stderr io.Writer) (vm.Config, error) {
	size, err := parseSize(o.mem)
	if err != nil {
		return vm.Config{}, usagef("--mem: %v", err)
	}
	if size == 0 {
		return vm.Config{}, usagef("--mem: guest memory must be larger than zero")
	}
	if size%4096 != 0 {
		return vm.Config{}, usagef("--mem: %s is not a multiple of 4 KiB", o.mem)
	}
	if o.vcpus < 1 || o.vcpus > vm.MaxVCPUs {
		return vm.Config{}, usagef("--vcpus: %d is out of range 1..%d", o.vcpus, vm.MaxVCPUs)
	}
	image, err := os.ReadFile(kernelPath)
	if err != nil {
		return vm.Config{}, usagef("kernel: %v", err)
	}
	level := slog.LevelWarn
	if o.verbose {
		level = slog.LevelDebug
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))
	return vm.Config{
		Name: "xenolith", MemBytes: size, VCPUs: o.vcpus, Kernel: image,
		Cmdline: o.cmdline, Console: stdout, Logger: log,
	}, nil
}

func cmdRun(args []string, stdout, stderr io.Writer) error {
	var o runOptions
	fs := newFlags("run", runUsage, stdout)
	o.register(fs)
	o.registerRun(fs)
	if err := parseFlags(fs, args, runUsage, stdout); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return usagef("run: expected one KERNEL.elf argument (see 'xenolith run --help')")
	}
	cfg, err := o.config(fs.Arg(0), stdout, stderr)
	if err != nil {
		return err
	}
	var files []*blkback.File
	defer func() {
		for _, f := range files {
			if f != nil {
				f.Close()
			}
		}
	}()
	for _, spec := range o.disks {
		ds, err := devices.ParseDiskSpec(spec)
		if err != nil {
			return usagef("--disk: %v", err)
		}
		f, err := devices.OpenDisk(ds)
		if err != nil {
			return usagef("--disk: %v", err)
		}
		files = append(files, f)
	}
	netSpecs, err := parseNetSpecs(o.nets)
	if err != nil {
		return err
	}
	if o.name == "" {
		o.name = defaultVMName(fs.Arg(0))
	} else if !validVMName(o.name) {
		return usagef("--name: %q is not a VM name (letters, digits, '-', '_', '.'; at most 64)", o.name)
	}
	cfg.Name = o.name
	if err := vm.CheckConfig(cfg); err != nil {
		return usagef("%s: %v", fs.Arg(0), err)
	}
	sys, err := kvm.Open()
	if err != nil {
		return err
	}
	defer sys.Close()
	if err := sys.Require(kvm.MonitorRequirements); err != nil {
		return err
	}
	m, err := vm.New(sys, cfg)
	if err != nil {
		if vm.IsConfigError(err) {
			return usagef("%s: %v", fs.Arg(0), err)
		}
		return err
	}
	defer vm.WaitClosed()
	defer m.Close()
	for i, f := range files {
		d, err := devices.AttachDisk(m, i, f, cfg.Logger)
		if err != nil {
			return fmt.Errorf("disk %d: %w", i, err)
		}
		files[i] = nil // the Disk owns it now
		defer d.Close()
	}
	closeNets, err := attachNets(m, netSpecs, cfg.Logger)
	if err != nil {
		return fmt.Errorf("net: %w", err)
	}
	defer closeNets()
	if unpublish, err := publishVMName(o.name); err != nil {
		fmt.Fprintf(stderr, "xenolith: %v (continuing; trace it with --pid %d)\n", err, os.Getpid())
	} else {
		defer unpublish()
	}
	stopStore, err := serveXenstore(m.Store(), o.xsSocket)
	if err != nil {
		fmt.Fprintf(stderr, "xenolith: %v (continuing without the xenstore socket)\n", err)
	} else {
		defer stopStore()
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	res, err := m.Run(ctx)
	if err != nil {
		return err
	}
	if res.Reason != vm.ReasonPoweroff || res.HasCode {
		fmt.Fprintf(stderr, "xenolith: %s\n", res)
	}
	if s := res.ExitStatus(); s != 0 {
		return &exitError{s}
	}
	return nil
}
