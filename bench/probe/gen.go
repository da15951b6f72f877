package probe

// The eBPF object and its Go bindings are generated from bpf/probe.c and
// committed, so building needs no clang. Regenerating needs clang and
// libbpf's headers (Debian: clang llvm libbpf-dev).
//go:generate go tool bpf2go -cc clang -cflags "-O2 -g -Wall -Werror" -target amd64 -type counters -type vcpu_id -type tstate -type vthread -type port_slot -type port_key -type hist_key probe bpf/probe.c
