package mixer

import (
	"cmp"
	"encoding/binary"
	"math"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/rtpmix/rtpmix/codec"
	"github.com/rtpmix/rtpmix/internal/audiocmp"
	"github.com/rtpmix/rtpmix/internal/netsim"
	"github.com/rtpmix/rtpmix/rtcpsession"
)

// The playout tests replay netsim traces (issue 12's kinds of network)
// through a whole conference in virtual time: a talker sends PCMU speech
// (the testdata clips) while the trace's sender talks and silence (or a
// DTX packet) while it does not, each packet arriving when the trace
// says; a listen-only participant receives the mix. What the listener
// hears is then aligned with what the talker sent (internal/audiocmp).

// speechSource is the clips one after another at 8 kHz, looped to n
// samples.
func speechSource(t testing.TB, n int) []int16 {
	var all []int16
	for _, name := range []string{"alice", "bob", "carol", "dave"} {
		all = append(all, toRate(t, loadClip(t, name), 8000)...)
	}
	out := make([]int16, n)
	for i := range out {
		out[i] = all[i%len(all)]
	}
	return out
}

// netTalker is one participant fed from a trace.
type netTalker struct {
	p      *Participant
	tr     *netsim.Trace
	wire   [][]byte // each sent packet, as RTP
	ref    []int16  // what the sender sent, by sender time (8 kHz)
	next   int      // next arrival
	buf    []byte
	delays []time.Duration
}

// senderFrame is the index of the 20 ms frame of the sender's own clock
// that packet p carries.
func senderFrame(sc netsim.Scenario, p *netsim.Packet) int {
	return int(math.Round(float64(p.Media) * (1 + sc.Drift) / float64(sc.Ptime)))
}

// newNetTalker encodes the trace's packets: speech from src while the
// sender talks (src offset by off frames), silence otherwise; a DTX
// packet is as short as the trace says; RFC 6464 levels when the trace
// has them.
func newNetTalker(t testing.TB, c *Conference, id string, tr *netsim.Trace, src []int16, off int, cfg ParticipantConfig) *netTalker {
	sc := tr.Scenario
	require.Equal(t, 8000, sc.ClockRate)
	enc, err := codec.NewEncoder(pcmu.SDPName(), codec.Config{})
	require.NoError(t, err)
	frames := int(sc.Duration/sc.Ptime) + 1
	nt := &netTalker{tr: tr, ref: make([]int16, frames*160), wire: make([][]byte, len(tr.Sent)), buf: make([]byte, 0, 256)}
	silence := make([]int16, 160)
	// The clean path: what a listener would hear over a perfect network
	// (the codec's own quantisation included).
	dec, err := codec.NewDecoder(pcmu.SDPName(), codec.Config{})
	require.NoError(t, err)
	for i := range tr.Sent {
		p := &tr.Sent[i]
		k := senderFrame(sc, p)
		pcmFrame := silence
		if p.Voice {
			s := ((k + off) * 160) % (len(src) - 160)
			pcmFrame = src[s : s+160]
		}
		payload, err := enc.Encode(nil, pcmFrame)
		require.NoError(t, err)
		if p.Voice {
			clean, err := dec.Decode(nil, payload)
			require.NoError(t, err)
			copy(nt.ref[k*160:], clean)
		}
		if p.AudioLevel >= 0 {
			cfg.InAudioLevelID = levelExtID
		}
		nt.wire[i] = p.RTP(0, levelExtID, payload)
	}
	cfg.ID, cfg.In, cfg.Out = id, pcmu, pcmu
	cfg.Jitter = cfg.Jitter.Merge(sc.Buffer)
	nt.p, err = c.Join(cfg)
	require.NoError(t, err)
	return nt
}

// deliver writes the arrivals due by now.
func (nt *netTalker) deliver(now time.Duration) {
	for ; nt.next < len(nt.tr.Arrivals) && nt.tr.Arrivals[nt.next].At <= now; nt.next++ {
		a := nt.tr.Arrivals[nt.next]
		nt.buf = append(nt.buf[:0], nt.wire[a.Packet.Index]...)
		_ = nt.p.WriteRTPAt(a.At, nt.buf)
	}
}

