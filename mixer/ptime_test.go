package mixer

import (
	"math"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/rtpmix/rtpmix/codec"
	"github.com/rtpmix/rtpmix/dtmf"
)

// ptimeRun runs the conference for d in virtual time, 10 ms steps: each
// phone sends a packet every its own packet time, the conference ticks
// every its own.
func ptimeRun(c *Conference, now, d time.Duration, phones ...*phone) time.Duration {
	tick := c.Config().Ptime
	end := now + d
	for ; now < end; now += 10 * time.Millisecond {
		for _, ph := range phones {
			pt := time.Duration(ph.step) * time.Second / time.Duration(ph.format.ClockRate)
			if now%pt == 0 {
				_ = ph.p.WriteRTPAt(now, ph.next())
			}
		}
		if now%tick == 0 {
			c.Tick(now)
		}
	}
	return now
}

// toneLevel is the level (dBFS, RMS of the component) of freq in x at rate,
// by Goertzel.
func toneLevel(x []int16, freq float64, rate int) float64 {
	w := 2 * math.Pi * freq / float64(rate)
	cw := 2 * math.Cos(w)
	var s1, s2 float64
	for _, v := range x {
		s0 := float64(v) + cw*s1 - s2
		s2, s1 = s1, s0
	}
	p := s1*s1 + s2*s2 - cw*s1*s2
	amp := 2 * math.Sqrt(p) / float64(len(x))
	return 20 * math.Log10(amp/math.Sqrt2/32768+1e-12)
}

// decodeAll decodes the audio packets a phone was sent (payload type pt).
func decodeAll(t *testing.T, ph *phone, pt uint8) []int16 {
	dec, err := codec.NewDecoder(ph.format.SDPName(), codec.Config{SampleRate: formatRate(ph.format), Channels: 1})
	require.NoError(t, err)
	var out []int16
	for _, r := range ph.got {
		if r.hdr.PayloadType != pt {
			continue
		}
		x, err := dec.Decode(nil, r.payload)
		require.NoError(t, err)
		out = append(out, x...)
	}
	return out
}

// checkPtimeStream: one SSRC, consecutive sequence numbers, timestamps that
// step by one packet's duration, payloads of that duration.
func checkPtimeStream(t *testing.T, ph *phone, pt uint8, step uint32) {
	t.Helper()
	require.NotEmpty(t, ph.got)
	for i, r := range ph.got {
		assert.Equal(t, pt, r.hdr.PayloadType)
		if i == 0 {
			continue
		}
		prev := ph.got[i-1].hdr
		assert.Equal(t, prev.SequenceNumber+1, r.hdr.SequenceNumber, "packet %d", i)
		assert.Equal(t, prev.Timestamp+step, r.hdr.Timestamp, "packet %d", i)
	}
}

func tonePhone(ph *phone, freq float64) {
	rate := formatRate(ph.format)
	ph.src = func(i int) []int16 {
		out := make([]int16, ph.frame)
		for k := range out {
			out[k] = int16(8000 * math.Sin(2*math.Pi*freq*float64(i*ph.frame+k)/float64(rate)))
		}
		return out
	}
}

// TestPtime30: a conference at 30 ms with G.711 phones at 30 ms both
// ways, an Opus leg (sent 20 ms, Opus having no 30 ms frame) and a PCMA
// phone that asked for 20 ms and sends 20 ms: every stream has the packet
// time it asked for, exactly one packet's worth per packet time, and
// everyone hears the others' tones.
func TestPtime30(t *testing.T) {
	c := newDTMFConference(t, ConferenceConfig{Ptime: 30 * time.Millisecond})
	u := newPhone(t, c, phoneSpec{id: "u", format: pcmu, pt: 0, ptime: 30 * time.Millisecond})
	o := newPhone(t, c, phoneSpec{id: "o", format: opf, pt: 111})
	a := newPhone(t, c, phoneSpec{id: "a", format: pcma, pt: 8})
	require.NoError(t, a.p.Update(func(pc *ParticipantConfig) { pc.Ptime = 20 * time.Millisecond }))
	tonePhone(u, 400)
	tonePhone(o, 900)
	tonePhone(a, 1700)
	const d = 3 * time.Second
	ptimeRun(c, 0, d, u, o, a)

	checkPtimeStream(t, u, 0, 240)
	checkPtimeStream(t, o, 111, 960)
	checkPtimeStream(t, a, 8, 160)
	ticks := int(d / (30 * time.Millisecond))
	assert.InDelta(t, ticks, len(u.got), 1)
	assert.InDelta(t, ticks*3/2, len(o.got), 2)
	for _, r := range u.got {
		assert.Len(t, r.payload, 240)
	}
	for _, r := range a.got[3:] {
		assert.Len(t, r.payload, 160)
	}
	for _, tc := range []struct {
		ph    *phone
		pt    uint8
		hears []float64
		not   float64
	}{{u, 0, []float64{900, 1700}, 400}, {o, 111, []float64{400, 1700}, 900}, {a, 8, []float64{400, 900}, 1700}} {
		x := decodeAll(t, tc.ph, tc.pt)
		rate := formatRate(tc.ph.format)
		x = x[len(x)/2:] // past the start
		for _, f := range tc.hears {
			assert.Greater(t, toneLevel(x, f, rate), -30.0, "%s hears %v Hz", tc.ph.p.ID(), f)
		}
		assert.Less(t, toneLevel(x, tc.not, rate), -50.0, "%s does not hear itself", tc.ph.p.ID())
	}
	for _, ph := range []*phone{u, o, a} {
		st := ph.p.Stats()
		assert.Zero(t, st.EncodeErrors)
		assert.Zero(t, st.Jitter.Lost, ph.p.ID())
	}
}

