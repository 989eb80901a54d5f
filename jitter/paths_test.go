package jitter

import (
	"encoding/binary"
	"errors"
	"math"
	"math/rand/v2"
	"reflect"
	"slices"
	"testing"
	"time"
)

// Push and Pop each carry their common case written out (measured: see
// the comments there), beside the general path that handles every case,
// the common one included. These tests hold the two to the same results.
// pushGeneral and popGeneral are Push and Pop without the written-out
// case; a buffer driven through them is the reference the real one is
// compared with, frame by frame, error by error, Stats after every call,
// and the whole of both buffers' state now and then.

// pushGeneral is Push with every packet going the general way.
func (b *Buffer) pushGeneral(now time.Duration, p *Packet) error {
	inc(&b.pc.received)
	return b.pushSlow(int64(now), p)
}

// popGeneral is Pop with every frame going the general way: Pop's
// preamble (kept in step with it by TestPathsAgree itself), then popSlow.
func (b *Buffer) popGeneral(now time.Duration) Frame {
	c := &b.c
	if c.next-c.published >= headBatch {
		b.head.Store(c.next)
		c.published = c.next
	}
	t := int64(now)
	prev := c.now
	if t != prev {
		b.clock(t) // (Pop writes out its common case)
	}
	if !c.playing && !b.begin(t, prev) {
		return Frame{}
	}
	start := c.outBase + b.ticksToNs(c.outTicks)
	if t >= start {
		c.outBase, c.outTicks, start = t, 0, t
	}
	target := b.target.Load()
	if t-b.burst.Load() < burstyFor {
		target = b.burstDip(target)
	}
	return b.popSlow(t, start, target, b.minT.Load())
}

// source is where the traffic generator takes its decisions: a seeded
// PCG for the tests, the fuzzer's bytes for FuzzPaths.
type source interface {
	IntN(n int) int
}

// byteSource draws from the bytes it was given, two a decision, then from
// a PCG seeded with their length (so that a short input still makes a call
// of ordinary traffic rather than one of all-zero decisions).
type byteSource struct {
	b    []byte
	rest *rand.Rand
}

func newByteSource(b []byte) *byteSource {
	return &byteSource{b: b, rest: rand.New(rand.NewPCG(uint64(len(b)), 0))}
}

func (s *byteSource) IntN(n int) int {
	if n <= 1 {
		return 0
	}
	if len(s.b) < 2 {
		return s.rest.IntN(n)
	}
	v := int(binary.BigEndian.Uint16(s.b))
	s.b = s.b[2:]
	return v % n
}

// pathsTraffic is one random call: its buffer configuration, and a sender
// and a network whose habits are drawn once per call.
type pathsTraffic struct {
	src source
	cfg Config

	// Sender.
	ssrc      uint32
	seq       uint16
	ts        uint32
	dur       uint32 // ticks per packet
	durField  bool   // Packet.Duration is set
	levels    bool   // RFC 6464 levels are sent
	dtx       bool   // one packet every 400 ms in silence, else none
	talk      int    // packets left in the talkspurt (<0: silence)
	sendAt    float64
	drift     float64
	n         int // packets made, for their payloads
	rate      int
	talkMean  int
	lossPct   int
	dupPct    int
	jitterMax int // ms
	spikeLeft int
	spike     time.Duration

	// Receiver.
	tick  time.Duration
	phase time.Duration
	// How it answers the requests to time-scale: 0 ignores them, 1
	// applies them in full, 2 applies a random part of some (and now and
	// then changes the audio on its own).
	stretch int
}

func newPathsTraffic(src source) *pathsTraffic {
	g := &pathsTraffic{src: src}
	g.rate = []int{8000, 16000, 48000}[src.IntN(3)]
	g.cfg = Config{
		ClockRate:       g.rate,
		Capacity:        []int{8, 16, 64, 64, 128}[src.IntN(5)],
		MaxPayload:      48,
		MaxDelay:        []time.Duration{300 * time.Millisecond, time.Second}[src.IntN(2)],
		ResyncThreshold: []time.Duration{time.Second, 3 * time.Second}[src.IntN(2)],
		JitterFactor:    float64(src.IntN(2) * 3),
		MinDelay:        time.Duration(src.IntN(3)) * 20 * time.Millisecond,
	}
	if src.IntN(3) == 0 {
		g.cfg.Window = time.Second
	}
	// Near the wraps of both counters.
	g.ssrc = uint32(src.IntN(1 << 16))
	g.seq = uint16(65535 - src.IntN(300))
	g.ts = uint32(math.MaxUint32 - src.IntN(1<<20))
	g.setDur()
	g.levels = src.IntN(3) != 0
	g.dtx = src.IntN(2) == 0
	g.talkMean = 20 + src.IntN(200)
	g.talk = g.talkMean
	g.drift = float64(src.IntN(5)-2) / 100 // -2% .. +2%
	g.lossPct = src.IntN(6)
	g.dupPct = src.IntN(4)
	g.jitterMax = []int{0, 5, 30, 80}[src.IntN(4)]
	g.tick = []time.Duration{10, 20, 20, 30, 60}[src.IntN(5)] * time.Millisecond
	g.phase = time.Duration(src.IntN(20)) * time.Millisecond
	g.stretch = src.IntN(3)
	return g
}

