package netsim

import (
	"encoding/binary"
	"fmt"
	"math"
	"slices"
	"sort"
	"time"

	"github.com/rtpmix/rtpmix/jitter"
)

// JitterKind selects the distribution of the per-packet queueing delay.
type JitterKind int

// Jitter distributions.
const (
	JitterNone JitterKind = iota
	// JitterNormal adds a normal delay with standard deviation Sigma
	// (truncated so that transit never falls below 1 ms).
	JitterNormal
	// JitterPareto adds Scale·(Pareto(1, Shape) − 1): mostly small, with a
	// heavy tail (Shape 1.5–3 resembles congested Wi-Fi and mobile links).
	JitterPareto
)

// Jitter describes per-packet delay variation.
type Jitter struct {
	Kind  JitterKind
	Sigma time.Duration // JitterNormal
	Scale time.Duration // JitterPareto
	Shape float64       // JitterPareto, > 1
}

// GilbertElliott is a two-state bursty loss model: in the good state
// packets are lost with LossGood, in the bad state with LossBad; each packet
// moves good→bad with P and bad→good with R. Mean burst length is about
// 1/R, and the mean loss rate LossBad·P/(P+R) + LossGood·R/(P+R).
type GilbertElliott struct {
	P, R              float64
	LossGood, LossBad float64
}

// BurstyLoss returns a Gilbert–Elliott model with the given mean loss rate
// and mean burst length (in packets), losing every packet in the bad state.
func BurstyLoss(rate, meanBurst float64) *GilbertElliott {
	r := 1 / meanBurst
	return &GilbertElliott{P: rate * r / (1 - rate), R: r, LossBad: 1}
}

// Spike stalls the link: packets sent during [At, At+Height) are held and
// released together at At+Height, as a link that freezes for Height does.
type Spike struct {
	At, Height time.Duration
}

// Talk is the sender's speech model: talkspurts and silences of
// exponentially distributed length. The zero value talks all the time.
// In silence the sender sends quiet packets every packet time, unless DTX
// or Cut says otherwise.
type Talk struct {
	MeanTalk, MeanSilence time.Duration
	// DTX sends one packet every DTXInterval during silence instead of
	// one per packet time (Opus DTX sends one every 400 ms), each
	// DTXPayload bytes long when that is set (Opus DTX packets are 1–2
	// bytes: the TOC byte alone), else as long as speech packets.
	DTX         bool
	DTXInterval time.Duration
	DTXPayload  int
	// Cut sends nothing at all in silence (a voice-activity detector
	// without DTX or comfort noise): a talkspurt ends with a timestamp
	// gap, and the next one starts with the marker bit.
	Cut bool
}

// Burst makes the sender faster than real time in bursts, as a
// text-to-speech engine or a file player is: the audio of each Every of
// sender time goes out within Span (evenly spread) at the start of it,
// then nothing until the next. Timestamps are those of a real-time
// sender; only the sending times change.
type Burst struct {
	Every, Span time.Duration
}

// Scenario is a sender and a path. Zero fields take the defaults noted.
type Scenario struct {
	Name      string
	Seed      uint64
	Duration  time.Duration // of sending; default 60 s
	Ptime     time.Duration // default 20 ms
	ClockRate int           // default 48000
	Payload   int           // bytes per packet; default 160, at least 16
	SSRC      uint32

	BaseDelay time.Duration // default 100 ms
	Jitter    Jitter
	Loss      float64         // independent loss probability
	Bursty    *GilbertElliott // bursty loss, applied after Loss
	// Reorder holds a packet back by ReorderDelay (default 2 packet times)
	// with this probability, so it arrives after its successors.
	Reorder      float64
	ReorderDelay time.Duration
	// Duplicate sends a second copy, 1–5 ms later, with this probability.
	Duplicate float64
	// Drift is the sender clock's rate error: +0.01 runs 1% fast, sending
	// 20 ms of timestamps every 19.8 ms of real time.
	Drift  float64
	Spikes []Spike
	Talk   Talk
	// NoLevels leaves out the RFC 6464 audio level (AudioLevel −1), as
	// senders without the extension do.
	NoLevels bool
	// Restarts restart the sender at these sender times: a new SSRC, and
	// sequence numbers and timestamps that start from new random values
	// (a client that reconnects, a PBX that re-INVITEs). Its audio clock
	// goes on: the restart itself loses nothing.
	Restarts []time.Duration
	// Burst, when set, makes the sender send in bursts faster than real
	// time.
	Burst *Burst
	// Buffer is laid over the jitter.Config a Run is given
	// (jitter.Config.Merge): what a receiver would configure for this
	// kind of source (a bursty one needs MaxDelay above its bursts).
	Buffer jitter.Config

	Tick      time.Duration // consumer tick; default Ptime
	TickPhase time.Duration // offset of the ticks from the sender's start
	Drain     time.Duration // ticking after the last send; default 2 s
}

