package netback

import "errors"

// Sentinel errors. Errors returned by this package wrap one of them.
var (
	// ErrNotSupported reports a frontend configuration the backend does
	// not serve (rx-flip, several queues, no feature-rx-notify).
	ErrNotSupported = errors.New("netback: not supported")
	// ErrBadConfig reports missing or malformed frontend keys.
	ErrBadConfig = errors.New("netback: bad frontend configuration")
	// ErrMalformed reports a tx packet that breaks the netif rules.
	ErrMalformed = errors.New("netback: malformed tx packet")
	// ErrGrant reports a grant ref the backend could not use.
	ErrGrant = errors.New("netback: unusable grant")
	// ErrAbuse reports a frontend disconnected for sending too many
	// malformed requests.
	ErrAbuse = errors.New("netback: too many malformed requests")
	// ErrRing reports a ring the frontend broke (impossible indices).
	ErrRing = errors.New("netback: broken ring")
)