func (g *pathsTraffic) setDur() {
	ms := []int{10, 20, 20, 40, 60}[g.src.IntN(5)]
	g.dur = uint32(g.rate / 1000 * ms)
	g.durField = g.src.IntN(3) == 0
}

// pathsEvent is a push of a packet (nil: a nil packet) at a time.
type pathsEvent struct {
	at time.Duration
	p  *Packet
}

// packets returns the arrivals of the next packet the sender sends (none,
// one, or a duplicate too), or of a stretch of silence.
func (g *pathsTraffic) packets() []pathsEvent {
	src := g.src
	ptime := float64(g.dur) / float64(g.rate) * float64(time.Second)
	send := time.Duration(g.sendAt)
	g.sendAt += ptime / (1 + g.drift)
	g.ts += g.dur
	if g.talk < 0 {
		// Silence: the timestamps run on, the sequence numbers do not.
		g.talk++
		if g.talk == 0 {
			g.talk = 1 + src.IntN(2*g.talkMean)
		} else if !g.dtx || g.talk%20 != 0 {
			return nil
		}
	} else if g.talk--; g.talk == 0 {
		g.talk = -1 - src.IntN(2*g.talkMean)
	}
	g.seq++
	switch src.IntN(2000) {
	case 0: // a new sender (restart, or another SSRC)
		g.ssrc += 1 + uint32(src.IntN(3))
		g.seq = uint16(src.IntN(1 << 16))
		g.ts = uint32(src.IntN(1 << 30))
	case 1: // a timestamp jump
		g.ts += uint32(src.IntN(10)) * uint32(g.rate)
	case 2: // a sequence jump
		g.seq += uint16(src.IntN(2000))
	case 3:
		g.setDur()
	case 4:
		return []pathsEvent{{at: send}} // a nil packet
	}
	if src.IntN(100) < g.lossPct {
		return nil
	}
	delay := 40*time.Millisecond + time.Duration(src.IntN(g.jitterMax+1))*time.Millisecond
	if g.spikeLeft > 0 {
		g.spikeLeft--
		delay += g.spike
	} else if src.IntN(1500) == 0 {
		g.spikeLeft, g.spike = 5+src.IntN(20), time.Duration(100+src.IntN(400))*time.Millisecond
	}
	if src.IntN(50) == 0 {
		delay += time.Duration(src.IntN(100)) * time.Millisecond // held back: reordered
	}
	size := 8 + src.IntN(32)
	if src.IntN(300) == 0 {
		size = 60 // above MaxPayload
	}
	payload := make([]byte, size)
	binary.BigEndian.PutUint32(payload, uint32(g.n))
	for i := 4; i < size; i++ {
		payload[i] = byte(g.n*7 + i)
	}
	g.n++
	p := &Packet{
		SSRC: g.ssrc, SequenceNumber: g.seq, Timestamp: g.ts, PayloadType: 111,
		Marker:     g.talk > 0 && g.talk == g.talkMean, // roughly a talkspurt's start
		AudioLevel: -1, Payload: payload,
	}
	if g.levels {
		p.Voice = g.talk > 0
		p.AudioLevel = int8(20 + src.IntN(30))
		if !p.Voice || src.IntN(10) == 0 {
			p.AudioLevel = int8(70 + src.IntN(58))
		}
	}
	if g.durField {
		p.Duration = g.dur
	}
	ev := []pathsEvent{{at: send + delay, p: p}}
	if src.IntN(100) < g.dupPct {
		ev = append(ev, pathsEvent{at: send + delay + time.Duration(src.IntN(6))*time.Millisecond, p: p})
	}
	return ev
}

// pathsCoverage counts what a run exercised, to show the traffic reaches
// the cases it is meant to.
type pathsCoverage struct {
	st                     Stats
	lostNext, conceal, gap int
	shorten, lengthen      int // requests to time-scale
}

func (c *pathsCoverage) add(o pathsCoverage) {
	c.st = addStats(c.st, o.st)
	c.lostNext += o.lostNext
	c.conceal += o.conceal
	c.gap += o.gap
	c.shorten += o.shorten
	c.lengthen += o.lengthen
}