// stepDown makes a trace whose network delay falls by step for every
// packet sent from at on (a route change): the buffer then holds that
// much more audio than it needs.
func stepDown(t testing.TB, sc netsim.Scenario, at, step time.Duration) *netsim.Trace {
	tr, err := sc.Trace()
	require.NoError(t, err)
	for i := range tr.Sent {
		if p := &tr.Sent[i]; p.Send >= at {
			p.Transit -= step
		}
	}
	for i := range tr.Arrivals {
		if a := &tr.Arrivals[i]; a.Packet.Send >= at {
			a.At -= step
		}
	}
	slices.SortStableFunc(tr.Arrivals, func(a, b netsim.Arrival) int { return cmp.Compare(a.At, b.At) })
	return tr
}

// listenRecorder decodes what a listener receives, one packet per tick.
type listenRecorder struct {
	dec codec.Decoder
	got []int16
	buf []int16
	n   int // packets this tick
}

func (r *listenRecorder) WriteRTP(pkt []byte) error {
	if rtcpsession.IsRTCP(pkt) {
		return nil // the listener's RTCP reports share its sink (rtcp-mux)
	}
	r.n++
	h := 12 + 4*int(pkt[0]&0x0f)
	if pkt[0]&0x10 != 0 {
		h += 4 + 4*int(binary.BigEndian.Uint16(pkt[h+2:]))
	}
	out, err := r.dec.Decode(r.buf[:0], pkt[h:])
	if err != nil {
		return err
	}
	r.buf = out
	r.got = append(r.got, out...)
	return nil
}

// netConference is a conference of netTalkers and one listener.
type netConference struct {
	c       *Conference
	talkers []*netTalker
	rec     *listenRecorder
	phase   time.Duration
	end     time.Duration
}

// alwaysTalking keeps a talker heard whatever its level, so that what the
// listener hears depends on the jitter buffer and the time-scaler alone,
// not on where talk detection starts and stops.
var alwaysTalking = TalkConfig{StartLevel: 120, StopLevel: 127, StartDelay: 20 * time.Millisecond}

func newNetConference(t testing.TB, cfg ConferenceConfig) *netConference {
	cfg.Ptime = 20 * time.Millisecond
	cfg.DisableLimiter = true
	c := newTestConference(t, cfg)
	dec, err := codec.NewDecoder(pcmu.SDPName(), codec.Config{})
	require.NoError(t, err)
	nc := &netConference{c: c, rec: &listenRecorder{dec: dec}}
	_, err = c.Join(ParticipantConfig{ID: "listener", In: pcmu, Out: pcmu, ListenOnly: true, Sink: nc.rec})
	require.NoError(t, err)
	return nc
}

// run ticks from phase until every trace has been delivered and drained,
// sampling each talker's jitter delay every tick.
func (nc *netConference) run(t testing.TB) {
	end := time.Duration(0)
	for _, nt := range nc.talkers {
		sc := nt.tr.Scenario
		end = max(end, nt.tr.Arrivals[len(nt.tr.Arrivals)-1].At+sc.Drain)
	}
	nc.end = end
	for now := nc.phase; now <= end; now += 20 * time.Millisecond {
		for _, nt := range nc.talkers {
			nt.deliver(now)
		}
		nc.rec.n = 0
		nc.c.Tick(now)
		require.Equal(t, 1, nc.rec.n, "one packet per tick to the listener")
		for _, nt := range nc.talkers {
			nt.delays = append(nt.delays, nt.p.Stats().Jitter.Delay)
		}
	}
}

// hearing is what a listener heard of one talker: the comparison with
// what it sent, and the delay (beyond the trace's smallest transit) of
// each window found.
type hearing struct {
	cmp audiocmp.Result
	audiocmp.Playout
	meanDelay time.Duration
}

// hear compares what the listener got with what nt sent.
func (nc *netConference) hear(nt *netTalker) hearing {
	sc := nt.tr.Scenario
	var h hearing
	// A drifting sender's samples run ahead of (or behind) the
	// listener's by Drift of the run.
	drift := time.Duration(math.Abs(sc.Drift)*float64(sc.Duration)) + time.Second
	h.cmp = audiocmp.Compare(nt.ref, nc.rec.got, 8000, audiocmp.Options{MinDelay: -drift, MaxDelay: 7*time.Second + drift})
	// netsim measures the delay a buffer adds beyond the smallest transit.
	h.Playout = h.cmp.Playout(8000, nc.phase, sc.Drift, nt.tr.MinTransit())
	h.meanDelay = h.MeanBetween(math.MinInt64, math.MaxInt64)
	return h
}

// p95 returns the 95th percentile of xs.
func p95(xs []time.Duration) time.Duration {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	return s[len(s)*95/100]
}
