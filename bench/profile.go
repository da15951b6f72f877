package bench

import (
	"bytes"
	"embed"
	"encoding/json"
	"fmt"
	"os"
	"sort"
	"strings"
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
	BlkReadP99Ms    float64 `json:"blk_read_p99_ms,omitempty"`
	NetRTTP99Ms     float64 `json:"net_rtt_p99_ms,omitempty"`
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
	var data []byte
	var err error
	if strings.ContainsRune(nameOrPath, '/') || strings.HasSuffix(nameOrPath, ".json") {
		if data, err = os.ReadFile(nameOrPath); err != nil {
			return nil, fmt.Errorf("profile: %w", err)
		}
	} else if data, err = profileFS.ReadFile("profiles/" + nameOrPath + ".json"); err != nil {
		return nil, fmt.Errorf("unknown profile %q (profiles: %s; or give a .json file)", nameOrPath, strings.Join(ProfileNames(), ", "))
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var p Profile
	if err := dec.Decode(&p); err != nil {
		return nil, fmt.Errorf("profile %s: %v", nameOrPath, err)
	}
	switch {
	case p.Name == "":
		return nil, fmt.Errorf("profile %s: missing name", nameOrPath)
	case p.VCPUs < 1 || p.VCPUs > 64:
		return nil, fmt.Errorf("profile %s: vcpus %d out of range 1..64", nameOrPath, p.VCPUs)
	case p.MemMiB < 4 || p.MemMiB > 1<<20:
		return nil, fmt.Errorf("profile %s: mem_mib %d out of range 4..1048576", nameOrPath, p.MemMiB)
	case p.Program == "":
		return nil, fmt.Errorf("profile %s: missing program", nameOrPath)
	}
	switch p.Probe {
	case "boot", "rate", "blk", "net":
	default:
		return nil, fmt.Errorf("profile %s: unknown probe %q (boot, rate, blk, net)", nameOrPath, p.Probe)
	}
	return &p, nil
}
