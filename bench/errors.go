package bench

import "errors"

// ErrUnknownProfile is returned for a profile name that is not embedded.
var ErrUnknownProfile = errors.New("unknown profile")

// ErrBadProfile is returned for a profile that does not decode or check.
var ErrBadProfile = errors.New("bad profile")
