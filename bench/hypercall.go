package bench

import (
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"time"

	"github.com/xenolith/xenolith/bench/stats"
	"github.com/xenolith/xenolith/guestkit"
	"github.com/xenolith/xenolith/hv/kvm"
	"github.com/xenolith/xenolith/hv/vm"
)

// HypercallOptions configure the hypercall suite.
type HypercallOptions struct {
	Runs       int       // VM runs of the hcbench guest (default 5)
	Iterations int       // round trips per loop per run (default 20000)
	Boots      int       // in-process boots for create-to-main (default 20)
	ProcBoots  int       // whole `xenolith run` processes (default 10; 0 skips)
	Exe        string    // xenolith binary for process boots; default os.Executable
	Progress   io.Writer // optional progress lines
	// Trace, when set, registers every VM's vCPU threads with the eBPF
	// probes (--trace).
	Trace *Trace `json:"-"`
}

// Metric is one measured quantity: its samples' summary, in nanoseconds.
type Metric struct {
	Name    string        `json:"name"`
	Unit    string        `json:"unit"`
	Summary stats.Summary `json:"summary"`
	Samples []float64     `json:"samples,omitempty"`
	// Runs holds one value per run (the run's median for timings): the
	// run-level values that comparisons between records test.
	Runs []float64 `json:"runs,omitempty"`
	// Floor names the metric this one is compared with, if any.
	Floor string `json:"floor,omitempty"`
	// Ratio of medians to the floor, with a 95% bootstrap interval over
	// per-run medians.
	Ratio   float64 `json:"ratio,omitempty"`
	RatioLo float64 `json:"ratio_ci_lo,omitempty"`
	RatioHi float64 `json:"ratio_ci_hi,omitempty"`
}

// Result is a suite's output.
type Result struct {
	Suite string `json:"suite"`
	// Config is the suite's full configuration (its options).
	Config  any      `json:"config,omitempty"`
	TSCKHz  uint64   `json:"tsc_khz"`
	Metrics []Metric `json:"metrics"`
	// Curves are the suite's charts (density curve, creation latency...).
	Curves []Curve `json:"curves,omitempty"`
	// Notes are findings a person should read with the figures (e.g. the
	// resource that limited a density search).
	Notes []string `json:"notes,omitempty"`
	// Tables are figures best read as a table, e.g. eBPF-measured figures
	// per VM; reports show them as they are.
	Tables []Table `json:"tables,omitempty"`
}

// Table is a titled table of text cells.
type Table struct {
	Title   string     `json:"title"`
	Columns []string   `json:"columns"`
	Rows    [][]string `json:"rows"`
}

// nsSeries converts a guest's TSC-cycle series to nanoseconds.
func nsSeries(s []uint64, khz uint64) []float64 {
	ns := make([]float64, len(s))
	for i, c := range s {
		ns[i] = float64(c) * 1e6 / float64(khz)
	}
	return ns
}

