package xenstore

import (
	"fmt"
	"strconv"
)

// Access is a set of access rights a permission entry grants.
type Access uint8

// Access rights, and their letters on the wire ("n", "r", "w", "b").
const (
	AccessNone  Access = 0                        // n: no access
	AccessRead  Access = 1                        // r: read only
	AccessWrite Access = 2                        // w: write only
	AccessBoth         = AccessRead | AccessWrite // b: read and write

	// accessOwner is the extra right of a node's owner (and of privileged
	// connections): changing permissions.
	accessOwner Access = 4
)

// Perm is one permission entry of a node. A node's first entry names its
// owner, who has full access; that entry's Access is the default for every
// domain without an entry of its own. Later entries grant Access to Domid
// (DomIDAny matches every domain).
type Perm struct {
	Domid  DomID  // the domain the entry is about
	Access Access // what it may do (or, first entry: everybody's default)
}

// String formats the entry as on the wire, e.g. "r5".
func (p Perm) String() string {
	var c byte
	switch p.Access & AccessBoth {
	case AccessRead:
		c = 'r'
	case AccessWrite:
		c = 'w'
	case AccessBoth:
		c = 'b'
	default:
		c = 'n'
	}
	return string(c) + strconv.FormatUint(uint64(p.Domid), 10)
}

// ParsePerm parses one wire permission entry: a letter n, r, w or b and a
// decimal domain id in 0..65535.
func ParsePerm(s string) (Perm, error) {
	if len(s) < 2 {
		return Perm{}, fmt.Errorf("permission %q: %w", s, EINVAL)
	}
	var a Access
	switch s[0] {
	case 'n':
		a = AccessNone
	case 'r':
		a = AccessRead
	case 'w':
		a = AccessWrite
	case 'b':
		a = AccessBoth
	default:
		return Perm{}, fmt.Errorf("permission %q: %w", s, EINVAL)
	}
	d, ok := parseDomID(s[1:])
	if !ok {
		return Perm{}, fmt.Errorf("permission %q: %w", s, EINVAL)
	}
	return Perm{Domid: d, Access: a}, nil
}

// formatPerms encodes a permission list as a GET_PERMS reply: each entry
// NUL-terminated.
func formatPerms(perms []Perm) []byte {
	var b []byte
	for _, p := range perms {
		b = append(b, p.String()...)
		b = append(b, 0)
	}
	return b
}

// clonePerms returns a copy of perms.
func clonePerms(perms []Perm) []Perm {
	return append([]Perm(nil), perms...)
}

// permAllows reports whether entry p is about the connection of domain d,
// or of the domain d targets (SET_TARGET), as xenstored's perm_allows_conn.
func permAllows(p Perm, d DomID, target DomID, hasTarget bool) bool {
	return p.Domid == d || (hasTarget && p.Domid == target) || p.Domid == DomIDAny
}
