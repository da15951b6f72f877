package xenstore

import (
	"strconv"
	"strings"
)

// DomID is a Xen domain id. Domain 0 is the monitor itself.
type DomID uint16

// Special domain ids (xen/include/public/xen.h).
const (
	// DomIDSelf (DOMID_SELF) names the caller; IS_DOMAIN_INTRODUCED
	// answers T for it.
	DomIDSelf DomID = 0x7FF0
	// DomIDAny (DOMID_ANY) in a permission entry matches every domain.
	DomIDAny DomID = 0x7FF4
	// domIDFirstReserved is DOMID_FIRST_RESERVED: ids from here up are
	// not real domains.
	domIDFirstReserved DomID = 0x7FF0
)

// Special watch paths: events xenstored invents on domain introduction and
// release. A watch on "@releaseDomain/<domid>" (with the watch-depth
// feature) fires only for that domain.
const (
	IntroduceDomainPath = "@introduceDomain"
	ReleaseDomainPath   = "@releaseDomain"
)

// itoa formats v in decimal.
func itoa(v uint64) string { return strconv.FormatUint(v, 10) }

// DomainPath returns a domain's home, /local/domain/<domid>, against which
// its relative paths resolve.
func DomainPath(d DomID) string {
	return "/local/domain/" + itoa(uint64(d))
}

// validChars reports whether p uses only the characters xenstore.txt
// allows in paths: ASCII letters and digits and -/_@.
func validChars(p string) bool {
	for i := 0; i < len(p); i++ {
		c := p[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		case c == '-', c == '/', c == '_', c == '@':
		default:
			return false
		}
	}
	return true
}

// localOffset returns the length of a "/local/domain/<n>/" prefix of name
// (n of at most five digits, as xenstored's sscanf), or 0 if there is none.
func localOffset(name string) int {
	const pre = "/local/domain/"
	if !strings.HasPrefix(name, pre) {
		return 0
	}
	i := len(pre)
	j := i
	for j < len(name) && j-i < 5 && name[j] >= '0' && name[j] <= '9' {
		j++
	}
	if j == i || j >= len(name) || name[j] != '/' {
		return 0
	}
	return j + 1
}

// canonicalize turns a request path into the absolute node name it means
// for a connection of domain home (its DomainPath), as xenstored's
// canonicalize: only valid characters; '@' first only where special paths
// are allowed; a path not starting with '/' or '@' is relative to home; no
// trailing '/' (except the root) and no "//". The result may be at most
// AbsPathMax bytes long, and its part below a "/local/domain/<n>/" prefix at
// most relMax bytes (relMax < 0: no limit). relative reports a relative
// request path (watch events on relative watches are reported relative).
func canonicalize(p, home string, allowSpecial bool, relMax int) (name string, relative bool, ok bool) {
	if !validChars(p) || (p != "" && p[0] == '@' && !allowSpecial) {
		return "", false, false
	}
	name = p
	if p == "" || (p[0] != '/' && p[0] != '@') {
		relative = true
		name = home + "/" + p
	}
	if (strings.HasSuffix(name, "/") && name != "/") || strings.Contains(name, "//") {
		return "", false, false
	}
	if len(name) > AbsPathMax {
		return "", false, false
	}
	if relMax >= 0 && len(name)-localOffset(name) > relMax {
		return "", false, false
	}
	return name, relative, true
}

// parentPath returns the parent of an absolute or special node name (not
// "/"), as xenstored's get_parent: everything before the last '/' that is
// not the first byte, or "/" if there is none. The parent of
// "@releaseDomain" is "/" and that of "@releaseDomain/5" is
// "@releaseDomain".
func parentPath(name string) string {
	if i := strings.LastIndexByte(name[1:], '/'); i >= 0 {
		return name[:i+1]
	}
	return "/"
}

// baseName returns the last component of a node name other than "/".
func baseName(name string) string {
	return name[strings.LastIndexByte(name, '/')+1:]
}

// childPath joins a node name and a child's base name.
func childPath(parent, child string) string {
	if parent == "/" {
		return "/" + child
	}
	return parent + "/" + child
}

// isChild reports whether the node name child is parent or lies below it,
// and, for depth >= 0, at most depth levels below (xenstored's is_child,
// which watches use for matching).
func isChild(child, parent string, depth int) bool {
	if !strings.HasPrefix(child, parent) {
		return false
	}
	n := len(parent)
	if n > 1 && len(child) > n && child[n] != '/' {
		return false
	}
	if depth < 0 || len(child) == n {
		return true
	}
	levels := 0
	if n == 1 {
		levels = 1
	}
	for ; levels <= depth; n++ {
		if n == len(child) {
			return true
		}
		if child[n] == '/' {
			levels++
		}
	}
	return false
}

// parseDomID parses a decimal domain id in 0..65535 (xenstored's
// parse_domid, without its acceptance of an empty string or signs).
func parseDomID(s string) (DomID, bool) {
	if s == "" || len(s) > 5 {
		return 0, false
	}
	v, err := strconv.ParseUint(s, 10, 16)
	if err != nil {
		return 0, false
	}
	return DomID(v), true
}

// atoi parses a leading decimal number as C's atoi does for the values the
// protocol uses (offsets, depths, ports): optional sign, digits, anything
// after ignored; saturating instead of overflowing.
func atoi(s string) int64 {
	i, neg := 0, false
	if i < len(s) && (s[i] == '-' || s[i] == '+') {
		neg = s[i] == '-'
		i++
	}
	var v int64
	for ; i < len(s) && s[i] >= '0' && s[i] <= '9'; i++ {
		if v < 1<<40 {
			v = v*10 + int64(s[i]-'0')
		}
	}
	if neg {
		return -v
	}
	return v
}
