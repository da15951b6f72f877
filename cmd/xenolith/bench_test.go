package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestBenchBadInput: every bench command's bad input gets one clear
// "xenolith: ..." line and exit status 2, before any VM starts.
func TestBenchBadInput(t *testing.T) {
	dir := t.TempDir()
	badJSON := filepath.Join(dir, "bad.json")
	os.WriteFile(badJSON, []byte(`{"name":"x"`), 0o644)
	unknownField := filepath.Join(dir, "field.json")
	os.WriteFile(unknownField, []byte(`{"name":"x","vcpus":1,"mem_mib":16,"program":"idle","probe":"boot","slo":{"boot_p99_ms":5},"colour":"red"}`), 0o644)
	noProgram := filepath.Join(dir, "noprog.json")
	os.WriteFile(noProgram, []byte(`{"name":"x","vcpus":1,"mem_mib":16,"program":"nosuch","probe":"boot","slo":{"boot_p99_ms":5}}`), 0o644)
	notRecord := filepath.Join(dir, "notrecord.json")
	os.WriteFile(notRecord, []byte(`{"suite":"hypercall","metrics":[]}`), 0o644)
	missing := filepath.Join(dir, "absent.json")
	cases := []struct {
		name string
		args []string
		want string
	}{
		{"default: extra argument", []string{"bench", "--max", "10", "extra"}, "unexpected argument"},
		{"default: max too small", []string{"bench", "--max", "1"}, "--max"},
		{"default: bad format", []string{"bench", "--format", "xml"}, "--format"},
		{"overhead: runs 0", []string{"bench", "overhead", "--runs", "0"}, "--runs"},
		{"overhead: iterations too many", []string{"bench", "overhead", "--iterations", "100000"}, "--iterations"},
		{"overhead: extra argument", []string{"bench", "overhead", "x"}, "unexpected argument"},
		{"overhead: unknown flag", []string{"bench", "overhead", "--bogus"}, "unknown flag"},
		{"evtchn: iterations", []string{"bench", "evtchn", "--iterations", "1"}, "--iterations"},
		{"blk: ops 0", []string{"bench", "blk", "--ops", "0"}, "--ops"},
		{"density: unknown profile", []string{"bench", "density", "--profile", "nosuch"}, `unknown profile "nosuch"`},
		{"density: negative create cycles", []string{"bench", "density", "--create-cycles", "-1"}, "--create-cycles"},
		{"density: profile path missing", []string{"bench", "density", "--profile", missing}, "no such file"},
		{"density: profile file missing", []string{"bench", "density", "--profile-file", missing}, "no such file"},
		{"density: profile file not JSON", []string{"bench", "density", "--profile-file", badJSON}, "bad profile"},
		{"density: profile unknown field", []string{"bench", "density", "--profile-file", unknownField}, "unknown field"},
		{"density: profile program not built", []string{"bench", "density", "--profile-file", noProgram}, "not built"},
		{"density: searches 0", []string{"bench", "density", "--searches", "0"}, "--searches"},
		{"report: unreadable record", []string{"bench", "report", missing}, "no such file"},
		{"report: not a record", []string{"bench", "report", notRecord}, "record"},
		{"report: no record", []string{"bench", "report"}, "expected at least one"},
		{"compare: one record", []string{"bench", "compare", notRecord}, "expected two records"},
		{"compare: unreadable record", []string{"bench", "compare", missing, missing}, "no such file"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			st, stdout, stderr := runCLI(c.args...)
			if st != 2 {
				t.Errorf("exit status %d, want 2 (stderr %q)", st, stderr)
			}
			lines := strings.Split(strings.TrimRight(stderr, "\n"), "\n")
			if len(lines) != 1 || !strings.HasPrefix(lines[0], "xenolith: ") {
				t.Errorf("stderr is not one 'xenolith: ...' line: %q", stderr)
			}
			if !strings.Contains(stderr, c.want) {
				t.Errorf("stderr %q lacks %q", stderr, c.want)
			}
			if stdout != "" {
				t.Errorf("stdout not empty: %q", stdout)
			}
		})
	}
}

func TestBenchHelpListsSuites(t *testing.T) {
	st, stdout, _ := runCLI("bench", "overhead", "--help")
	if st != 0 {
		t.Fatalf("status %d", st)
	}
	for _, want := range []string{"overhead", "--process-per-vm", "--profile-file", "Exit status", "--lifecycle"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("help lacks %q", want)
		}
	}
	st, stdout, _ = runCLI("bench", "density", "--help")
	if st != 0 || !strings.Contains(stdout, "--process-per-vm") || !strings.Contains(stdout, "--profile-file") {
		t.Errorf("density help: status %d, %q", st, stdout)
	}
}

func TestProgressQuietOffTerminal(t *testing.T) {
	if w := progressWriter(&bytes.Buffer{}); w != nil {
		t.Errorf("progress on a buffer: %v", w)
	}
	f, err := os.Create(filepath.Join(t.TempDir(), "stderr"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if w := progressWriter(f); w != nil {
		t.Errorf("progress on a file: %v", w)
	}
}
