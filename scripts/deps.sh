#!/usr/bin/env bash
# Installs what building and testing Xenolith needs on a fresh Debian machine:
# gcc/make/binutils and the kernel headers (for the guest kit and the KVM ABI
# test), then the Go modules. Safe to run repeatedly; quiet when all is there.
set -euo pipefail
need=()
if [ "${1:-}" = "--bpf" ]; then
	# Regenerating bench/probe's eBPF object: clang, llvm and libbpf's headers.
	command -v clang >/dev/null || need+=(clang)
	command -v llvm-strip >/dev/null || need+=(llvm)
	[ -e /usr/include/bpf/bpf_helpers.h ] || need+=(libbpf-dev)
fi
command -v gcc >/dev/null || need+=(gcc)
command -v make >/dev/null || need+=(make)
command -v ld >/dev/null || need+=(binutils)
[ -e /usr/include/linux/kvm.h ] || need+=(linux-libc-dev)
command -v ping >/dev/null || need+=(iputils-ping) # the net tests ping a VM through tap
command -v ip >/dev/null || need+=(iproute2)        # the net tests make namespaces
if [ ${#need[@]} -gt 0 ]; then
	if [ "$(id -u)" -ne 0 ]; then
		echo "deps: missing ${need[*]}; install them (apt-get install ${need[*]}) or run as root" >&2
		exit 1
	fi
	echo "deps: installing ${need[*]}" >&2
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq >/dev/null
	apt-get install -y -qq "${need[@]}" >/dev/null
fi
if ! command -v go >/dev/null; then
	if [ -x /usr/local/go/bin/go ]; then
		export PATH=$PATH:/usr/local/go/bin
	else
		echo "deps: Go is not installed (need Go 1.26 at /usr/local/go or on PATH)" >&2
		exit 1
	fi
fi
go mod download
