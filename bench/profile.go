package bench

import (
	"bytes"
	"embed"
	"encoding/json"
	"fmt"
	"os"
	"sort"
	"strings"

	"github.com/xenolith/xenolith/guestkit"
)

//go:embed profiles/*.json
var profileFS embed.FS

// Profile is a workload shape for the density suite, kept as data: the
// embedded defaults live in bench/profiles/*.json and a user may pass a
// file of the same form.
type Profile struct {
	Name        string `json:"name"`
	Description string `json:"description"`
	VCPUs       int    `json:"vcpus"`
	MemMiB      int    `json:"mem_mib"`
	Program     string `json:"program"`             // guestkit program each VM runs
	Args        string `json:"args,omitempty"`      // its arguments
	Alternate   string `json:"alternate,omitempty"` // every other VM runs this program instead
	// Probe defines the per-VM SLO probe: "boot" (creation to main),
	// "rate" (work units per second read from guest memory), "blk", "net".
	Probe    string `json:"probe"`
	Requires string `json:"requires,omitempty"` // a missing feature: the profile cannot run yet
	SLO      SLO    `json:"slo"`
}

// SLO is the service level a density search holds VMs to.
type SLO struct {
	BootP99Ms       float64 `json:"boot_p99_ms,omitempty"`       // creation-to-main p99 of the newest VMs
	MinRateFraction float64 `json:"min_rate_fraction,omitempty"` // slowest VM's rate / one VM's rate alone
	BlkReadP99Ms    float64 `json:"blk_read_p99_ms,omitempty"`   // 4 KiB read p99 over all VMs in a window
	MinReadsPerSec  float64 `json:"min_reads_per_sec,omitempty"` // blk: the slowest VM's reads/s (0: no floor)
	NetRTTP99Ms     float64 `json:"net_rtt_p99_ms,omitempty"`    // UDP request/response p99
}

// netProbeAvailable says whether this build can run the net profile's
// probe (UDP request/response through PV net: guestkit's netprobe and a
// responder on the fleet's in-process switch, bench/netprobe.go). A build
// without it fails the profile with one line naming what is missing.
var netProbeAvailable = true

// Runnable reports why this build cannot run the profile, or nil.
func (p *Profile) Runnable() error {
	if p.Requires != "" {
		return fmt.Errorf("profile %s needs %s, which this build does not have yet", p.Name, p.Requires)
	}
	if p.Probe == "net" && !netProbeAvailable {
		return fmt.Errorf("profile %s: net: not available (its UDP request/response probe needs the PV net backend and netfront guest, not in this build yet)", p.Name)
	}
	for _, prog := range []string{p.Program, p.Alternate} {
		if prog == "" {
			continue
		}
		if _, err := guestkit.Program(prog); err != nil {
			return fmt.Errorf("profile %s: guest program %q is not built into this binary", p.Name, prog)
		}
	}
	return nil
}

// ProfileNames lists the embedded profiles.
func ProfileNames() []string {
	ents, _ := profileFS.ReadDir("profiles")
	var out []string
	for _, e := range ents {
		out = append(out, strings.TrimSuffix(e.Name(), ".json"))
	}
	sort.Strings(out)
	return out
}

// LoadProfile returns an embedded profile by name, or reads a profile file
// when nameOrPath names one (it contains a '/' or ends in .json).
func LoadProfile(nameOrPath string) (*Profile, error) {
	if strings.ContainsRune(nameOrPath, '/') || strings.HasSuffix(nameOrPath, ".json") {
		return LoadProfileFile(nameOrPath)
	}
	data, err := profileFS.ReadFile("profiles/" + nameOrPath + ".json")
	if err != nil {
		return nil, fmt.Errorf("%w %q (profiles: %s; or give a file with --profile-file)", ErrUnknownProfile, nameOrPath, strings.Join(ProfileNames(), ", "))
	}
	return ParseProfile(nameOrPath, data)
}

// LoadProfileFile reads a profile from a JSON file of the embedded
// profiles' form.
func LoadProfileFile(path string) (*Profile, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("profile file: %w", err)
	}
	return ParseProfile(path, data)
}

// ParseProfile decodes and checks a profile; name labels errors.
func ParseProfile(nameOrPath string, data []byte) (*Profile, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var p Profile
	if err := dec.Decode(&p); err != nil {
		return nil, fmt.Errorf("profile %s: %w: %v", nameOrPath, ErrBadProfile, err)
	}
	if dec.More() {
		return nil, fmt.Errorf("profile %s: %w: data after the profile object", nameOrPath, ErrBadProfile)
	}
	switch {
	case p.Name == "":
		return nil, fmt.Errorf("profile %s: %w: missing name", nameOrPath, ErrBadProfile)
	case p.VCPUs < 1 || p.VCPUs > 64:
		return nil, fmt.Errorf("profile %s: %w: vcpus %d out of range 1..64", nameOrPath, ErrBadProfile, p.VCPUs)
	case p.MemMiB < 4 || p.MemMiB > 1<<20:
		return nil, fmt.Errorf("profile %s: %w: mem_mib %d out of range 4..1048576", nameOrPath, ErrBadProfile, p.MemMiB)
	case p.Program == "":
		return nil, fmt.Errorf("profile %s: %w: missing program", nameOrPath, ErrBadProfile)
	}
	switch p.Probe {
	case "boot", "rate", "blk", "net":
	default:
		return nil, fmt.Errorf("profile %s: %w: unknown probe %q (boot, rate, blk, net)", nameOrPath, ErrBadProfile, p.Probe)
	}
	slo := map[string]float64{"boot": p.SLO.BootP99Ms, "rate": p.SLO.MinRateFraction, "blk": p.SLO.BlkReadP99Ms, "net": p.SLO.NetRTTP99Ms}[p.Probe]
	if !(slo > 0) || p.SLO.MinReadsPerSec < 0 {
		return nil, fmt.Errorf("profile %s: %w: probe %q needs a positive SLO (%s)", nameOrPath, ErrBadProfile, p.Probe, sloField[p.Probe])
	}
	return &p, nil
}

// sloField names the SLO field each probe reads.
var sloField = map[string]string{"boot": "slo.boot_p99_ms", "rate": "slo.min_rate_fraction", "blk": "slo.blk_read_p99_ms", "net": "slo.net_rtt_p99_ms"}