// addStats adds the counters of b to a (and its gauges, which then mean
// nothing).
func addStats(a, b Stats) Stats {
	va, vb := reflect.ValueOf(&a).Elem(), reflect.ValueOf(b)
	for i := range va.NumField() {
		switch f := va.Field(i); f.Kind() {
		case reflect.Uint64, reflect.Uint32:
			f.SetUint(f.Uint() + vb.Field(i).Uint())
		case reflect.Int64:
			f.SetInt(f.Int() + vb.Field(i).Int())
		}
	}
	return a
}

// runPaths plays packets of traffic from src through a buffer driven the
// usual way and one driven through pushGeneral and popGeneral, consumer
// ticks interleaved, and fails at the first difference.
func runPaths(t *testing.T, src source, packets int) pathsCoverage {
	t.Helper()
	p := newPathsPlay(newPathsTraffic(src))
	fast, ref := p.buffer(t), p.buffer(t)
	return p.play(t, packets, fast, ref, true)
}

// pathsPlay plays a pathsTraffic through buffers in virtual time.
type pathsPlay struct {
	g     *pathsTraffic
	queue []pathsEvent // in flight, by arrival time
	now   time.Duration
	carry int64
	need  int64 // ticks a consumer tick plays
	step  int
}

func newPathsPlay(g *pathsTraffic) *pathsPlay {
	return &pathsPlay{g: g, now: g.phase, need: int64(g.tick) * int64(g.rate) / int64(time.Second)}
}

