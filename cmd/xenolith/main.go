// Command xenolith runs Xen PVH guests on KVM and benchmarks them.
//
//	xenolith run [flags] KERNEL.elf     boot a guest, stream its console
//	xenolith probe                      what this host's KVM can do
//	xenolith bench hypercall [flags]    hypercall cost against its floor
//
// Run `xenolith COMMAND --help` for each command's flags.
package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/pflag"
)

// usageError is bad user input: exit status 2.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error {
	return &usageError{fmt.Sprintf(format, args...)}
}

// exitError carries an exit status chosen by a command.
type exitError struct{ status int }

func (e *exitError) Error() string { return fmt.Sprintf("exit status %d", e.status) }

type command struct {
	name    string
	summary string
	run     func(args []string, stdout, stderr io.Writer) error
}

var commands []command

func init() {
	commands = []command{
		{"run", "boot a PVH kernel in a VM and stream its console", cmdRun},
		{"probe", "show what this host's KVM offers and how guest code runs", cmdProbe},
		{"bench", "measure virtualisation costs (xenolith bench --help)", cmdBench},
		{"trace", "live per-VM KVM counters of a running monitor (eBPF)", cmdTrace},
		{"xenstore", "read and change a running monitor's xenstore", cmdXenstore},
		{"version", "print the version", cmdVersion},
	}
}

func mainUsage(w io.Writer) {
	fmt.Fprintf(w, `xenolith: a paravirtualising hypervisor for Xen PVH guests on KVM, and its benchmarks.

Usage:
  xenolith COMMAND [flags] [args]

Commands:
`)
	for _, c := range commands {
		fmt.Fprintf(w, "  %-8s %s\n", c.name, c.summary)
	}
	fmt.Fprintf(w, "\nRun 'xenolith COMMAND --help' for a command's flags.\n")
}

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// run executes the command line and returns the process exit status.
func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		mainUsage(stderr)
		return 2
	}
	switch args[0] {
	case "-h", "--help", "help":
		mainUsage(stdout)
		return 0
	}
	for _, c := range commands {
		if c.name == args[0] {
			return status(c.run(args[1:], stdout, stderr), stderr)
		}
	}
	fmt.Fprintf(stderr, "xenolith: unknown command %q (run 'xenolith --help')\n", args[0])
	return 2
}

// status prints err as one line and maps it to an exit status.
func status(err error, stderr io.Writer) int {
	if err == nil {
		return 0
	}
	var ee *exitError
	if errors.As(err, &ee) {
		return ee.status
	}
	if errors.Is(err, pflag.ErrHelp) {
		return 0
	}
	msg := strings.TrimSpace(err.Error())
	if i := strings.IndexByte(msg, '\n'); i >= 0 {
		msg = msg[:i]
	}
	fmt.Fprintf(stderr, "xenolith: %s\n", msg)
	var ue *usageError
	if errors.As(err, &ue) {
		return 2
	}
	return 1
}

// newFlags makes a flag set that reports errors instead of exiting.
func newFlags(name, usage string, stdout io.Writer) *pflag.FlagSet {
	fs := pflag.NewFlagSet(name, pflag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	fs.SortFlags = false
	_ = usage
	return fs
}

// parseFlags parses args, printing help on --help.
func parseFlags(fs *pflag.FlagSet, args []string, usage string, stdout io.Writer) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, pflag.ErrHelp) {
			fmt.Fprint(stdout, usage)
			fmt.Fprintf(stdout, "\nFlags:\n%s", fs.FlagUsages())
			return pflag.ErrHelp
		}
		return usagef("%s: %v", fs.Name(), err)
	}
	return nil
}

// Version is the tool's version, set at link time.
var Version = "0.1.0-dev"

func cmdVersion(args []string, stdout, stderr io.Writer) error {
	fmt.Fprintf(stdout, "xenolith %s\n", Version)
	return nil
}
