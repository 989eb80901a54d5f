// Package bench holds rtpmix's cross-package workloads: a whole conference
// of N participants over SRTP ([Room]), the per-participant pipeline,
// and network-condition runs through the mixer in virtual time ([RunNetCond]).
//
// The benchmarks in this package (go test -bench . ./bench) time them;
// cmd/capacity finds the largest room that fits in a share of real time;
// cmd/netcond prints what each network scenario costs in late loss,
// concealment, time-scaling and delay heard against the fixed-delay
// oracle. bench/compare, a nested module, runs the
// same workloads on peer libraries. README.md says how to reproduce the
// figures in results/ and what each column means.
//
// Senders are simulated outside the timed work: their payloads are encoded
// once, from the speech clips in testdata/, and each tick only their RTP
// headers are written and protected, so what is timed is what the engine
// does, not what the far ends do.
//
// Nothing here is safe for concurrent use; each Room belongs to one
// goroutine.
package bench