// Hypercall measures a null hypercall (xen_version) round trip against a
// raw port-I/O exit to the monitor, from CPL3 and CPL0, as timed by the
// guest's TSC; and VM creation to guest main.
func Hypercall(sys *kvm.System, o HypercallOptions) (*Result, error) {
	if o.Runs == 0 {
		o.Runs = 5
	}
	if o.Iterations == 0 {
		o.Iterations = 20000
	}
	if o.Boots == 0 {
		o.Boots = 20
	}
	progress := o.Progress
	if progress == nil {
		progress = io.Discard
	}
	res := &Result{Suite: "hypercall", Config: o}
	names := []string{"cpl3_raw", "cpl3_hcall", "cpl0_raw", "cpl0_hcall"}
	all := map[string][]float64{}
	perRun := map[string][]float64{} // per-run medians
	for run := 0; run < o.Runs; run++ {
		fmt.Fprintf(progress, "hypercall: run %d/%d\n", run+1, o.Runs)
		out, err := o.Trace.run(sys, fmt.Sprintf("hcbench run %d", run+1), guestkit.RunOptions{Program: "hcbench", Cmdline: fmt.Sprint(o.Iterations), Timeout: 5 * time.Minute})
		if err != nil {
			return nil, err
		}
		if out.Result.Reason != vm.ReasonPoweroff {
			return nil, fmt.Errorf("hcbench guest ended with %s", out.Result)
		}
		if out.TSCKHz == 0 {
			return nil, fmt.Errorf("unknown guest TSC frequency")
		}
		res.TSCKHz = out.TSCKHz
		for _, n := range names {
			s := out.Series(n)
			if len(s) == 0 {
				return nil, fmt.Errorf("hcbench guest reported no %s series", n)
			}
			ns := nsSeries(s, out.TSCKHz)
			all[n] = append(all[n], ns...)
			perRun[n] = append(perRun[n], stats.Median(ns))
		}
	}
	floor := map[string]string{"cpl3_hcall": "cpl3_raw", "cpl0_hcall": "cpl0_raw"}
	label := map[string]string{
		"cpl3_raw": "raw port-I/O exit, CPL3 (floor)", "cpl3_hcall": "null hypercall, CPL3",
		"cpl0_raw": "raw port-I/O exit, CPL0 (floor)", "cpl0_hcall": "null hypercall, CPL0",
	}
	for _, n := range names {
		m := Metric{Name: label[n], Unit: "ns", Summary: stats.Summarize(all[n]), Runs: perRun[n]}
		if f, ok := floor[n]; ok {
			m.Floor = label[f]
			m.Ratio, m.RatioLo, m.RatioHi = stats.PairedRatio(perRun[n], perRun[f])
		}
		res.Metrics = append(res.Metrics, m)
		if f, ok := floor[n]; ok {
			res.Metrics = append(res.Metrics, ratioMetric(m.Name, perRun[n], perRun[f]))
		}
	}

	var boot []float64
	for i := 0; i < o.Boots; i++ {
		if i%5 == 0 {
			fmt.Fprintf(progress, "create-to-main: boot %d/%d\n", i+1, o.Boots)
		}
		out, err := o.Trace.run(sys, "hello (create-to-main boots)", guestkit.RunOptions{Program: "hello", MemBytes: 16 << 20})
		if err != nil {
			return nil, err
		}
		if out.Main.IsZero() {
			return nil, fmt.Errorf("hello guest never reached main: %s", out.Result)
		}
		boot = append(boot, float64(out.Main.Sub(out.Created).Nanoseconds()))
	}
	res.Metrics = append(res.Metrics, Metric{Name: "VM create to guest main (in-process)", Unit: "ns", Summary: stats.Summarize(boot), Samples: boot, Runs: batchMedians(boot, batchSize(len(boot)))})

	if o.ProcBoots > 0 {
		p, err := processBoots(o, progress)
		if err != nil {
			return nil, err
		}
		res.Metrics = append(res.Metrics, Metric{Name: "`xenolith run hello.elf` process, start to exit", Unit: "ns", Summary: stats.Summarize(p), Samples: p, Runs: batchMedians(p, batchSize(len(p)))})
	}
	return res, nil
}

func processBoots(o HypercallOptions, progress io.Writer) ([]float64, error) {
	exe := o.Exe
	if exe == "" {
		var err error
		if exe, err = os.Executable(); err != nil {
			return nil, err
		}
	}
	img, err := guestkit.Program("hello")
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "xenolith-bench")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "hello.elf")
	if err := os.WriteFile(path, img, 0o644); err != nil {
		return nil, err
	}
	var out []float64
	for i := 0; i < o.ProcBoots; i++ {
		if i%5 == 0 {
			fmt.Fprintf(progress, "process boot %d/%d\n", i+1, o.ProcBoots)
		}
		t0 := time.Now()
		cmd := exec.Command(exe, "run", "--mem", "16M", path)
		if b, err := cmd.CombinedOutput(); err != nil {
			return nil, fmt.Errorf("xenolith run hello.elf: %v: %s", err, b)
		}
		out = append(out, float64(time.Since(t0).Nanoseconds()))
	}
	return out, nil
}
