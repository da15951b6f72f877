package bench

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestEmbeddedProfiles(t *testing.T) {
	names := ProfileNames()
	for _, want := range []string{"blk", "cpu", "idle", "mixed", "net"} {
		found := false
		for _, n := range names {
			found = found || n == want
		}
		if !found {
			t.Errorf("profile %q not embedded (have %v)", want, names)
		}
	}
	for _, n := range names {
		p, err := LoadProfile(n)
		if err != nil {
			t.Errorf("%s: %v", n, err)
			continue
		}
		if p.Name != n {
			t.Errorf("profile file %s.json names itself %q", n, p.Name)
		}
		if err := p.Runnable(); err != nil {
			t.Errorf("%s: Runnable() = %v", n, err)
		}
	}
	// A build without the net probe names the missing piece in one line.
	netProbeAvailable = false
	defer func() { netProbeAvailable = true }()
	p, err := LoadProfile("net")
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Runnable(); err == nil || !strings.Contains(err.Error(), "net: not available") {
		t.Errorf("net profile without its probe: Runnable() = %v, want the missing piece named", err)
	}
}

func TestLoadProfileErrors(t *testing.T) {
	dir := t.TempDir()
	write := func(name, data string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	good := `{"name":"mine","vcpus":1,"mem_mib":16,"program":"idle","probe":"boot","slo":{"boot_p99_ms":10}}`
	cases := []struct {
		name string
		arg  string
		want error  // errors.Is target, or nil for a plain file error
		text string // substring of the message
	}{
		{"unknown name", "nosuch", ErrUnknownProfile, "profiles: blk, cpu"},
		{"missing file", filepath.Join(dir, "absent.json"), nil, "no such file"},
		{"not JSON", write("a.json", "vcpus: 1"), ErrBadProfile, "invalid character"},
		{"truncated", write("b.json", `{"name":"x"`), ErrBadProfile, "EOF"},
		{"unknown field", write("c.json", strings.Replace(good, `"vcpus"`, `"cpus"`, 1)), ErrBadProfile, "unknown field"},
		{"trailing data", write("d.json", good+" {}"), ErrBadProfile, "after the profile"},
		{"no name", write("e.json", strings.Replace(good, `"mine"`, `""`, 1)), ErrBadProfile, "missing name"},
		{"vcpus 0", write("f.json", strings.Replace(good, `"vcpus":1`, `"vcpus":0`, 1)), ErrBadProfile, "vcpus"},
		{"tiny memory", write("g.json", strings.Replace(good, `"mem_mib":16`, `"mem_mib":1`, 1)), ErrBadProfile, "mem_mib"},
		{"unknown probe", write("h.json", strings.Replace(good, `"boot"`, `"vibes"`, 1)), ErrBadProfile, "unknown probe"},
		{"no SLO", write("i.json", strings.Replace(good, `"boot_p99_ms":10`, `"min_rate_fraction":0.5`, 1)), ErrBadProfile, "slo.boot_p99_ms"},
		{"negative SLO", write("j.json", strings.Replace(good, `10}`, `-1}`, 1)), ErrBadProfile, "positive SLO"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := LoadProfile(c.arg)
			if err == nil {
				t.Fatal("no error")
			}
			if c.want != nil && !errors.Is(err, c.want) {
				t.Errorf("error %v is not %v", err, c.want)
			}
			if !strings.Contains(err.Error(), c.text) || strings.Contains(err.Error(), "\n") {
				t.Errorf("error %q: want one line containing %q", err, c.text)
			}
		})
	}
	p, err := LoadProfileFile(write("ok.json", good))
	if err != nil || p.Name != "mine" || p.Runnable() != nil {
		t.Errorf("good file: %+v, %v", p, err)
	}
	p, err = LoadProfileFile(write("noprog.json", strings.Replace(good, `"idle"`, `"nosuchprogram"`, 1)))
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Runnable(); err == nil || !strings.Contains(err.Error(), "not built") {
		t.Errorf("profile with a missing program: Runnable() = %v", err)
	}
}

// FuzzParseProfile: profile files are user input; parsing must never panic
// and anything accepted must satisfy the documented ranges.
func FuzzParseProfile(f *testing.F) {
	for _, n := range ProfileNames() {
		b, _ := profileFS.ReadFile("profiles/" + n + ".json")
		f.Add(b)
	}
	f.Add([]byte(`{"name":"x","vcpus":64,"mem_mib":1048576,"program":"idle","probe":"rate","slo":{"min_rate_fraction":1e300}}`))
	f.Add([]byte(`{}`))
	f.Add([]byte(`null`))
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := ParseProfile("fuzz", data)
		if err != nil {
			return
		}
		if p.Name == "" || p.VCPUs < 1 || p.VCPUs > 64 || p.MemMiB < 4 || p.Program == "" {
			t.Errorf("accepted out-of-range profile %+v", p)
		}
		p.Runnable()
	})
}