func (p *pathsPlay) buffer(t *testing.T) *Buffer {
	b, err := New(p.g.cfg)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// play sends packets more packet times of traffic and plays them through
// a, and through b unless it is nil, both the usual way or, with general,
// b through pushGeneral and popGeneral; it fails at the first difference
// between the two (and, with general, checks their whole state now and
// then). Consumer ticks go on until every packet sent has arrived.
func (p *pathsPlay) play(t *testing.T, packets int, a, b *Buffer, general bool) pathsCoverage {
	t.Helper()
	g := p.g
	push, pop := (*Buffer).Push, (*Buffer).Pop
	if general {
		push, pop = (*Buffer).pushGeneral, (*Buffer).popGeneral
	}
	var cov pathsCoverage
	for sent := 0; sent < packets || len(p.queue) > 0; p.step++ {
		// Send until the sender is a tick ahead.
		for sent < packets && time.Duration(g.sendAt) <= p.now+g.tick {
			for _, ev := range g.packets() {
				i := len(p.queue)
				for i > 0 && p.queue[i-1].at > ev.at {
					i--
				}
				p.queue = slices.Insert(p.queue, i, ev)
			}
			sent++
		}
		for len(p.queue) > 0 && p.queue[0].at <= p.now {
			ev := p.queue[0]
			p.queue = p.queue[1:]
			ea := a.Push(ev.at, ev.p)
			if b == nil {
				continue
			}
			if eb := push(b, ev.at, ev.p); !errors.Is(ea, eb) || !errors.Is(eb, ea) {
				t.Fatalf("step %d: Push at %v of %+v: %v, other %v", p.step, ev.at, ev.p, ea, eb)
			}
			comparePaths(t, p.step, a, b, false)
		}
		switch g.src.IntN(20000) {
		case 0, 1, 2:
			// The consumer stalls for up to 3 s (the ring overflows).
			p.now += g.tick + time.Duration(g.src.IntN(3000))*time.Millisecond
			continue
		case 10:
			cov.st = addStats(cov.st, a.Stats())
			a.Reset()
			if b != nil {
				b.Reset()
			}
			p.carry = 0
		}
		have := p.carry
		for have < p.need {
			fa := a.Pop(p.now)
			if b != nil {
				if fb := pop(b, p.now); !reflect.DeepEqual(fa, fb) {
					t.Fatalf("step %d: Pop at %v:\n%+v\nother:\n%+v", p.step, p.now, fa, fb)
				}
				comparePaths(t, p.step, a, b, false)
			}
			switch fa.Kind {
			case KindLost:
				if fa.NextAvailable {
					cov.lostNext++
				}
			case KindConceal:
				cov.conceal++
			case KindGap:
				cov.gap++
			}
			if fa.Kind == KindEmpty {
				have = p.need
				break
			}
			have += int64(fa.Duration)
			switch {
			case fa.Stretch < 0:
				cov.shorten++
			case fa.Stretch > 0:
				cov.lengthen++
			}
			// The consumer changes the audio by whole ticks of the
			// stream's clock, and says so to both buffers alike.
			req := int64(fa.Stretch) * int64(g.rate) / int64(time.Second)
			var ticks int64
			switch g.stretch {
			case 1:
				ticks = req
			case 2:
				if req != 0 && g.src.IntN(3) != 0 {
					ticks = req * int64(g.src.IntN(101)) / 100
				} else if g.src.IntN(200) == 0 {
					ticks = int64(g.src.IntN(int(fa.Duration)+1)) - int64(fa.Duration)/2 // its own change
				}
			}
			if ticks = max(ticks, -int64(fa.Duration)); ticks != 0 {
				d := time.Duration(ticks * int64(time.Second) / int64(g.rate))
				a.Stretched(d)
				if b != nil {
					b.Stretched(d)
					comparePaths(t, p.step, a, b, false)
				}
				have += ticks
			}
		}
		p.carry = have - p.need
		if general && p.step%256 == 0 {
			comparePaths(t, p.step, a, b, true)
		}
		p.now += g.tick
	}
	if b != nil {
		comparePaths(t, -1, a, b, general)
	}
	cov.st = addStats(cov.st, a.Stats())
	return cov
}

// comparePaths fails unless both buffers report the same Stats and, when
// whole is set, hold the same state throughout.
func comparePaths(t *testing.T, step int, fast, ref *Buffer, whole bool) {
	t.Helper()
	if sf, sr := fast.Stats(), ref.Stats(); sf != sr {
		t.Fatalf("step %d: Stats\n%+v\nother:\n%+v", step, sf, sr)
	}
	if whole && !reflect.DeepEqual(fast, ref) {
		switch {
		case !reflect.DeepEqual(&fast.p, &ref.p):
			t.Fatalf("step %d: producer state\n%+v\nother:\n%+v", step, fast.p, ref.p)
		case !reflect.DeepEqual(&fast.c, &ref.c):
			t.Fatalf("step %d: consumer state\n%+v\nother:\n%+v", step, fast.c, ref.c)
		default:
			t.Fatalf("step %d: the buffers' state differs (ring or shared fields)", step)
		}
	}
}

// TestPathsAgree drives Push and Pop and their general paths with the same
// random calls (reordering, loss, duplicates, counter wraps, SSRC changes,
// timestamp and sequence jumps, DTX, ptime changes, delay spikes, a
// stalled consumer, nil and oversize packets, Reset) and requires the same
// frames, errors and Stats throughout, and the same state now and then.
// Over the seeds the traffic must reach every kind of event, so that a
// change that narrows it shows.
func TestPathsAgree(t *testing.T) {
	seeds := 40
	if testing.Short() {
		seeds = 10
	}
	var cov pathsCoverage
	for seed := range uint64(seeds) {
		cov.add(runPaths(t, rand.New(rand.NewPCG(seed, 0x9e3779b97f4a7c15)), 2000))
	}
	t.Logf("over %d calls: %+v", seeds, cov)
	st := cov.st
	for name, n := range map[string]uint64{
		"played": st.Played, "late": st.Late, "duplicate": st.Duplicate, "reordered": st.Reordered,
		"overflow": st.Overflow, "invalid": st.Invalid, "resyncs": st.Resyncs, "lost": st.Lost,
		"concealed": st.Concealed, "dropped": st.Dropped,
		"silence inserted": uint64(st.SilenceInserted), "silence removed": uint64(st.SilenceRemoved),
		"lost with next": uint64(cov.lostNext), "gap frames": uint64(cov.gap),
		"requests to shorten": uint64(cov.shorten), "requests to lengthen": uint64(cov.lengthen),
		"audio shortened": uint64(st.Shortened), "audio lengthened": uint64(st.Lengthened),
	} {
		if n == 0 {
			t.Errorf("the traffic never made %s", name)
		}
	}
}

// FuzzPaths is TestPathsAgree with the fuzzer choosing the traffic.
func FuzzPaths(f *testing.F) {
	f.Add([]byte{})
	f.Add([]byte{0, 1, 2, 1, 0, 1, 1, 0, 9, 9, 3, 200, 17, 4, 5})
	r := rand.New(rand.NewPCG(1, 2))
	for range 4 {
		seed := make([]byte, 512)
		for i := range seed {
			seed[i] = byte(r.Uint32())
		}
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		runPaths(t, newByteSource(data), 300)
	})
}

// TestResetAsNew: a buffer that has played a call and is Reset plays the
// next exactly as a new one does (the drift fit, the histogram, the
// window and the playout state are all forgotten).
func TestResetAsNew(t *testing.T) {
	for seed := range uint64(20) {
		p := newPathsPlay(newPathsTraffic(rand.New(rand.NewPCG(seed, 0x5851f42d4c957f2d))))
		used := p.buffer(t)
		p.play(t, 3000, used, nil, false)
		used.Reset()
		p.play(t, 3000, used, p.buffer(t), false)
	}
}
