package kvm

import (
	"errors"
	"fmt"
)

// ErrNoKVM reports that /dev/kvm is missing or not accessible.
var ErrNoKVM = errors.New("kvm: /dev/kvm is not available")

// ErrClosed reports use of a closed fd owner.
var ErrClosed = errors.New("kvm: use of closed file descriptor owner")

// MissingCapError names a capability the host lacks.
type MissingCapError struct {
	Cap Cap
	Why string // what Xenolith needs it for
}

func (e *MissingCapError) Error() string {
	return fmt.Sprintf("kvm: host lacks %s (%d), needed for %s", e.Cap, int(e.Cap), e.Why)
}
