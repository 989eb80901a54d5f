package netsim

import (
	"math"
	"time"
)

// Oracle returns the mean delay of the best fixed-delay player that ticks
// like the scenario's consumer and loses at most late packets to lateness
// on this trace (Result.Oracle): the bar for a consumer that is not Run's,
// such as a whole conference replaying the trace.
func (tr *Trace) Oracle(late int) time.Duration {
	arrived := make([]bool, len(tr.Sent))
	arrival := make([]time.Duration, len(tr.Sent))
	minTransit := time.Duration(math.MaxInt64)
	for _, a := range tr.Arrivals {
		if i := a.Packet.Index; !arrived[i] {
			arrived[i], arrival[i] = true, a.At
			minTransit = min(minTransit, a.Packet.Transit)
		}
	}
	return oracle(tr, arrived, arrival, minTransit, late)
}

// MinTransit returns the smallest network delay of a packet that arrived:
// Run measures playout delay beyond it.
func (tr *Trace) MinTransit() time.Duration {
	m := time.Duration(math.MaxInt64)
	for _, a := range tr.Arrivals {
		m = min(m, a.Packet.Transit)
	}
	return m
}
