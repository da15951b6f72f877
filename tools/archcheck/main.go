// Command archcheck enforces Xenolith's architecture rules on the Go module in the
// current directory (or the directory given as its only argument): only *_unsafe.go
// files import "unsafe", only hv/kvm issues ioctls, and pvdrivers never imports
// hv/vm or hv/kvm. It prints one line per violation and exits 1 if there is any, 2
// if the tree cannot be read or parsed.
//
// Usage, from the repository root:
//
//	go run ./tools/archcheck
package main

import (
	"fmt"
	"os"
)

func main() {
	root := "."
	switch len(os.Args) {
	case 1:
	case 2:
		root = os.Args[1]
	default:
		fmt.Fprintln(os.Stderr, "usage: archcheck [module-root]")
		os.Exit(2)
	}
	vs, err := Check(root)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	for _, v := range vs {
		fmt.Println(v)
	}
	if len(vs) > 0 {
		os.Exit(1)
	}
}
