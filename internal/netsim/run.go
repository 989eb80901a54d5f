package netsim

import (
	"fmt"
	"io"
	"math"
	"slices"
	"text/tabwriter"
	"time"

	"github.com/rtpmix/rtpmix/jitter"
)

// Consumer is how a Run's consumer treats the buffer's requests to
// time-scale the audio (jitter.Frame.Stretch).
type Consumer int

const (
	// Ignore plays every frame for its Duration and never reports a
	// stretch: the mixer before it time-scales, or a participant whose
	// audio is never decoded. The buffer then changes its delay by whole
	// frames only.
	Ignore Consumer = iota
	// Exact applies every request in full, as a mixer does for a
	// participant it does not decode (whose audio nobody hears, so any
	// amount can be dropped or repeated).
	Exact
	// Pitch models a time-scaler on speech: a change is one pitch period
	// (a length drawn from 4–10 ms for each request), made only when the
	// request is at least that long, and one request in five is declined
	// whatever its size (a transient, an onset); in a frame whose RFC
	// 6464 level says it is quiet, any amount is applied (a silent
	// splice).
	Pitch
)

var consumerNames = [...]string{"ignore", "exact", "pitch"}

func (c Consumer) String() string {
	if int(c) < len(consumerNames) {
		return consumerNames[c]
	}
	return "consumer(?)"
}

// Result is what one Run measured.
type Result struct {
	Name     string
	Phase    time.Duration // the scenario's TickPhase
	Consumer Consumer

	Sent        int // packets sent
	NetworkLost int // dropped by the network
	Arrived     int // distinct packets that arrived
	Played      int // distinct packets played
	Late        int // arrived but dropped as late
	Dropped     int // dropped by the buffer to shrink its delay
	Overflow    int // refused because the buffer was full

	// Shares of the played-out time by frame kind, up to the end of the
	// last packet played.
	ConcealedPct float64 // KindConceal: concealment without a loss
	LostPct      float64 // KindLost
	GapPct       float64 // KindGap
	LatePct      float64 // Late / Sent
	DroppedPct   float64 // Dropped / Sent
	NetLossPct   float64 // NetworkLost / Sent
	// ConcealPct is the share of the talker's audio (the time of packet,
	// lost and concealed frames: silence left out) that was concealed
	// (KindLost and KindConceal frames); ExcessConcealPct is what of it
	// neither the network's losses in speech (Trace.TalkLosses) nor the
	// late packets explain, in the same measure: ConcealPct − the time of
	// those packets as a share of the talker's audio. (Not ConcealPct −
	// NetLossPct − LatePct: the network's losses in pauses are played as
	// silence, and with talkspurts that difference is negative whatever
	// the buffer conceals on its own.)
	ConcealPct, ExcessConcealPct float64
	// StretchedPct is the audio the consumer lengthened or shortened, as a
	// share of the time played.
	StretchedPct float64

	// Playout delay of the played packets: play time − the time a
	// real-time sender sends it (Packet.Media) − the trace's smallest
	// transit, so the path's base latency is left out and what remains is
	// what the buffer added (plus tick granularity).
	MeanDelay, P95Delay time.Duration
	// FirstDelay and LastDelay are the mean delays of the packets played
	// in the first CreepWindow (after Warmup) and the last CreepWindow of
	// the run; Creep is their difference.
	FirstDelay, LastDelay, Creep time.Duration
	Warmup, CreepWindow          time.Duration
	// Trend is the least-squares slope of the playout delay over the run
	// (after Warmup), scaled to a minute: unlike Creep it does not depend
	// on where in a talkspurt the first and last seconds fall, so it shows
	// whether the delay drifts rather than how it oscillates.
	Trend time.Duration
	// Oracle is the mean playout delay of the best fixed-delay player
	// that ticks like the consumer: it plays each packet at the first tick
	// at or after Media + the smallest transit + D, for the smallest D
	// that loses no more packets to lateness than the buffer did (so its
	// delay is whole ticks from the tick phase, plus the slide of a
	// drifting sender across the ticks). OracleRatio is MeanDelay /
	// Oracle (0 when Oracle is 0).
	Oracle      time.Duration
	OracleRatio float64
	// RealTimeOracle, for a Burst sender only, is the oracle of the same
	// path carrying a real-time sender (Trace.RealTimeOracle), allowed
	// RealTimeLate of the packets late: 1 − jitter.DefaultQuantile, the
	// share the buffer's target lets be late. A burst source's own
	// oracle rests on the dozen packets a minute it sends at its own
	// pace, whose largest delay no player can know beforehand; a player
	// that loses none of them must know the path's jitter, and this is
	// the least delay that knowing it buys. RealTimeRatio is MeanDelay /
	// RealTimeOracle.
	RealTimeOracle time.Duration
	RealTimeRatio  float64
	// PerSecond is the mean playout delay of the packets played in each
	// second of the run (0 for a second without any).
	PerSecond []time.Duration

	Stats jitter.Stats
}