// WithDefaults returns s with zero fields filled in.
func (s Scenario) WithDefaults() Scenario {
	if s.Duration == 0 {
		s.Duration = 60 * time.Second
	}
	if s.Ptime == 0 {
		s.Ptime = 20 * time.Millisecond
	}
	if s.ClockRate == 0 {
		s.ClockRate = 48000
	}
	if s.Payload < 16 {
		s.Payload = 160
	}
	if s.BaseDelay == 0 {
		s.BaseDelay = 100 * time.Millisecond
	}
	if s.ReorderDelay == 0 {
		s.ReorderDelay = 2 * s.Ptime
	}
	if s.Talk.DTX && s.Talk.DTXInterval == 0 {
		s.Talk.DTXInterval = 400 * time.Millisecond
	}
	if s.Tick == 0 {
		s.Tick = s.Ptime
	}
	if s.Drain == 0 {
		s.Drain = 2 * time.Second
	}
	if s.SSRC == 0 {
		s.SSRC = 0x5eed0000 | uint32(s.Seed&0xffff)
	}
	return s
}

// Packet is one packet the sender sent.
type Packet struct {
	Index          int // order of sending, from 0
	SequenceNumber uint16
	Timestamp      uint32
	SSRC           uint32
	Marker         bool
	AudioLevel     int8 // −1 when NoLevels
	Voice          bool
	Ticks          uint32 // timestamp ticks the payload covers
	// Size is the payload length in bytes: Scenario.Payload, or
	// Talk.DTXPayload for a DTX packet.
	Size int
	// Media is when a real-time sender would have sent it: its sender
	// time on the real clock (drift included). Send differs from it only
	// for a Burst sender; playout delays are measured from Media.
	Media   time.Duration
	Send    time.Duration // real time it left the sender
	Transit time.Duration // network delay of the first copy
	Lost    bool          // the network dropped it
}

// Arrival is one copy of a packet reaching the receiver.
type Arrival struct {
	Packet *Packet
	At     time.Duration
	Dup    bool // a second copy
}

// Trace is what a Scenario produces: every packet sent, and the copies
// that arrived, in arrival order.
type Trace struct {
	Scenario Scenario
	Sent     []Packet
	Arrivals []Arrival
}

