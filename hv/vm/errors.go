package vm

import (
	"errors"
	"fmt"

	"github.com/xenolith/xenolith/hv/boot"
	"github.com/xenolith/xenolith/hv/mem"
)

// ConfigError wraps a problem with what the user supplied (kernel image,
// memory size, vCPU count), as opposed to a host-side failure.
type ConfigError struct{ Err error }

func (e *ConfigError) Error() string { return e.Err.Error() }
func (e *ConfigError) Unwrap() error { return e.Err }

// IsConfigError reports whether err is (or wraps) a ConfigError.
func IsConfigError(err error) bool {
	var ce *ConfigError
	return errors.As(err, &ce)
}

// CheckConfig validates cfg without KVM: vCPU count, memory size and that
// the kernel image loads (into scratch memory). Errors are ConfigErrors.
func CheckConfig(cfg Config) error {
	if cfg.VCPUs < 1 || cfg.VCPUs > MaxVCPUs {
		return &ConfigError{fmt.Errorf("vm: vCPU count %d out of range 1..%d", cfg.VCPUs, MaxVCPUs)}
	}
	if cfg.MemBytes == 0 || cfg.MemBytes%4096 != 0 {
		return &ConfigError{fmt.Errorf("vm: memory size %d is not a positive multiple of 4 KiB", cfg.MemBytes)}
	}
	m, err := mem.New(cfg.MemBytes, mem.Options{})
	if err != nil {
		return &ConfigError{err}
	}
	defer m.Close()
	if _, err := boot.Load(m.Bytes(), cfg.Kernel, boot.Options{Cmdline: cfg.Cmdline, FreshRAM: true}); err != nil {
		return &ConfigError{err}
	}
	return nil
}

// ErrClosed is returned for operations on a VM that is closing or closed.
var ErrClosed = errors.New("vm: closed")