// Options tune a Run.
type Options struct {
	// Warmup excludes the start from the first window of the creep
	// measure, so that the buffer settling from its start delay does not
	// read as creep. 0 measures from the first packet played.
	Warmup time.Duration
	// CreepWindow is the length of the first and last windows whose mean
	// delays Creep compares; 0 means one second. Playout happens on ticks,
	// so each packet's delay includes where its arrival fell between two
	// ticks; with a drifting sender that offset cycles (every 2 s for 1% at
	// 20 ms), and a window of a whole cycle keeps the cycle out of Creep.
	CreepWindow time.Duration
	// Check, when set, verifies every played payload against PayloadOf
	// and fails the run on a corrupt or unknown one.
	Check bool
	// Consumer is how the requests to time-scale are treated.
	Consumer Consumer
}

// Run replays sc through a buffer built from cfg (ClockRate and
// FrameDuration default to the scenario's, and sc.Buffer is laid over it)
// and measures the result.
func Run(sc Scenario, cfg jitter.Config, opt Options) (Result, error) {
	tr, err := sc.Trace()
	if err != nil {
		return Result{}, err
	}
	return RunTrace(tr, cfg, opt)
}

// consumer applies the buffer's stretch requests as Options.Consumer says.
type consumer struct {
	kind Consumer
	rng  *Rand
}

// apply returns how much of request r (for a frame of dur, quiet or not)
// it applies.
func (c *consumer) apply(r, dur time.Duration, quiet bool) time.Duration {
	if r == 0 {
		return 0
	}
	switch c.kind {
	case Exact:
		return max(r, -dur)
	case Pitch:
		if quiet {
			return max(r, -dur)
		}
		if c.rng.Float64() < 0.2 {
			return 0
		}
		p := 4*time.Millisecond + time.Duration(c.rng.Uint64()%uint64(6*time.Millisecond))
		switch {
		case r >= p:
			return p
		case -r >= p && p <= dur:
			return -p
		}
	}
	return 0
}

