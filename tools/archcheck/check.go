package main

import (
	"bufio"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
)

// Violation is one breach of the architecture rules.
type Violation struct {
	Pos token.Position // file (slash-separated, relative to the module root), line, column
	Msg string         // what is wrong
}

// String formats the violation as "file:line:col: message".
func (v Violation) String() string {
	return fmt.Sprintf("%s:%d:%d: %s", v.Pos.Filename, v.Pos.Line, v.Pos.Column, v.Msg)
}

// kvmDir is the only directory whose files may issue KVM ioctls.
const kvmDir = "hv/kvm/"

// tapDir may issue the network device ioctls a tap needs (TUNSETIFF,
// SIOCSIFFLAGS), never KVM ones: no KVM_ identifier is allowed there.
const tapDir = "pvdrivers/tap/"

// sysPackages are the packages through which a Go file can issue an ioctl.
var sysPackages = map[string]bool{"golang.org/x/sys/unix": true, "syscall": true}

// syscallFuncs are the raw system call entry points of unix and syscall.
var syscallFuncs = map[string]bool{
	"Syscall": true, "Syscall6": true, "RawSyscall": true, "RawSyscall6": true,
	"SyscallNoError": true, "RawSyscallNoError": true,
}

// sysIoctl is the ioctl system call number on linux/amd64, for raw Syscall calls
// that spell it as a literal.
const sysIoctl = "16"

// Check walks the Go module rooted at root and returns every violation of the
// architecture rules, sorted by position:
//
//   - only files named *_unsafe.go import "unsafe";
//   - only files under hv/kvm/ issue ioctls: elsewhere no Ioctl* function or
//     SYS_IOCTL constant of unix or syscall, no raw Syscall of number 16, and no
//     identifier beginning with KVM_ (pvdrivers/tap/ may issue its network
//     device ioctls, but has no KVM_ identifiers either);
//   - packages under pvdrivers/ import neither hv/vm nor hv/kvm.
//
// Test files are checked too. Directories named vendor or testdata, hidden
// directories, directories starting with "_" and nested modules are skipped.
func Check(root string) ([]Violation, error) {
	module, err := modulePath(filepath.Join(root, "go.mod"))
	if err != nil {
		return nil, err
	}
	var out []Violation
	fset := token.NewFileSet()
	err = filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if p != root && skipDir(p, d.Name()) {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(d.Name(), ".go") {
			return nil
		}
		rel, err := filepath.Rel(root, p)
		if err != nil {
			return err
		}
		rel = filepath.ToSlash(rel)
		f, err := parser.ParseFile(fset, p, nil, parser.SkipObjectResolution)
		if err != nil {
			return fmt.Errorf("archcheck: parse: %w", err)
		}
		c := &fileChecker{fset: fset, rel: rel, module: module}
		c.check(f)
		out = append(out, c.found...)
		return nil
	})
	if err != nil {
		return nil, err
	}
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i].Pos, out[j].Pos
		if a.Filename != b.Filename {
			return a.Filename < b.Filename
		}
		if a.Line != b.Line {
			return a.Line < b.Line
		}
		return a.Column < b.Column
	})
	return out, nil
}

// skipDir reports whether the walk should not enter directory p named name.
func skipDir(p, name string) bool {
	if name == "vendor" || name == "testdata" || strings.HasPrefix(name, ".") || strings.HasPrefix(name, "_") {
		return true
	}
	_, err := os.Stat(filepath.Join(p, "go.mod"))
	return err == nil // a nested module is checked on its own
}