// Trace generates the scenario's packets. The same Scenario always gives
// the same Trace.
func (s Scenario) Trace() (*Trace, error) {
	s = s.WithDefaults()
	if err := s.validate(); err != nil {
		return nil, err
	}
	rng := NewRand(s.Seed)
	ticks := uint32(int64(s.Ptime) * int64(s.ClockRate) / int64(time.Second))
	n := int(s.Duration / s.Ptime)
	tr := &Trace{Scenario: s, Sent: make([]Packet, 0, n)}

	talking := s.Talk.MeanTalk == 0
	var phaseEnd time.Duration // sender time when the current talk/silence phase ends
	if !talking {
		talking = true
		phaseEnd = expDur(rng, s.Talk.MeanTalk)
	}
	seq := uint16(rng.Uint64())
	ts0 := uint32(rng.Uint64())
	ssrc := s.SSRC
	restarts := s.Restarts
	good := true
	var lastDTX time.Duration = -time.Hour
	startOfSpurt := true
	for i := range n {
		senderTime := time.Duration(i) * s.Ptime
		if len(restarts) > 0 && senderTime >= restarts[0] {
			restarts = restarts[1:]
			ssrc += 0x100
			seq = uint16(rng.Uint64())
			ts0 = uint32(rng.Uint64()) - uint32(i)*ticks
			startOfSpurt = true
		}
		if s.Talk.MeanTalk != 0 {
			for senderTime >= phaseEnd {
				talking = !talking
				if talking {
					phaseEnd += expDur(rng, s.Talk.MeanTalk)
					startOfSpurt = true
				} else {
					phaseEnd += expDur(rng, s.Talk.MeanSilence)
				}
			}
		}
		size := s.Payload
		if !talking && s.Talk.Cut {
			continue
		}
		if !talking && s.Talk.DTX {
			if senderTime-lastDTX < s.Talk.DTXInterval {
				continue
			}
			lastDTX = senderTime
			if s.Talk.DTXPayload > 0 {
				size = s.Talk.DTXPayload
			}
		}
		p := Packet{
			Index:          len(tr.Sent),
			SequenceNumber: seq,
			Timestamp:      ts0 + uint32(i)*ticks,
			SSRC:           ssrc,
			Ticks:          ticks,
			Size:           size,
			AudioLevel:     -1,
			Voice:          talking,
			Marker:         talking && startOfSpurt,
		}
		seq++
		if talking {
			startOfSpurt = false
		}
		if !s.NoLevels {
			if talking {
				p.AudioLevel = int8(22 + rng.Uint64()%16) // −22…−37 dBov
			} else {
				p.AudioLevel = int8(75 + rng.Uint64()%20) // background noise
			}
		}
		// A sender clock running fast by Drift puts out its packet times
		// in less real time.
		p.Media = time.Duration(float64(senderTime) / (1 + s.Drift))
		p.Send = p.Media
		if b := s.Burst; b != nil {
			k := p.Media / b.Every
			p.Send = k*b.Every + time.Duration(float64(p.Media-k*b.Every)*float64(b.Span)/float64(b.Every))
		}
		transit := s.BaseDelay + s.jitter(rng)
		if transit < time.Millisecond {
			transit = time.Millisecond
		}
		if s.Reorder > 0 && rng.Float64() < s.Reorder {
			transit += s.ReorderDelay
		}
		for _, sp := range s.Spikes {
			if p.Send >= sp.At && p.Send < sp.At+sp.Height {
				// Released in sending order, 0.1 ms apart.
				release := sp.At + sp.Height + s.BaseDelay - p.Send +
					time.Duration(p.Send-sp.At)/time.Duration(s.Ptime)*100*time.Microsecond
				transit = max(transit, release)
			}
		}
		p.Transit = transit
		if s.Loss > 0 && rng.Float64() < s.Loss {
			p.Lost = true
		}
		if ge := s.Bursty; ge != nil {
			if good {
				good = rng.Float64() >= ge.P
			} else {
				good = rng.Float64() < ge.R
			}
			l := ge.LossGood
			if !good {
				l = ge.LossBad
			}
			if rng.Float64() < l {
				p.Lost = true
			}
		}
		tr.Sent = append(tr.Sent, p)
	}
	for i := range tr.Sent {
		p := &tr.Sent[i]
		if p.Lost {
			continue
		}
		tr.Arrivals = append(tr.Arrivals, Arrival{Packet: p, At: p.Send + p.Transit})
		if s.Duplicate > 0 && rng.Float64() < s.Duplicate {
			extra := time.Millisecond + time.Duration(rng.Uint64()%uint64(4*time.Millisecond))
			tr.Arrivals = append(tr.Arrivals, Arrival{Packet: p, At: p.Send + p.Transit + extra, Dup: true})
		}
	}
	sort.SliceStable(tr.Arrivals, func(a, b int) bool { return tr.Arrivals[a].At < tr.Arrivals[b].At })
	return tr, nil
}