// RunTrace is Run on a trace made beforehand.
func RunTrace(tr *Trace, cfg jitter.Config, opt Options) (Result, error) {
	sc := tr.Scenario
	if cfg.ClockRate == 0 {
		cfg.ClockRate = sc.ClockRate
	}
	if cfg.FrameDuration == 0 {
		cfg.FrameDuration = sc.Ptime
	}
	cfg = cfg.Merge(sc.Buffer)
	b, err := jitter.New(cfg)
	if err != nil {
		return Result{}, err
	}
	if opt.CreepWindow <= 0 {
		opt.CreepWindow = time.Second
	}
	res := Result{Name: sc.Name, Phase: sc.TickPhase, Consumer: opt.Consumer,
		Sent: len(tr.Sent), Warmup: opt.Warmup, CreepWindow: opt.CreepWindow}

	minTransit := time.Duration(math.MaxInt64)
	arrived := make([]bool, len(tr.Sent))
	arrival := make([]time.Duration, len(tr.Sent))
	for _, a := range tr.Arrivals {
		if !arrived[a.Packet.Index] {
			arrived[a.Packet.Index] = true
			arrival[a.Packet.Index] = a.At
			res.Arrived++
			minTransit = min(minTransit, a.Packet.Transit)
		}
	}
	res.NetworkLost = res.Sent - res.Arrived
	// Packets are told apart by SSRC and sequence number (a DTX packet is
	// too short to carry its index); the payload is checked against it.
	byID := make(map[uint64]int, len(tr.Sent))
	for i := range tr.Sent {
		p := &tr.Sent[i]
		byID[uint64(p.SSRC)<<16|uint64(p.SequenceNumber)] = i
	}

	type play struct {
		at    time.Duration
		delay time.Duration
	}
	plays := make([]play, 0, len(tr.Sent))
	played := make([]bool, len(tr.Sent))
	// Frame time by kind, and as it stood after the last packet played:
	// what the buffer plays after the sender's last packet (concealment,
	// then silence) is not part of the call.
	var kindTime, kindAtLast [5]time.Duration
	var stretched, stretchedAtLast time.Duration
	cons := &consumer{kind: opt.Consumer, rng: NewRand(sc.Seed ^ 0xc0ffee)}

	tickTicks := int64(sc.Tick) * int64(sc.ClockRate) / int64(time.Second)
	tickDur := time.Duration(tickTicks * int64(time.Second) / int64(sc.ClockRate))
	end := sc.Duration + sc.BaseDelay + sc.Drain
	if len(tr.Arrivals) > 0 {
		end = max(end, tr.Arrivals[len(tr.Arrivals)-1].At+sc.Drain)
	}
	payload := make([]byte, sc.Payload)
	want := make([]byte, sc.Payload)
	var pkt jitter.Packet
	next := 0
	var carry time.Duration // audio of the last frames that spills into the next tick
	for now := sc.TickPhase; now <= end; now += sc.Tick {
		for ; next < len(tr.Arrivals) && tr.Arrivals[next].At <= now; next++ {
			a := tr.Arrivals[next]
			p := a.Packet
			pkt = jitter.Packet{
				SSRC:           p.SSRC,
				SequenceNumber: p.SequenceNumber,
				Timestamp:      p.Timestamp,
				Marker:         p.Marker,
				AudioLevel:     p.AudioLevel,
				Voice:          p.Voice,
				Payload:        PayloadOf(payload, p),
			}
			_ = b.Push(a.At, &pkt) // refusals are counted in Stats
		}
		pos := carry // audio carried over from the last tick plays first
		for pos < tickDur {
			f := b.Pop(now)
			if f.Kind == jitter.KindEmpty {
				break
			}
			dur := time.Duration(int64(f.Duration) * int64(time.Second) / int64(sc.ClockRate))
			kindTime[f.Kind] += dur
			if f.Kind == jitter.KindPacket {
				i, ok := byID[uint64(f.SSRC)<<16|uint64(f.SequenceNumber)]
				if ok {
					w := PayloadOf(want, &tr.Sent[i])
					ok = string(w) == string(f.Payload)
				}
				if opt.Check && !ok {
					return res, fmt.Errorf("netsim: corrupt or unknown payload at %v: % x", now, f.Payload[:min(len(f.Payload), 16)])
				}
				if ok {
					if played[i] {
						return res, fmt.Errorf("netsim: packet %d played twice", i)
					}
					played[i] = true
					at := now + pos
					plays = append(plays, play{at: at, delay: at - tr.Sent[i].Media - minTransit})
				}
			}
			quiet := f.AudioLevel >= 0 && (!f.Voice || f.AudioLevel >= jitter.DefaultQuietLevel)
			if a := cons.apply(f.Stretch, dur, quiet); a != 0 {
				b.Stretched(a)
				dur += a
				stretched += a.Abs()
			}
			if f.Kind == jitter.KindPacket {
				kindAtLast, stretchedAtLast = kindTime, stretched
			}
			pos += dur
		}
		carry = max(pos-tickDur, 0)
	}

	st := b.Stats()
	res.Stats = st
	res.Played = len(plays)
	res.Dropped = int(st.Dropped)
	res.Overflow = int(st.Overflow)
	// Whatever arrived and was neither played, dropped nor refused as
	// overflow came too late (duplicates aside, which Stats separates
	// but this count does not need).
	res.Late = max(res.Arrived-res.Played-res.Dropped-res.Overflow-int(st.Buffered), 0)
	kindTime, stretched = kindAtLast, stretchedAtLast
	total := kindTime[jitter.KindPacket] + kindTime[jitter.KindLost] + kindTime[jitter.KindConceal] + kindTime[jitter.KindGap]
	if total > 0 {
		res.ConcealedPct = 100 * float64(kindTime[jitter.KindConceal]) / float64(total)
		res.LostPct = 100 * float64(kindTime[jitter.KindLost]) / float64(total)
		res.GapPct = 100 * float64(kindTime[jitter.KindGap]) / float64(total)
		res.StretchedPct = 100 * float64(stretched) / float64(total)
	}
	if res.Sent > 0 {
		res.LatePct = 100 * float64(res.Late) / float64(res.Sent)
		res.DroppedPct = 100 * float64(res.Dropped) / float64(res.Sent)
		res.NetLossPct = 100 * float64(res.NetworkLost) / float64(res.Sent)
	}
	if talk := total - kindTime[jitter.KindGap]; talk > 0 {
		res.ConcealPct = 100 * float64(kindTime[jitter.KindConceal]+kindTime[jitter.KindLost]) / float64(talk)
		explained := time.Duration(tr.TalkLosses()+res.Late) * sc.Ptime
		res.ExcessConcealPct = res.ConcealPct - 100*float64(explained)/float64(talk)
	}
	if len(plays) > 0 {
		delays := make([]time.Duration, len(plays))
		var sum time.Duration
		for i, p := range plays {
			delays[i] = p.delay
			sum += p.delay
		}
		res.MeanDelay = sum / time.Duration(len(plays))
		slices.Sort(delays)
		res.P95Delay = delays[(len(delays)*95)/100]

		w := opt.CreepWindow
		t0 := plays[0].at + opt.Warmup
		t1 := plays[len(plays)-1].at - w
		res.FirstDelay = meanIn(plays, t0, t0+w, func(p play) (time.Duration, time.Duration) { return p.at, p.delay })
		res.LastDelay = meanIn(plays, t1, t1+w+1, func(p play) (time.Duration, time.Duration) { return p.at, p.delay })
		res.Creep = res.LastDelay - res.FirstDelay
		res.Trend = trend(plays, t0, func(p play) (time.Duration, time.Duration) { return p.at, p.delay })
		for from := plays[0].at; from <= plays[len(plays)-1].at; from += time.Second {
			res.PerSecond = append(res.PerSecond, meanIn(plays, from, from+time.Second, func(p play) (time.Duration, time.Duration) { return p.at, p.delay }))
		}
	}
	res.Oracle = oracle(tr, arrived, arrival, minTransit, res.Late)
	if res.Oracle > 0 {
		res.OracleRatio = float64(res.MeanDelay) / float64(res.Oracle)
	}
	if sc.Burst != nil {
		res.RealTimeOracle = tr.RealTimeOracle(int(float64(res.Sent) * (1 - jitter.DefaultQuantile)))
		if res.RealTimeOracle > 0 {
			res.RealTimeRatio = float64(res.MeanDelay) / float64(res.RealTimeOracle)
		}
	}
	return res, nil
}