// modulePath reads the module path from a go.mod file.
func modulePath(gomod string) (string, error) {
	f, err := os.Open(gomod)
	if err != nil {
		return "", fmt.Errorf("archcheck: %w", err)
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	for s.Scan() {
		fields := strings.Fields(s.Text())
		if len(fields) >= 2 && fields[0] == "module" {
			if m, err := strconv.Unquote(fields[1]); err == nil {
				return m, nil
			}
			return fields[1], nil
		}
	}
	if err := s.Err(); err != nil {
		return "", fmt.Errorf("archcheck: read %s: %w", gomod, err)
	}
	return "", fmt.Errorf("archcheck: no module line in %s", gomod)
}

// fileChecker checks one file and collects its violations.
type fileChecker struct {
	fset   *token.FileSet
	rel    string // slash-separated path relative to the module root
	module string // module path, for recognising hv/vm and hv/kvm imports
	found  []Violation
	netDev bool // the file may issue network device ioctls (tapDir)
}

func (c *fileChecker) report(pos token.Pos, format string, args ...any) {
	p := c.fset.Position(pos)
	p.Filename = c.rel
	c.found = append(c.found, Violation{Pos: p, Msg: fmt.Sprintf(format, args...)})
}

func (c *fileChecker) check(f *ast.File) {
	inKVM := strings.HasPrefix(c.rel, kvmDir)
	c.netDev = strings.HasPrefix(c.rel, tapDir)
	inPV := strings.HasPrefix(c.rel, "pvdrivers/")
	sysNames := map[string]string{} // local name -> import path of unix/syscall
	dotSys := false                 // unix or syscall is dot-imported
	for _, imp := range f.Imports {
		ipath, err := strconv.Unquote(imp.Path.Value)
		if err != nil {
			continue
		}
		if ipath == "unsafe" && !strings.HasSuffix(c.rel, "_unsafe.go") {
			c.report(imp.Pos(), `imports "unsafe": only files named *_unsafe.go may`)
		}
		if inPV {
			for _, banned := range []string{"hv/vm", "hv/kvm"} {
				full := c.module + "/" + banned
				if ipath == full || strings.HasPrefix(ipath, full+"/") {
					c.report(imp.Pos(), "pvdrivers must not import %s", ipath)
				}
			}
		}
		if sysPackages[ipath] {
			name := path.Base(ipath)
			if imp.Name != nil {
				name = imp.Name.Name
			}
			switch name {
			case "_":
			case ".":
				dotSys = true
			default:
				sysNames[name] = ipath
			}
		}
	}
	if inKVM {
		return
	}
	ast.Inspect(f, func(n ast.Node) bool {
		switch n := n.(type) {
		case *ast.SelectorExpr:
			if x, ok := n.X.(*ast.Ident); ok && sysNames[x.Name] != "" {
				c.checkSysName(n.Pos(), x.Name+"."+n.Sel.Name, n.Sel.Name)
				return false
			}
		case *ast.CallExpr:
			c.checkRawSyscall(n, sysNames, dotSys)
		case *ast.Ident:
			if strings.HasPrefix(n.Name, "KVM_") {
				c.report(n.Pos(), "identifier %s: only hv/kvm may deal in KVM ioctls", n.Name)
			} else if dotSys {
				c.checkSysName(n.Pos(), n.Name, n.Name)
			}
		}
		return true
	})
}

// checkSysName reports a reference to an ioctl function or constant of unix or
// syscall; shown is how the file spells it.
func (c *fileChecker) checkSysName(pos token.Pos, shown, name string) {
	if c.netDev {
		return
	}
	switch {
	case strings.HasPrefix(name, "Ioctl"):
		c.report(pos, "calls %s: only hv/kvm may issue ioctls", shown)
	case name == "SYS_IOCTL":
		c.report(pos, "uses %s: only hv/kvm may issue ioctls", shown)
	}
}

// checkRawSyscall reports unix.Syscall(16, ...) and the like, which issue an ioctl
// without naming SYS_IOCTL.
func (c *fileChecker) checkRawSyscall(call *ast.CallExpr, sysNames map[string]string, dotSys bool) {
	var fn string
	switch f := call.Fun.(type) {
	case *ast.SelectorExpr:
		if x, ok := f.X.(*ast.Ident); ok && sysNames[x.Name] != "" {
			fn = f.Sel.Name
		}
	case *ast.Ident:
		if dotSys {
			fn = f.Name
		}
	}
	if !syscallFuncs[fn] || len(call.Args) == 0 || c.netDev {
		return
	}
	if lit, ok := call.Args[0].(*ast.BasicLit); ok && lit.Kind == token.INT && lit.Value == sysIoctl {
		c.report(call.Pos(), "raw system call %s is ioctl: only hv/kvm may issue ioctls", sysIoctl)
	}
}