// TestPtimeOwnPacketization: in a 20 ms conference a phone that asked
// for 30 ms gets 30 ms packets (two on every three ticks), also while it
// speaks (its own mix-minus chain) and when it is sent a digit (events
// every 30 ms); a 30 ms sender is heard.
func TestPtimeOwnPacketization(t *testing.T) {
	c := newDTMFConference(t, ConferenceConfig{})
	p30 := newPhone(t, c, phoneSpec{id: "p30", format: pcmu, pt: 0, ptime: 30 * time.Millisecond, teOut: te8k})
	require.NoError(t, p30.p.Update(func(pc *ParticipantConfig) { pc.Ptime = 30 * time.Millisecond }))
	l := newPhone(t, c, phoneSpec{id: "l", format: pcmu, pt: 0})
	tonePhone(p30, 600)
	tonePhone(l, 1100)
	now := ptimeRun(c, 0, 2*time.Second, p30, l)
	require.NoError(t, p30.p.SendDTMF(dtmf.EventPound, 120*time.Millisecond))
	ptimeRun(c, now, time.Second, p30, l)

	var audio []rxPacket
	for _, r := range p30.got {
		if r.hdr.PayloadType == 0 {
			audio = append(audio, r)
			assert.Len(t, r.payload, 240)
		}
	}
	assert.InDelta(t, 100, len(p30.got), 2, "3 s of 30 ms packets")
	evs, durs := p30.digits(tePT)
	assert.Equal(t, []dtmf.Event{dtmf.EventPound}, evs)
	assert.Equal(t, []uint32{960}, durs)
	for i := 1; i < len(p30.got); i++ {
		assert.Equal(t, p30.got[i-1].hdr.SequenceNumber+1, p30.got[i].hdr.SequenceNumber)
	}
	for i := 1; i < len(audio); i++ {
		assert.Zero(t, (audio[i].hdr.Timestamp-audio[i-1].hdr.Timestamp)%240)
	}
	x := decodeAll(t, p30, 0)
	assert.Greater(t, toneLevel(x[8000:], 1100, 8000), -30.0)
	y := decodeAll(t, l, 0)
	assert.Greater(t, toneLevel(y[8000:], 600, 8000), -30.0, "the 30 ms sender is heard")
	assert.Zero(t, l.p.Stats().Jitter.Lost)
}

// TestPtimeAllocs: ticks with repacketized participants (speaking and
// listening) allocate nothing.
func TestPtimeAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts are only meaningful without -race")
	}
	c := newDTMFConference(t, ConferenceConfig{Ptime: 30 * time.Millisecond, EventBuffer: 16})
	u := newPhone(t, c, phoneSpec{id: "u", format: pcmu, pt: 0, ptime: 30 * time.Millisecond})
	o := newPhone(t, c, phoneSpec{id: "o", format: opf, pt: 111})
	o2 := newPhone(t, c, phoneSpec{id: "o2", format: opf, pt: 111})
	tonePhone(u, 400)
	tonePhone(o, 900)
	phones := []*phone{u, o, o2}
	for _, ph := range phones {
		ph.quiet = true
	}
	// The packets of each tick, made beforehand so that only the mixer
	// runs in the measured loop.
	type sent struct {
		ph  *phone
		pkt []byte
	}
	const warm, runs = 50, 201
	ticks := make([][]sent, warm+runs)
	for now := time.Duration(0); now < time.Duration(warm+runs)*30*time.Millisecond; now += 10 * time.Millisecond {
		for _, ph := range phones {
			pt := time.Duration(ph.step) * time.Second / time.Duration(ph.format.ClockRate)
			if now%pt == 0 {
				k := int(now / (30 * time.Millisecond))
				ticks[k] = append(ticks[k], sent{ph, ph.next()})
			}
		}
	}
	buf := make([]byte, 1600)
	i := 0
	run := func() {
		now := time.Duration(i) * 30 * time.Millisecond
		for _, s := range ticks[i] {
			_ = s.ph.p.WriteRTPAt(now, buf[:copy(buf, s.pkt)])
		}
		c.Tick(now)
		for range len(c.Events()) {
			<-c.Events()
		}
		i++
	}
	for range warm {
		run()
	}
	assert.Zero(t, testing.AllocsPerRun(runs-1, run))
	assert.NotZero(t, o2.n)
}