func meanIn[T any](xs []T, from, to time.Duration, f func(T) (time.Duration, time.Duration)) time.Duration {
	var sum time.Duration
	n := 0
	for _, x := range xs {
		at, v := f(x)
		if at >= from && at < to {
			sum += v
			n++
		}
	}
	if n == 0 {
		return 0
	}
	return sum / time.Duration(n)
}

// trend fits delay = a + b·at over the items at or after from and returns
// b × one minute.
func trend[T any](xs []T, from time.Duration, f func(T) (time.Duration, time.Duration)) time.Duration {
	var n, mx, my float64
	for _, x := range xs {
		if at, v := f(x); at >= from {
			n++
			mx += float64(at)
			my += float64(v)
		}
	}
	if n < 2 {
		return 0
	}
	mx, my = mx/n, my/n
	var sxy, sxx float64
	for _, x := range xs {
		if at, v := f(x); at >= from {
			dx := float64(at) - mx
			sxy += dx * (float64(v) - my)
			sxx += dx * dx
		}
	}
	if sxx == 0 {
		return 0
	}
	return time.Duration(sxy / sxx * float64(time.Minute))
}

// oracle returns the mean delay of the fixed-delay player that ticks like
// the consumer (see Result.Oracle) and loses at most late packets to
// lateness.
func oracle(tr *Trace, arrived []bool, arrival []time.Duration, minTransit time.Duration, late int) time.Duration {
	sc := tr.Scenario
	// due is the tick at which a packet due to play at t is popped: the
	// first at or after it.
	due := func(t time.Duration) time.Duration {
		k := (t - sc.TickPhase + sc.Tick - 1) / sc.Tick
		if t < sc.TickPhase {
			k = 0
		}
		return sc.TickPhase + k*sc.Tick
	}
	// lost and mean for a fixed delay d.
	eval := func(d time.Duration) (lost int, mean time.Duration) {
		var sum time.Duration
		n := 0
		for i := range tr.Sent {
			if !arrived[i] {
				continue
			}
			p := &tr.Sent[i]
			at := due(p.Media + minTransit + d)
			if arrival[i] > at {
				lost++
				continue
			}
			sum += at - p.Media - minTransit
			n++
		}
		if n > 0 {
			mean = sum / time.Duration(n)
		}
		return lost, mean
	}
	// The losses fall as d grows: find the least d that loses at most
	// late, to 10 µs.
	lo, hi := time.Duration(0), time.Duration(0)
	for i := range tr.Sent {
		if arrived[i] {
			hi = max(hi, arrival[i]-tr.Sent[i].Media-minTransit)
		}
	}
	if l, _ := eval(lo); l <= late {
		hi = lo
	}
	for hi-lo > 10*time.Microsecond {
		mid := (lo + hi) / 2
		if l, _ := eval(mid); l <= late {
			hi = mid
		} else {
			lo = mid
		}
	}
	_, mean := eval(hi)
	return mean
}

