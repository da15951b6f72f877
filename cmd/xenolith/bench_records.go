package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/xenolith/xenolith/bench"
	"github.com/xenolith/xenolith/bench/compare"
	"github.com/xenolith/xenolith/bench/record"
	"github.com/xenolith/xenolith/bench/report"
)

const benchCompareUsage = `Usage: xenolith bench compare [flags] OLD.json NEW.json

Compare two benchmark records (see results/README.md). For each metric in
both, the run-level values of OLD and NEW are compared: medians with 95%
intervals, a two-sided Mann-Whitney U test, Holm-corrected across metrics.
A metric regressed when its corrected p-value is below --alpha and its
median moved more than --threshold in the bad direction (up for times and
counts, down for rates and VM counts).

Exit status: 0 no significant regression, 1 a regression (each named on a
"regression:" line), 2 unusable input (unreadable record, different
configurations, too few runs, nothing in common).
`

const benchReportUsage = `Usage: xenolith bench report [flags] RECORD.json...

Render benchmark records as a self-contained HTML page with PNG charts
(metadata, a table per suite, overhead ratios, and any curves the record
holds), or with --format gobench as Go benchmark lines for benchstat.
By default the page is written beside the first record as NAME.html, with
NAME-*.png, NAME being the first record's file name without .json.
`

// benchCompare implements `xenolith bench compare`.
func benchCompare(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("bench compare", benchCompareUsage, stdout)
	opts := compare.DefaultOptions()
	fs.Float64Var(&opts.Threshold, "threshold", opts.Threshold, "relative change of medians that counts (0.05 = 5%)")
	fs.Float64Var(&opts.Alpha, "alpha", opts.Alpha, "family-wise significance level")
	fs.StringSliceVar(&opts.IgnoreConfig, "ignore-config", opts.IgnoreConfig, "configuration keys not compared")
	asJSON := fs.Bool("json", false, "print the comparison as JSON")
	if err := parseFlags(fs, args, benchCompareUsage, stdout); err != nil {
		return err
	}
	if fs.NArg() != 2 {
		return usagef("bench compare: expected two records, OLD.json NEW.json (got %d arguments)", fs.NArg())
	}
	if !(opts.Threshold >= 0 && opts.Threshold < 10) || !(opts.Alpha > 0 && opts.Alpha < 1) {
		return usagef("bench compare: --threshold must be in [0, 10) and --alpha in (0, 1)")
	}
	a, err := record.Read(fs.Arg(0))
	if err != nil {
		return usagef("%v", err)
	}
	b, err := record.Read(fs.Arg(1))
	if err != nil {
		return usagef("%v", err)
	}
	rep, err := compare.Compare(a, b, opts)
	if errors.Is(err, compare.ErrUnusable) {
		return usagef("bench compare: %v", err)
	}
	if err != nil {
		return err
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(rep); err != nil {
			return err
		}
	} else {
		fmt.Fprintf(stdout, "A: %s (%s, %s)\nB: %s (%s, %s)\n\n", fs.Arg(0), a.ShortRevision(), a.Created.Format("2006-01-02 15:04"),
			fs.Arg(1), b.ShortRevision(), b.Created.Format("2006-01-02 15:04"))
		if err := rep.WriteText(stdout); err != nil {
			return err
		}
	}
	if len(rep.Regressions()) > 0 {
		return &exitError{1}
	}
	return nil
}

// benchReport implements `xenolith bench report`.
func benchReport(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("bench report", benchReportUsage, stdout)
	dir := fs.StringP("out", "o", "", "directory for the page and images (default: the first record's)")
	name := fs.String("name", "", "file name of the page without .html (default: the first record's)")
	format := fs.String("format", "html", "html, or gobench: benchstat lines on stdout")
	if err := parseFlags(fs, args, benchReportUsage, stdout); err != nil {
		return err
	}
	if fs.NArg() == 0 {
		return usagef("bench report: expected at least one RECORD.json")
	}
	if *format != "html" && *format != "gobench" {
		return usagef("bench report: unknown --format %q (html or gobench)", *format)
	}
	var recs []*record.Record
	var names []string
	for _, p := range fs.Args() {
		r, err := record.Read(p)
		if err != nil {
			return usagef("%v", err)
		}
		recs = append(recs, r)
		names = append(names, filepath.Base(p))
	}
	if *format == "gobench" {
		for _, r := range recs {
			if err := record.WriteGobench(stdout, r.Host, r.Results...); err != nil {
				return err
			}
		}
		return nil
	}
	first := fs.Arg(0)
	if *dir == "" {
		*dir = filepath.Dir(first)
	}
	if *name == "" {
		*name = strings.TrimSuffix(filepath.Base(first), ".json")
	}
	out, err := report.Render(recs, report.Options{Dir: *dir, Base: *name, Names: names})
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%s\n", out.HTML)
	for _, img := range out.Images {
		fmt.Fprintf(stdout, "%s\n", img)
	}
	return nil
}

// writeRecord saves results as a record under dir (see results/README.md)
// and returns its path.
func writeRecord(results []*bench.Result, dir string) (string, error) {
	return record.New(Version, os.Args, results...).Write(dir)
}

// formatGobench prints results as Go benchmark lines for benchstat.
func formatGobench(w io.Writer, results ...*bench.Result) error {
	return record.WriteGobench(w, record.CollectHost(), results...)
}