func (s Scenario) validate() error {
	switch {
	case s.Ptime <= 0 || int64(s.Ptime)*int64(s.ClockRate)%int64(time.Second) != 0:
		return fmt.Errorf("netsim: Ptime %v is not a whole number of ticks at %d Hz", s.Ptime, s.ClockRate)
	case s.Drift <= -0.5 || s.Drift >= 0.5:
		return fmt.Errorf("netsim: Drift %v is not in (-0.5, 0.5)", s.Drift)
	case s.Jitter.Kind == JitterPareto && s.Jitter.Shape <= 1:
		return fmt.Errorf("netsim: Pareto shape %v must exceed 1", s.Jitter.Shape)
	case s.Talk.MeanTalk < 0 || s.Talk.MeanSilence < 0 || (s.Talk.MeanTalk > 0) != (s.Talk.MeanSilence > 0):
		return fmt.Errorf("netsim: talk model needs both means or neither")
	case s.Talk.DTX && s.Talk.Cut:
		return fmt.Errorf("netsim: talk model with both DTX and Cut")
	case s.Talk.DTXPayload < 0 || s.Talk.DTXPayload > s.Payload:
		return fmt.Errorf("netsim: DTXPayload %d is not in [0, Payload]", s.Talk.DTXPayload)
	case s.Burst != nil && (s.Burst.Every <= 0 || s.Burst.Span <= 0 || s.Burst.Span > s.Burst.Every):
		return fmt.Errorf("netsim: Burst needs 0 < Span <= Every")
	case !slices.IsSorted(s.Restarts):
		return fmt.Errorf("netsim: Restarts are not in order")
	}
	return nil
}

func (s Scenario) jitter(r *Rand) time.Duration {
	switch s.Jitter.Kind {
	case JitterNormal:
		return time.Duration(r.Norm() * float64(s.Jitter.Sigma))
	case JitterPareto:
		return time.Duration((r.Pareto(1, s.Jitter.Shape) - 1) * float64(s.Jitter.Scale))
	}
	return 0
}

func expDur(r *Rand, mean time.Duration) time.Duration {
	return max(time.Duration(r.Exp(float64(mean))), 200*time.Millisecond)
}

// PayloadFor fills buf with packet index's payload: the index, then bytes
// derived from it, so a receiver can tell which packet it holds and that it
// is intact. len(buf) must be at least 16.
func PayloadFor(buf []byte, index int) []byte {
	binary.BigEndian.PutUint64(buf, uint64(index))
	x := uint64(index)*0x9e3779b97f4a7c15 + 1
	for i := 8; i < len(buf); i++ {
		x ^= x << 13
		x ^= x >> 7
		x ^= x << 17
		buf[i] = byte(x)
	}
	return buf
}

// PayloadOf fills buf with p's payload: PayloadFor when it is long enough
// to carry the index, else (a DTX packet) Size bytes derived from it, which
// a receiver tells apart by sequence number instead. len(buf) must be at
// least p.Size.
func PayloadOf(buf []byte, p *Packet) []byte {
	if p.Size >= 16 {
		return PayloadFor(buf[:p.Size], p.Index)
	}
	b := buf[:p.Size]
	for k := range b {
		b[k] = byte(p.Index + k)
	}
	return b
}

// IndexOf returns the packet index a payload made by PayloadFor carries,
// and whether the payload is intact.
func IndexOf(payload []byte) (int, bool) {
	if len(payload) < 16 {
		return 0, false
	}
	i := binary.BigEndian.Uint64(payload)
	if i > math.MaxInt32 {
		return 0, false
	}
	var want [2048]byte
	if len(payload) > len(want) {
		return 0, false
	}
	w := PayloadFor(want[:len(payload)], int(i))
	for k := range payload {
		if payload[k] != w[k] {
			return 0, false
		}
	}
	return int(i), true
}
