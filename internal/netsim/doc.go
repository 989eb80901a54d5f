// Package netsim is a deterministic network simulator for RTP audio and a
// harness that replays its traces through a jitter buffer in virtual time.
//
// A Scenario describes a sender (packet time, clock rate and drift, a
// talkspurt model with RFC 6464 levels, optional DTX) and a path (base
// delay, normal or Pareto-tailed jitter, random or Gilbert–Elliott bursty
// loss, reordering, duplication, link stalls that make delay spikes). Trace
// turns it into the list of packets as they arrive; the same Scenario and
// Seed always give the same trace, on every platform, because the
// generator and its distributions are implemented here rather than taken
// from math/rand.
//
// Run drives a jitter.Buffer with a trace the way a mixer would: it pushes
// each packet at its arrival time and pops a tick's worth of audio every
// tick, then reports late loss, concealment, playout delay (mean, p95 and
// creep) and the oracle: the smallest fixed delay that would have lost as
// few packets to lateness on the same trace.
//
// Nothing here is safe for concurrent use; each Run owns its buffer.
package netsim
