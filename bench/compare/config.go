package compare

import (
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"sort"
	"strings"
)

// configDiff compares two suite configurations as JSON values (a record
// read from disk holds a map, a fresh one the options struct) and returns
// "key: A vs B" for each differing leaf, keys joined by '.', top-level
// keys in ignore skipped.
func configDiff(a, b any, ignore []string) []string {
	na, errA := normalize(a)
	nb, errB := normalize(b)
	if errA != nil || errB != nil {
		return []string{fmt.Sprintf("configuration not comparable (%v, %v)", errA, errB)}
	}
	var out []string
	diffValue("", na, nb, ignore, &out)
	return out
}

// normalize round-trips v through JSON so both sides have the same types.
func normalize(v any) (any, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	var out any
	err = json.Unmarshal(b, &out)
	return out, err
}

func diffValue(path string, a, b any, ignore []string, out *[]string) {
	ma, aObj := a.(map[string]any)
	mb, bObj := b.(map[string]any)
	if aObj && bObj {
		keys := map[string]bool{}
		for k := range ma {
			keys[k] = true
		}
		for k := range mb {
			keys[k] = true
		}
		sorted := make([]string, 0, len(keys))
		for k := range keys {
			sorted = append(sorted, k)
		}
		sort.Strings(sorted)
		for _, k := range sorted {
			if path == "" && slices.Contains(ignore, k) {
				continue
			}
			p := k
			if path != "" {
				p = path + "." + k
			}
			va, okA := ma[k]
			vb, okB := mb[k]
			switch {
			case !okA:
				*out = append(*out, fmt.Sprintf("%s: absent vs %s", p, show(vb)))
			case !okB:
				*out = append(*out, fmt.Sprintf("%s: %s vs absent", p, show(va)))
			default:
				diffValue(p, va, vb, ignore, out)
			}
		}
		return
	}
	if !reflect.DeepEqual(a, b) {
		if path == "" {
			path = "configuration"
		}
		*out = append(*out, fmt.Sprintf("%s: %s vs %s", path, show(a), show(b)))
	}
}

// show renders a JSON value on one line, cut to 40 bytes.
func show(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return "?"
	}
	s := strings.Join(strings.Fields(string(b)), " ")
	if len(s) > 40 {
		s = s[:40] + "..."
	}
	return s
}
