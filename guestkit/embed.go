// Package guestkit embeds the freestanding C guest programs built by
// `make -C guestkit` (guestkit/build/*.elf), so that the xenolith binary
// carries its default guests. The C sources live beside this file.
package guestkit

import (
	"embed"
	"fmt"
	"io/fs"
	"sort"
	"strings"
)

//go:embed all:build
var build embed.FS

// Program returns the ELF image of a guestkit program (e.g. "hello").
func Program(name string) ([]byte, error) {
	b, err := build.ReadFile("build/" + name + ".elf")
	if err != nil {
		return nil, fmt.Errorf("guestkit: program %q is not built into this binary (run make)", name)
	}
	return b, nil
}

// Programs lists the embedded program names.
func Programs() []string {
	var out []string
	entries, _ := fs.ReadDir(build, "build")
	for _, e := range entries {
		if n, ok := strings.CutSuffix(e.Name(), ".elf"); ok {
			out = append(out, n)
		}
	}
	sort.Strings(out)
	return out
}
