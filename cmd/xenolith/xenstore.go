package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"

	"github.com/xenolith/xenolith/hv/xenstore"
)

const xenstoreUsage = `Usage: xenolith xenstore [--socket PATH] COMMAND [ARGS]

Read and change the xenstore of a running monitor ('xenolith run' serves it
on a unix socket as domain 0).

Commands:
  ls [PATH]            list PATH (default /) as a tree with values
  read PATH            print PATH's value
  write PATH VALUE     set PATH to VALUE
  rm PATH              remove PATH and everything below it
  watch PATH           print each change under PATH until Ctrl-C

Without --socket, the one monitor socket in ` + "%s" + ` is used.
`

// socketDir is where `xenolith run` puts its xenstore socket.
func socketDir() string {
	if d := os.Getenv("XDG_RUNTIME_DIR"); d != "" && os.Geteuid() != 0 {
		return filepath.Join(d, "xenolith")
	}
	return "/run/xenolith"
}

// serveXenstore serves store on a socket for the xenstore command and
// returns the function that stops it.
func serveXenstore(store *xenstore.Store, path string) (func(), error) {
	if path == "" {
		dir := socketDir()
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return nil, fmt.Errorf("xenstore socket: %w", err)
		}
		path = filepath.Join(dir, fmt.Sprintf("xenstore-%d.sock", os.Getpid()))
	}
	os.Remove(path)
	l, err := net.Listen("unix", path)
	if err != nil {
		return nil, fmt.Errorf("xenstore socket: %w", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	go xenstore.Serve(ctx, store, l)
	return func() { cancel(); l.Close(); os.Remove(path) }, nil
}

// findSocket picks the only live monitor socket.
func findSocket() (string, error) {
	dir := socketDir()
	matches, _ := filepath.Glob(filepath.Join(dir, "xenstore-*.sock"))
	var live []string
	for _, m := range matches {
		pid, err := strconv.Atoi(strings.TrimSuffix(strings.TrimPrefix(filepath.Base(m), "xenstore-"), ".sock"))
		if err == nil && syscall.Kill(pid, 0) == nil {
			live = append(live, m)
		}
	}
	switch len(live) {
	case 0:
		return "", fmt.Errorf("no running monitor found in %s (start one with 'xenolith run', or pass --socket)", dir)
	case 1:
		return live[0], nil
	}
	return "", fmt.Errorf("several monitors are running (%s); choose one with --socket", strings.Join(live, ", "))
}

func cmdXenstore(args []string, stdout, stderr io.Writer) error {
	usage := fmt.Sprintf(xenstoreUsage, socketDir())
	fs := newFlags("xenstore", usage, stdout)
	sock := fs.String("socket", "", "monitor xenstore socket")
	fs.SetInterspersed(false)
	if err := parseFlags(fs, args, usage, stdout); err != nil {
		return err
	}
	rest := fs.Args()
	if len(rest) == 0 {
		return usagef("xenstore: missing command (see 'xenolith xenstore --help')")
	}
	want := map[string][2]int{"ls": {0, 1}, "read": {1, 1}, "write": {2, 2}, "rm": {1, 1}, "watch": {1, 1}}
	n, ok := want[rest[0]]
	if !ok {
		return usagef("xenstore: unknown command %q (see 'xenolith xenstore --help')", rest[0])
	}
	if len(rest)-1 < n[0] || len(rest)-1 > n[1] {
		return usagef("xenstore %s: wrong number of arguments (see 'xenolith xenstore --help')", rest[0])
	}
	path := *sock
	if path == "" {
		var err error
		if path, err = findSocket(); err != nil {
			return err
		}
	}
	c, err := xenstore.Dial(path)
	if err != nil {
		return fmt.Errorf("xenstore: connect %s: %w", path, err)
	}
	defer c.Close()
	switch rest[0] {
	case "ls":
		root := "/"
		if len(rest) > 1 {
			root = rest[1]
		}
		return lsTree(c, root, 0, stdout)
	case "read":
		v, err := c.Read(rest[1])
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "%s\n", v)
	case "write":
		if err := c.Write(rest[1], []byte(rest[2])); err != nil {
			return err
		}
	case "rm":
		if err := c.Rm(rest[1]); err != nil {
			return err
		}
	case "watch":
		events, err := c.Watch(rest[1], "cli")
		if err != nil {
			return err
		}
		sig := make(chan os.Signal, 1)
		signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
		defer signal.Stop(sig)
		for {
			select {
			case ev, ok := <-events:
				if !ok {
					return nil
				}
				v, err := c.Read(ev.Path)
				if err != nil {
					fmt.Fprintf(stdout, "%s (removed)\n", ev.Path)
				} else {
					fmt.Fprintf(stdout, "%s = %q\n", ev.Path, v)
				}
			case <-sig:
				return nil
			}
		}
	}
	return nil
}

// lsTree prints path's children recursively with their values.
func lsTree(c *xenstore.Client, path string, depth int, w io.Writer) error {
	kids, err := c.Directory(path)
	if err != nil {
		return err
	}
	sort.Strings(kids)
	for _, k := range kids {
		p := strings.TrimSuffix(path, "/") + "/" + k
		v, _ := c.Read(p)
		fmt.Fprintf(w, "%s%s = %q\n", strings.Repeat("  ", depth), k, v)
		if err := lsTree(c, p, depth+1, w); err != nil {
			return err
		}
	}
	return nil
}
