// Package netsim is a deterministic network simulator for RTP audio and a
// harness that replays its traces through a jitter buffer in virtual time.
// It is test-only support: nothing in the library's production paths
// imports it.
//
// A Scenario describes a sender (packet time, clock rate and drift, a
// talkspurt model with RFC 6464 levels, DTX with short DTX packets or
// plain silence, restarts with a new SSRC and numbering, bursts faster
// than real time as a text-to-speech engine sends) and a path (base
// delay, normal or Pareto-tailed jitter, random or Gilbert–Elliott bursty
// loss, reordering, duplication, link stalls that make delay spikes).
// Trace turns it into the list of packets as they arrive; the same
// Scenario and Seed always give the same trace, on every platform,
// because the generator and its distributions are implemented here rather
// than taken from math/rand.
//
// Run drives a jitter.Buffer with a trace the way a mixer would: it pushes
// each packet at its arrival time and pops a tick's worth of audio every
// tick, at the scenario's tick phase, answering the buffer's requests to
// time-scale as Options.Consumer says (ignoring them, applying them in
// full, or like a pitch-period time-scaler that declines some). It reports
// late loss, concealment against the network's losses, playout delay
// (mean, p95, creep and trend) and the oracle: the mean delay of the best
// fixed-delay player that ticks like the consumer and loses no more
// packets to lateness on the same trace.
//
// Nothing here is safe for concurrent use; each Run owns its buffer.
package netsim