// WriteTable prints results as an aligned text table.
func WriteTable(w io.Writer, rs []Result) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "scenario\tphase\tconsumer\tlate %\tnet loss %\tconcealed %\texcess %\tdropped %\tstretched %\tmean\tp95\ttrend/min\toracle\tmean/oracle\treal-time oracle\tmean/rt\ttarget\t")
	for _, r := range rs {
		ratio, rt, rtRatio := "-", "-", "-"
		if r.OracleRatio > 0 {
			ratio = fmt.Sprintf("%.2f", r.OracleRatio)
		}
		if r.RealTimeRatio > 0 {
			rt, rtRatio = ms(r.RealTimeOracle), fmt.Sprintf("%.2f", r.RealTimeRatio)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%.2f\t%.2f\t%.2f\t%+.2f\t%.2f\t%.2f\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t\n",
			r.Name, ms(r.Phase), r.Consumer, r.LatePct, r.NetLossPct, r.ConcealPct, r.ExcessConcealPct, r.DroppedPct,
			r.StretchedPct, ms(r.MeanDelay), ms(r.P95Delay), ms(r.Trend), ms(r.Oracle), ratio, rt, rtRatio, ms(r.Stats.TargetDelay))
	}
	return tw.Flush()
}

func ms(d time.Duration) string { return fmt.Sprintf("%.1fms", float64(d)/float64(time.Millisecond)) }
