package vm

import "time"

// injectHypercallDelay, set only at link time
// (-ldflags "-X github.com/xenolith/xenolith/hv/vm.injectHypercallDelay=3us"),
// busy-waits that long in every hypercall. It exists to validate
// `xenolith bench compare`: a build with it must be reported as a
// regression of the hypercall metrics. Normal builds leave it empty.
var injectHypercallDelay string

var hypercallDelay = func() time.Duration {
	d, _ := time.ParseDuration(injectHypercallDelay)
	return d
}()

func spinFor(d time.Duration) {
	for t := time.Now(); time.Since(t) < d; {
	}
}
