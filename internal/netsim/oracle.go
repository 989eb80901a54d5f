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

// RealTimeOracle returns Oracle for the trace's path carrying a sender
// that sends in real time: every packet that arrived leaves at its Media
// time and takes its Transit, and at most late of them may come after
// their playout. For a Burst sender the trace's own oracle is the largest
// delay of the few packets such a source sends at its own pace (the first
// of each burst: a dozen a minute), known in hindsight; this is the bar
// that knows the path instead (see Result.RealTimeOracle).
func (tr *Trace) RealTimeOracle(late int) time.Duration {
	arrived := make([]bool, len(tr.Sent))
	arrival := make([]time.Duration, len(tr.Sent))
	minTransit := time.Duration(math.MaxInt64)
	for _, a := range tr.Arrivals {
		if i := a.Packet.Index; !arrived[i] {
			p := &tr.Sent[i]
			arrived[i], arrival[i] = true, p.Media+p.Transit
			minTransit = min(minTransit, p.Transit)
		}
	}
	return oracle(tr, arrived, arrival, minTransit, late)
}

// TalkLosses returns how many of the packets the network lost fell in
// the talker's speech as a receiver knows it: voiced ones, and those
// after a voiced packet that arrived, up to the next that arrived (the
// receiver cannot tell a loss at the start of a pause from one in speech,
// and conceals it as speech). Losses in a pause cost the listener
// nothing: the buffer plays them as silence (KindGap), and they are not
// concealment to account for.
func (tr *Trace) TalkLosses() int {
	n := 0
	lastVoice := false // the last packet that arrived was voiced
	for i := range tr.Sent {
		p := &tr.Sent[i]
		if !p.Lost {
			lastVoice = p.Voice
		} else if p.Voice || lastVoice {
			n++
		}
	}
	return n
}
