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

// Result is what one Run measured.
type Result struct {
	Name string

	Sent        int // packets sent
	NetworkLost int // dropped by the network
	Arrived     int // distinct packets that arrived
	Played      int // distinct packets played
	Late        int // arrived but dropped as late
	Dropped     int // dropped by the buffer to shrink its delay
	Overflow    int // refused because the buffer was full

	// Shares of the played-out time (ticks) by frame kind.
	ConcealedPct float64 // KindConceal: concealment without a loss
	LostPct      float64 // KindLost
	GapPct       float64 // KindGap
	LatePct      float64 // Late / Sent
	DroppedPct   float64 // Dropped / Sent

	// Playout delay of the played packets: play time − send time − the
	// trace's smallest transit, so the path's base latency is left out and
	// what remains is what the buffer added (plus tick granularity).
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
	// Oracle is the smallest fixed delay (same reference) that would have
	// lost no more packets to lateness on this trace; OracleRatio is
	// MeanDelay / Oracle (0 when Oracle is 0).
	Oracle      time.Duration
	OracleRatio float64
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
	// Check, when set, verifies every played payload against PayloadFor
	// and fails the run on a corrupt or unknown one.
	Check bool
}

// Run replays sc through a buffer built from cfg (ClockRate and
// FrameDuration default to the scenario's) and measures the result.
func Run(sc Scenario, cfg jitter.Config, opt Options) (Result, error) {
	tr, err := sc.Trace()
	if err != nil {
		return Result{}, err
	}
	return RunTrace(tr, cfg, opt)
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
	b, err := jitter.New(cfg)
	if err != nil {
		return Result{}, err
	}
	if opt.CreepWindow <= 0 {
		opt.CreepWindow = time.Second
	}
	res := Result{Name: sc.Name, Sent: len(tr.Sent), Warmup: opt.Warmup, CreepWindow: opt.CreepWindow}

	minTransit := time.Duration(math.MaxInt64)
	arrived := make([]bool, len(tr.Sent))
	for _, a := range tr.Arrivals {
		if !arrived[a.Packet.Index] {
			arrived[a.Packet.Index] = true
			res.Arrived++
			minTransit = min(minTransit, a.Packet.Transit)
		}
	}
	res.NetworkLost = res.Sent - res.Arrived

	type play struct {
		at    time.Duration
		delay time.Duration
	}
	plays := make([]play, 0, len(tr.Sent))
	played := make([]bool, len(tr.Sent))
	var kindTicks [5]int64

	tickTicks := int64(sc.Tick) * int64(sc.ClockRate) / int64(time.Second)
	end := sc.Duration + sc.BaseDelay + sc.Drain
	if len(tr.Arrivals) > 0 {
		end = max(end, tr.Arrivals[len(tr.Arrivals)-1].At+sc.Drain)
	}
	payload := make([]byte, sc.Payload)
	var pkt jitter.Packet
	next := 0
	var carry int64 // ticks of the last frame that spill into the next tick
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
				Payload:        PayloadFor(payload, p.Index),
			}
			_ = b.Push(a.At, &pkt) // refusals are counted in Stats
		}
		pos := carry // audio carried over from the last tick plays first, ticks
		for pos < tickTicks {
			f := b.Pop(now)
			if f.Kind == jitter.KindEmpty {
				break
			}
			kindTicks[f.Kind] += int64(f.Duration)
			if f.Kind == jitter.KindPacket {
				i, ok := IndexOf(f.Payload)
				if opt.Check && !ok {
					return res, fmt.Errorf("netsim: corrupt payload at %v: % x", now, f.Payload[:min(len(f.Payload), 16)])
				}
				if ok && i < len(tr.Sent) {
					if played[i] {
						return res, fmt.Errorf("netsim: packet %d played twice", i)
					}
					played[i] = true
					at := now + time.Duration(pos*int64(time.Second)/int64(sc.ClockRate))
					plays = append(plays, play{at: at, delay: at - tr.Sent[i].Send - minTransit})
				}
			}
			pos += int64(f.Duration)
		}
		carry = max(pos-tickTicks, 0)
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
	total := kindTicks[jitter.KindPacket] + kindTicks[jitter.KindLost] + kindTicks[jitter.KindConceal] + kindTicks[jitter.KindGap]
	if total > 0 {
		res.ConcealedPct = 100 * float64(kindTicks[jitter.KindConceal]) / float64(total)
		res.LostPct = 100 * float64(kindTicks[jitter.KindLost]) / float64(total)
		res.GapPct = 100 * float64(kindTicks[jitter.KindGap]) / float64(total)
	}
	if res.Sent > 0 {
		res.LatePct = 100 * float64(res.Late) / float64(res.Sent)
		res.DroppedPct = 100 * float64(res.Dropped) / float64(res.Sent)
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
	res.Oracle = oracle(tr, arrived, minTransit, res.Late)
	if res.Oracle > 0 {
		res.OracleRatio = float64(res.MeanDelay) / float64(res.Oracle)
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

// oracle returns the smallest fixed delay D such that playing every packet
// at send time + minTransit + D loses at most late packets to lateness.
func oracle(tr *Trace, arrived []bool, minTransit time.Duration, late int) time.Duration {
	rel := make([]time.Duration, 0, len(tr.Sent))
	for i := range tr.Sent {
		if arrived[i] {
			rel = append(rel, tr.Sent[i].Transit-minTransit)
		}
	}
	if len(rel) == 0 {
		return 0
	}
	slices.Sort(rel)
	// With D = rel[len−1−late], exactly the `late` largest exceed it.
	k := len(rel) - 1 - late
	if k < 0 {
		return 0
	}
	return rel[k]
}

// WriteTable prints results as an aligned text table.
func WriteTable(w io.Writer, rs []Result) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "scenario\tlate %\tconcealed %\tlost %\tdropped %\tmean\tp95\tcreep\ttrend/min\toracle\tmean/oracle\ttarget\t")
	for _, r := range rs {
		ratio := "-"
		if r.OracleRatio > 0 {
			ratio = fmt.Sprintf("%.2f", r.OracleRatio)
		}
		fmt.Fprintf(tw, "%s\t%.2f\t%.2f\t%.2f\t%.2f\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t\n",
			r.Name, r.LatePct, r.ConcealedPct, r.LostPct, r.DroppedPct,
			ms(r.MeanDelay), ms(r.P95Delay), ms(r.Creep), ms(r.Trend), ms(r.Oracle), ratio, ms(r.Stats.TargetDelay))
	}
	return tw.Flush()
}

func ms(d time.Duration) string { return fmt.Sprintf("%.1fms", float64(d)/float64(time.Millisecond)) }
