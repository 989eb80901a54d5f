package mixer

import (
	"encoding/binary"
	"errors"
	"math"
	"slices"
	"testing"
	"time"

	"github.com/pion/rtp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/rtpmix/rtpmix/codec"
	"github.com/rtpmix/rtpmix/codec/g711"
	"github.com/rtpmix/rtpmix/dtmf"
	"github.com/rtpmix/rtpmix/srtp"
)

// The DTMF tests drive a conference in virtual time with phones that send
// G.711 (or Opus) audio and RFC 4733 events the way a real one does: the
// events in the place of audio packets, on the audio's SSRC, sequence
// numbers and clock, and check what comes out with pion/rtp and
// dtmf.ParsePayload, not with the mixer's own code.

const tePT = 101

// phone is one leg: it sends frames (audio, or telephone-event packets
// while a digit is being sent) and keeps everything the mixer sends it.
type phone struct {
	t      testing.TB
	p      *Participant
	format codec.Format
	pt     uint8
	tePT   uint8
	enc    codec.Encoder
	ssrc   uint32
	seq    uint16
	ts     uint32
	step   uint32
	frame  int // samples per 20 ms at the encoder's rate
	src    func(i int) []int16
	nframe int
	tx     *dtmf.Sender
	send   *srtp.Protector
	recv   *srtp.Unprotector
	buf    []byte

	got   []rxPacket // what the mixer sent, parsed
	quiet bool       // count what the mixer sends, keep nothing (allocation tests)
	n     int
}

type rxPacket struct {
	hdr     rtp.Header
	payload []byte
}

type phoneSpec struct {
	id       string
	format   codec.Format
	pt       uint8
	teIn     TelephoneEvent // what it sends
	teOut    TelephoneEvent // what it is sent
	dtmf     DTMFConfig
	srtp     bool
	noLevels bool
	ptime    time.Duration // of what it sends; default 20 ms
}

func newPhone(t testing.TB, c *Conference, s phoneSpec) *phone {
	t.Helper()
	rate := formatRate(s.format)
	if s.ptime == 0 {
		s.ptime = 20 * time.Millisecond
	}
	enc, err := codec.NewEncoder(s.format.SDPName(), codec.Config{SampleRate: rate, Channels: 1, Ptime: s.ptime})
	require.NoError(t, err)
	ph := &phone{t: t, format: s.format, pt: s.pt, tePT: s.teIn.PayloadType, enc: enc,
		frame: int(s.ptime) * rate / int(time.Second), step: uint32(s.format.FrameSamples(s.ptime)),
		buf: make([]byte, 0, 1600)}
	for _, ch := range s.id {
		ph.ssrc = (ph.ssrc ^ uint32(ch)) * 0x01000193
	}
	ph.seq, ph.ts = uint16(ph.ssrc>>3), ph.ssrc*13
	ph.src = func(int) []int16 { return make([]int16, ph.frame) }
	if s.teIn.enabled() {
		ph.tx, err = dtmf.NewSender(dtmf.SenderConfig{ClockRate: s.teIn.clock(s.format.ClockRate), Interval: s.ptime})
		require.NoError(t, err)
	}
	pc := ParticipantConfig{ID: s.id, In: s.format, InPayloadType: PT(s.pt), Out: s.format, OutPayloadType: PT(s.pt),
		InTelephoneEvent: s.teIn, OutTelephoneEvent: s.teOut, DTMF: s.dtmf,
		Sink: SinkFunc(ph.receive)}
	if !s.noLevels {
		pc.InAudioLevelID = levelExtID
	}
	if s.srtp {
		in, err := srtp.GenerateKeys(srtp.ProfileAESCM128HMACSHA1_80)
		require.NoError(t, err)
		out, err := srtp.GenerateKeys(srtp.ProfileAESCM128HMACSHA1_80)
		require.NoError(t, err)
		pc.InSRTP, pc.OutSRTP = &in, &out
		ph.send, err = srtp.NewProtector(in)
		require.NoError(t, err)
		ph.recv, err = srtp.NewUnprotector(out)
		require.NoError(t, err)
	}
	ph.p, err = c.Join(pc)
	require.NoError(t, err)
	return ph
}

func (ph *phone) receive(pkt []byte) error {
	if len(pkt) >= 2 && pkt[1] >= 200 && pkt[1] <= 207 {
		return nil // RTCP
	}
	if ph.quiet {
		ph.n++
		return nil
	}
	var h rtp.Header
	if ph.recv != nil {
		var err error
		if pkt, err = ph.recv.UnprotectRTP(nil, pkt, &h); err != nil {
			ph.t.Errorf("unprotect: %v", err)
			return nil
		}
	} else if _, err := h.Unmarshal(pkt); err != nil {
		ph.t.Errorf("unmarshal: %v", err)
		return nil
	}
	ph.got = append(ph.got, rxPacket{hdr: h.Clone(), payload: append([]byte(nil), pkt[h.MarshalSize():]...)})
	return nil
}

// next makes the phone's next packet: an event packet while its Sender
// has one, else an audio frame. ok is false when the slot sends nothing
// (never, here).
func (ph *phone) next() []byte {
	b := ph.buf[:12]
	b[0] = 0x80
	var payload []byte
	marker := false
	ts := ph.ts
	pt := ph.pt
	if ph.tx != nil && ph.tx.Active() {
		p, _ := ph.tx.Next(make([]byte, 0, 4))
		payload, marker, ts, pt = p.Payload, p.Marker, p.Timestamp, ph.tePT
	} else {
		pcm := ph.src(ph.nframe)
		var err error
		payload, err = ph.enc.Encode(nil, pcm)
		if err != nil {
			panic(err) // not require: next also runs inside fuzz targets
		}
	}
	ph.nframe++
	if marker {
		b[1] = 0x80 | pt
	} else {
		b[1] = pt
	}
	binary.BigEndian.PutUint16(b[2:], ph.seq)
	binary.BigEndian.PutUint32(b[4:], ts)
	binary.BigEndian.PutUint32(b[8:], ph.ssrc)
	b = append(b, payload...)
	ph.seq++
	ph.ts += ph.step
	if ph.send != nil {
		var err error
		if b, err = ph.send.ProtectRTP(nil, b); err != nil {
			panic(err)
		}
	}
	return append([]byte(nil), b...)
}

// press starts a digit at the phone's next packet.
func (ph *phone) press(ev dtmf.Event, d time.Duration) {
	if err := ph.tx.Start(ev, d, ph.ts); err != nil {
		panic(err)
	}
}

// events returns what the phone was sent on payload type pt, parsed.
func (ph *phone) events(pt uint8) []rxPacket {
	var out []rxPacket
	for _, r := range ph.got {
		if r.hdr.PayloadType == pt {
			out = append(out, r)
		}
	}
	return out
}

// digits decodes the telephone-events the phone was sent into digits with
// their durations in clock units, checking RFC 4733's rules on the way:
// one timestamp per event, the marker on its first packet only, durations
// that never shrink, the end report three times.
func (ph *phone) digits(pt uint8) (evs []dtmf.Event, durs []uint32) {
	t := ph.t
	var cur *rtp.Header
	var ends int
	var last dtmf.Report
	for _, r := range ph.events(pt) {
		reps, err := dtmf.ParsePayload(nil, r.payload)
		require.NoError(t, err)
		require.Len(t, reps, 1)
		rep := reps[0]
		if cur == nil || r.hdr.Timestamp != cur.Timestamp {
			if cur != nil {
				assert.Equal(t, dtmf.EndRepeats, ends, "end packets of the digit before")
			}
			assert.True(t, r.hdr.Marker, "first packet of an event has the marker")
			h := r.hdr
			cur, ends = &h, 0
			evs, durs = append(evs, rep.Event), append(durs, 0)
		} else {
			assert.False(t, r.hdr.Marker, "marker only on the first packet")
			assert.GreaterOrEqual(t, rep.Duration, last.Duration, "durations never shrink")
		}
		if rep.End {
			ends++
		}
		durs[len(durs)-1] = uint32(rep.Duration)
		last = rep
	}
	if cur != nil {
		assert.Equal(t, dtmf.EndRepeats, ends, "end packets of the last digit")
	}
	return evs, durs
}

// dtmfRun sends a packet from every phone and ticks, n times.
func dtmfRun(c *Conference, now time.Duration, n int, phones ...*phone) time.Duration {
	for range n {
		for _, ph := range phones {
			_ = ph.p.WriteRTPAt(now, ph.next())
		}
		c.Tick(now)
		now += 20 * time.Millisecond
	}
	return now
}

// drainDTMF returns the DTMF events the conference has emitted.
func drainDTMF(c *Conference) []Event {
	var out []Event
	for {
		select {
		case e := <-c.Events():
			if e.Type == DTMFBegan || e.Type == DTMFEnded {
				out = append(out, e)
			}
		default:
			return out
		}
	}
}

// dtmfString is the digits of Began events, and checks each Began has
// its Ended with the same digit before the next.
func dtmfString(t testing.TB, evs []Event) string {
	s := ""
	open := false
	for _, e := range evs {
		switch e.Type {
		case DTMFBegan:
			assert.False(t, open, "a digit began before the last ended")
			open = true
			s += string(e.DTMF.Digit.Rune())
		case DTMFEnded:
			assert.True(t, open, "an end without a beginning")
			open = false
		}
	}
	assert.False(t, open, "the last digit never ended")
	return s
}

func newDTMFConference(t testing.TB, cfg ConferenceConfig) *Conference {
	t.Helper()
	if cfg.EventBuffer == 0 {
		cfg.EventBuffer = 4096
	}
	c, err := NewConference(cfg)
	require.NoError(t, err)
	return c
}

var te8k = TelephoneEvent{PayloadType: tePT}

// TestDTMFReceive: digits sent as RFC 4733 events come out as one Began
// and one Ended event each, with their durations, on plain and SRTP legs;
// the event packets never reach the decoder nor look like loss to the
// jitter buffer, and the audio plays on; with the default policy nobody
// else is sent the digit.
func TestDTMFReceive(t *testing.T) {
	for _, tc := range []struct {
		name   string
		secure bool
		opus   bool
	}{{"RTP", false, false}, {"SRTP", true, false}, {"Opus 48 kHz events", false, true}} {
		t.Run(tc.name, func(t *testing.T) {
			c := newDTMFConference(t, ConferenceConfig{SampleRate: 8000})
			spec := phoneSpec{id: "a", format: pcmu, pt: 0, teIn: te8k, teOut: te8k, srtp: tc.secure}
			if tc.opus {
				spec.format, spec.pt = opf, 111 // telephone-event/48000, the audio's clock
			}
			a := newPhone(t, c, spec)
			b := newPhone(t, c, phoneSpec{id: "b", format: pcmu, pt: 0, teOut: te8k})
			now := dtmfRun(c, 0, 10, a, b)
			want := "159#*D"
			durs := []time.Duration{100 * time.Millisecond, 60 * time.Millisecond, 240 * time.Millisecond,
				100 * time.Millisecond, 40 * time.Millisecond, 2 * time.Second}
			for i, r := range want {
				ev, err := dtmf.ParseDigit(r)
				require.NoError(t, err)
				a.press(ev, durs[i])
				now = dtmfRun(c, now, int(durs[i]/(20*time.Millisecond))+3+5, a, b)
			}
			now = dtmfRun(c, now, 20, a, b)
			evs := drainDTMF(c)
			assert.Equal(t, want, dtmfString(t, evs))
			i := 0
			for _, e := range evs {
				assert.Equal(t, "a", e.Participant)
				assert.False(t, e.DTMF.InBand)
				if e.Type == DTMFEnded {
					assert.Equal(t, dtmf.CauseEndPacket, e.DTMF.Cause)
					assert.Equal(t, durs[i], e.DTMF.Duration, "digit %d", i)
					i++
				} else {
					assert.Zero(t, e.DTMF.Passed, "swallowed: passed to nobody")
				}
			}
			st := a.p.Stats()
			assert.Equal(t, uint64(len(want)), st.DTMF.Received)
			assert.NotZero(t, st.DTMF.Packets)
			assert.Zero(t, st.DecodeErrors, "event packets never reach the decoder")
			assert.Zero(t, st.Jitter.Lost, "the event packets' sequence numbers are no loss to the jitter buffer")
			assert.Zero(t, st.Refused.Packets)
			assert.Empty(t, b.events(tePT), "swallowed digits are sent to nobody")
			assert.Empty(t, a.events(tePT))
			_ = now
		})
	}
}

// TestDTMFReceiveNetwork: what the network does to the event packets
// (lost starts, lost and repeated ends, reordering, a new digit before
// the old one's end) still makes one Began and one Ended per digit, in
// order.
func TestDTMFReceiveNetwork(t *testing.T) {
	type pkt struct {
		b  []byte
		ev bool
	}
	cases := []struct {
		name string
		// mangle changes the packet stream of three digits (1, 2, 3 of 120
		// ms each, 60 ms apart) as the network would.
		mangle func(ps []pkt) []pkt
		want   string
	}{
		{"clean", func(ps []pkt) []pkt { return ps }, "123"},
		{"first two event packets of each digit lost", func(ps []pkt) []pkt {
			var out []pkt
			run := 0
			for _, p := range ps {
				if p.ev {
					run++
					if run <= 2 {
						continue
					}
				} else {
					run = 0
				}
				out = append(out, p)
			}
			return out
		}, "123"},
		{"every end packet lost", func(ps []pkt) []pkt {
			var out []pkt
			for _, p := range ps {
				if p.ev && p.b[12+1]&0x80 != 0 {
					continue
				}
				out = append(out, p)
			}
			return out
		}, "123"},
		{"each end packet sent five times", func(ps []pkt) []pkt {
			var out []pkt
			for _, p := range ps {
				out = append(out, p)
				if p.ev && p.b[12+1]&0x80 != 0 {
					for range 4 {
						out = append(out, p)
					}
				}
			}
			return out
		}, "123"},
		{"neighbours swapped", func(ps []pkt) []pkt {
			out := append([]pkt(nil), ps...)
			for i := 1; i+1 < len(out); i += 3 {
				out[i], out[i+1] = out[i+1], out[i]
			}
			return out
		}, "123"},
		{"next digit before the end: audio and ends between digits lost", func(ps []pkt) []pkt {
			var out []pkt
			for _, p := range ps {
				if !p.ev && len(out) > 0 && out[len(out)-1].ev {
					continue // the audio right after a digit
				}
				if p.ev && p.b[12+1]&0x80 != 0 {
					continue
				}
				out = append(out, p)
			}
			return out
		}, "123"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := newDTMFConference(t, ConferenceConfig{SampleRate: 8000})
			a := newPhone(t, c, phoneSpec{id: "a", format: pcmu, pt: 0, teIn: te8k})
			var ps []pkt
			for range 10 {
				ps = append(ps, pkt{a.next(), false})
			}
			for _, r := range "123" {
				ev, _ := dtmf.ParseDigit(r)
				a.press(ev, 120*time.Millisecond)
				for a.tx.Active() {
					ps = append(ps, pkt{a.next(), true})
				}
				for range 3 {
					ps = append(ps, pkt{a.next(), false})
				}
			}
			for range 20 {
				ps = append(ps, pkt{a.next(), false})
			}
			ps = tc.mangle(ps)
			now := time.Duration(0)
			for _, p := range ps {
				_ = a.p.WriteRTPAt(now, p.b)
				c.Tick(now)
				now += 20 * time.Millisecond
			}
			for range 30 {
				c.Tick(now)
				now += 20 * time.Millisecond
			}
			assert.Equal(t, tc.want, dtmfString(t, drainDTMF(c)))
			assert.Zero(t, a.p.Stats().DecodeErrors)
		})
	}
}

// TestDTMFPass: under DTMFPass a digit is regenerated on each listener's
// own stream (its SSRC, sequence numbers, timestamps and clock) as RFC
// 4733 events with their three end packets, in the place of its audio;
// a listener without telephone-event gets none; the sender does not get
// its own digit back.
func TestDTMFPass(t *testing.T) {
	c := newDTMFConference(t, ConferenceConfig{DTMF: DTMFConfig{Policy: DTMFPass}})
	a := newPhone(t, c, phoneSpec{id: "a", format: pcmu, pt: 0, teIn: te8k, teOut: te8k})
	b := newPhone(t, c, phoneSpec{id: "b", format: pcma, pt: 8, teOut: TelephoneEvent{PayloadType: 96}, srtp: true})
	o := newPhone(t, c, phoneSpec{id: "o", format: opf, pt: 111, teOut: TelephoneEvent{PayloadType: 110, ClockRate: 48000}})
	n := newPhone(t, c, phoneSpec{id: "n", format: pcmu, pt: 0}) // no telephone-event
	now := dtmfRun(c, 0, 10, a, b, o, n)
	a.press(7, 200*time.Millisecond)
	now = dtmfRun(c, now, 20, a, b, o, n)
	a.press(dtmf.EventPound, 100*time.Millisecond)
	now = dtmfRun(c, now, 30, a, b, o, n)
	_ = now

	evs := drainDTMF(c)
	assert.Equal(t, "7#", dtmfString(t, evs))
	for _, e := range evs {
		if e.Type == DTMFBegan {
			assert.Equal(t, 2, e.DTMF.Passed, "b and o have telephone-event; n does not")
		}
	}
	for _, tc := range []struct {
		ph    *phone
		pt    uint8
		clock int
	}{{b, 96, 8000}, {o, 110, 48000}} {
		evs, durs := tc.ph.digits(tc.pt)
		assert.Equal(t, []dtmf.Event{7, dtmf.EventPound}, evs)
		if assert.Len(t, durs, 2) {
			assert.Equal(t, uint32(200*tc.clock/1000), durs[0])
			assert.Equal(t, uint32(100*tc.clock/1000), durs[1])
		}
		// One stream: one SSRC, consecutive sequence numbers across audio
		// and events, one packet per 20 ms slot (the conference sends
		// silence frames), audio with its slot's timestamp, and each event
		// with the timestamp of the slot it started in.
		step := uint32(tc.clock / 50)
		base := tc.ph.got[0].hdr.Timestamp
		var evStart uint32
		for i, r := range tc.ph.got {
			slot := base + uint32(i)*step
			assert.Equal(t, tc.ph.p.SSRC(), r.hdr.SSRC)
			if i > 0 {
				assert.Equal(t, tc.ph.got[i-1].hdr.SequenceNumber+1, r.hdr.SequenceNumber, "packet %d", i)
			}
			if r.hdr.PayloadType == tc.pt {
				if r.hdr.Marker {
					evStart = slot
				}
				assert.Equal(t, evStart, r.hdr.Timestamp, "an event's timestamp is the slot it started in, packet %d", i)
				continue
			}
			assert.Equal(t, slot, r.hdr.Timestamp, "audio timestamps run on through the digit, packet %d", i)
			if i > 0 && tc.ph.got[i-1].hdr.PayloadType == tc.pt {
				assert.True(t, r.hdr.Marker, "audio after a digit starts a talkspurt")
			}
		}
		assert.Equal(t, uint64(2), tc.ph.p.Stats().DTMF.Passed)
	}
	assert.Empty(t, n.events(tePT))
	assert.Empty(t, a.events(tePT), "not sent back to its sender")
}

// TestSendDTMF: SendDTMF sends a participant digits on its own stream,
// one after the other, DTMFGap apart, and refuses what cannot be sent.
func TestSendDTMF(t *testing.T) {
	c := newDTMFConference(t, ConferenceConfig{SampleRate: 8000})
	a := newPhone(t, c, phoneSpec{id: "a", format: pcmu, pt: 0, teOut: te8k})
	n := newPhone(t, c, phoneSpec{id: "n", format: pcmu, pt: 0})
	now := dtmfRun(c, 0, 5, a, n)
	for _, r := range "12A" {
		ev, _ := dtmf.ParseDigit(r)
		require.NoError(t, a.p.SendDTMF(ev, 100*time.Millisecond))
	}
	now = dtmfRun(c, now, 40, a, n)
	evs, durs := a.digits(tePT)
	assert.Equal(t, []dtmf.Event{1, 2, dtmf.EventA}, evs)
	assert.Equal(t, []uint32{800, 800, 800}, durs)
	assert.Equal(t, uint64(3), a.p.Stats().DTMF.Sent)
	// A pause of at least 40 ms (ITU-T Q.24) between one digit's end and
	// the next one's start, in media time.
	var prevEnd uint32
	for _, r := range a.got {
		if r.hdr.PayloadType != tePT {
			continue
		}
		rep, err := dtmf.ParsePayload(nil, r.payload)
		require.NoError(t, err)
		if r.hdr.Marker && prevEnd != 0 {
			assert.GreaterOrEqual(t, r.hdr.Timestamp-prevEnd, uint32(320))
		}
		prevEnd = r.hdr.Timestamp + uint32(rep[0].Duration)
	}

	err := n.p.SendDTMF(1, 100*time.Millisecond)
	assert.ErrorIs(t, err, ErrNoTelephoneEvent)
	assert.ErrorIs(t, a.p.SendDTMF(1, 0), ErrConfig)
	assert.ErrorIs(t, a.p.SendDTMF(1, 2*dtmf.MaxDuration), ErrConfig)
	assert.ErrorIs(t, a.p.SendDTMF(40, 100*time.Millisecond), ErrNoTelephoneEvent, "not in 0-16")
	for i := range dtmfQueueLen {
		require.NoError(t, a.p.SendDTMF(dtmf.Event(i%10), 40*time.Millisecond))
	}
	assert.ErrorIs(t, a.p.SendDTMF(1, 40*time.Millisecond), ErrDTMFQueueFull)
	require.NoError(t, a.p.Update(func(pc *ParticipantConfig) { pc.Direction = Inactive }))
	assert.ErrorIs(t, a.p.SendDTMF(1, 40*time.Millisecond), ErrNoTelephoneEvent, "on hold")
	a.p.Leave()
	assert.ErrorIs(t, a.p.SendDTMF(1, 40*time.Millisecond), ErrClosed)
	_ = now
}

// dtmfTone is digit ev as a G.711 phone sends it in-band: both tones at
// level dBm0 each, at rate.
func dtmfTone(ev dtmf.Event, level float64, rate, n, offset int) []int16 {
	lo, hi, _ := ev.Frequencies()
	// 0 dBm0 is a sine of peak 3.14 dB below the μ-law overload (G.711).
	amp := 32124 / math.Pow(10, 3.14/20) * math.Pow(10, level/20)
	out := make([]int16, n)
	for i := range out {
		x := float64(i+offset) / float64(rate)
		out[i] = int16(amp * (math.Sin(2*math.Pi*lo*x) + math.Sin(2*math.Pi*hi*x)))
	}
	return out
}

// keypad makes a phone's audio source that plays digits (on for on,
// then off for off each) from frame start, silence otherwise.
func keypad(ph *phone, digits string, start int, on, off time.Duration) {
	rate := formatRate(ph.format)
	per := int((on + off) / (20 * time.Millisecond))
	onFrames := int(on / (20 * time.Millisecond))
	ph.src = func(i int) []int16 {
		k := i - start
		if k < 0 || k/per >= len(digits) || k%per >= onFrames {
			return make([]int16, ph.frame)
		}
		ev, _ := dtmf.ParseDigit(rune(digits[k/per]))
		return dtmfTone(ev, -10, rate, ph.frame, (k%per)*ph.frame)
	}
}

// TestDTMFInBand: a phone without telephone-event that sends its keys as
// tones has them detected, as InBand events; under DTMFSwallow the others
// do not hear the tone once it is recognised, under DTMFPass they do and
// those with telephone-event are sent it as events as well.
func TestDTMFInBand(t *testing.T) {
	for _, levels := range []bool{false, true} {
		for _, pol := range []DTMFPolicy{DTMFSwallow, DTMFPass} {
			t.Run(pol.String()+map[bool]string{false: " no RFC 6464", true: " RFC 6464"}[levels], func(t *testing.T) {
				c := newDTMFConference(t, ConferenceConfig{SampleRate: 8000, DTMF: DTMFConfig{Policy: pol}})
				a := newPhone(t, c, phoneSpec{id: "a", format: pcmu, pt: 0, noLevels: !levels})
				b := newPhone(t, c, phoneSpec{id: "b", format: pcmu, pt: 0, teOut: te8k})
				keypad(a, "0123456789*#ABCD", 10, 100*time.Millisecond, 100*time.Millisecond)
				dtmfRun(c, 0, 10+16*10+30, a, b)
				evs := drainDTMF(c)
				assert.Equal(t, "0123456789*#ABCD", dtmfString(t, evs))
				for _, e := range evs {
					assert.True(t, e.DTMF.InBand)
					if e.Type == DTMFEnded {
						assert.InDelta(t, 100, e.DTMF.Duration.Milliseconds(), 15)
					}
				}
				assert.Equal(t, uint64(16), a.p.Stats().DTMF.Detected)
				// What b heard of a, by the audio it was sent: loud frames.
				loud := 0
				for _, r := range b.got {
					if r.hdr.PayloadType != 0 {
						continue
					}
					pcm := g711.DecodeUlaw(nil, r.payload)
					var e float64
					for _, v := range pcm {
						e += float64(v) * float64(v)
					}
					if math.Sqrt(e/float64(len(pcm))) > 1000 {
						loud++
					}
				}
				evsB, _ := b.digits(tePT)
				if pol == DTMFSwallow {
					// Each digit leaks until it is recognised (35 ms) and
					// ramps out: at most 3 loud frames of its 5.
					assert.LessOrEqual(t, loud, 16*3, "swallowed tones are kept out of the mix")
					assert.Empty(t, evsB)
				} else {
					assert.Len(t, evsB, 16, "passed as events to a listener with telephone-event")
				}
			})
		}
	}
}

// TestDTMFInBandTalkOff: speech and loud white noise through the
// conference make no digit.
func TestDTMFInBandTalkOff(t *testing.T) {
	c := newDTMFConference(t, ConferenceConfig{SampleRate: 8000})
	var phones []*phone
	noise := newPhone(t, c, phoneSpec{id: "noise", format: pcmu, pt: 0, noLevels: true})
	var g noiseGen
	noise.src = func(int) []int16 {
		out := make([]int16, noise.frame)
		g.fill(out, 15) // -15 dBov: louder than any keypad
		return out
	}
	phones = append(phones, noise)
	for _, name := range []string{"alice", "bob", "carol", "dave"} {
		ph := newPhone(t, c, phoneSpec{id: name, format: pcmu, pt: 0, noLevels: name == "alice" || name == "carol"})
		clip := toRate(t, loadClip(t, name), 8000)
		ph.src = func(i int) []int16 {
			out := make([]int16, ph.frame)
			if i*ph.frame < len(clip) {
				copy(out, clip[i*ph.frame:])
			}
			return out
		}
		phones = append(phones, ph)
	}
	n := len(toRate(t, loadClip(t, "alice"), 8000)) / 160
	dtmfRun(c, 0, n, phones...)
	assert.Empty(t, drainDTMF(c))
	for _, ph := range phones {
		assert.Zero(t, ph.p.Stats().DTMF.Detected)
	}
}

// TestDTMFConfigErrors: Join refuses telephone-event settings that cannot
// work, with ErrConfig and the numbers.
func TestDTMFConfigErrors(t *testing.T) {
	c := newDTMFConference(t, ConferenceConfig{})
	for _, tc := range []struct {
		name string
		edit func(*ParticipantConfig)
	}{
		{"RTCP range", func(pc *ParticipantConfig) { pc.InTelephoneEvent.PayloadType = 72 }},
		{"over 127", func(pc *ParticipantConfig) { pc.OutTelephoneEvent.PayloadType = 200 }},
		{"static", func(pc *ParticipantConfig) { pc.InTelephoneEvent.PayloadType = 8 }},
		{"audio's", func(pc *ParticipantConfig) {
			pc.In, pc.InPayloadType = opf, PT(101)
			pc.InTelephoneEvent.PayloadType = 101
		}},
		{"CN's", func(pc *ParticipantConfig) { pc.CNPayloadType = 101; pc.OutTelephoneEvent.PayloadType = 101 }},
		{"clock", func(pc *ParticipantConfig) { pc.InTelephoneEvent = TelephoneEvent{PayloadType: 101, ClockRate: 16000} }},
		{"policy", func(pc *ParticipantConfig) { pc.DTMF.Policy = 9 }},
		{"in-band", func(pc *ParticipantConfig) { pc.DTMF.InBand = 9 }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			pc := ParticipantConfig{In: pcmu, Out: pcmu}
			tc.edit(&pc)
			_, err := c.Join(pc)
			assert.ErrorIs(t, err, ErrConfig)
		})
	}
	_, err := NewConference(ConferenceConfig{DTMF: DTMFConfig{Policy: 7}})
	assert.ErrorIs(t, err, ErrConfig)
	assert.False(t, errors.Is(err, ErrNoTelephoneEvent))
}

// TestDTMFUpdate: telephone-events added by an Update work from then on,
// and the audio's numbering is not disturbed.
func TestDTMFUpdate(t *testing.T) {
	c := newDTMFConference(t, ConferenceConfig{SampleRate: 8000})
	a := newPhone(t, c, phoneSpec{id: "a", format: pcmu, pt: 0})
	b := newPhone(t, c, phoneSpec{id: "b", format: pcmu, pt: 0})
	now := dtmfRun(c, 0, 10, a, b)
	assert.ErrorIs(t, b.p.SendDTMF(3, 100*time.Millisecond), ErrNoTelephoneEvent)
	require.NoError(t, a.p.Update(func(pc *ParticipantConfig) { pc.InTelephoneEvent = te8k }))
	require.NoError(t, b.p.Update(func(pc *ParticipantConfig) { pc.OutTelephoneEvent = te8k }))
	var err error
	a.tx, err = dtmf.NewSender(dtmf.SenderConfig{ClockRate: 8000})
	require.NoError(t, err)
	a.tePT = tePT
	now = dtmfRun(c, now, 2, a, b)
	a.press(9, 100*time.Millisecond)
	require.NoError(t, b.p.SendDTMF(3, 100*time.Millisecond))
	dtmfRun(c, now, 30, a, b)
	assert.Equal(t, "9", dtmfString(t, drainDTMF(c)))
	evs, _ := b.digits(tePT)
	assert.Equal(t, []dtmf.Event{3}, evs)
	assert.Zero(t, a.p.Stats().Jitter.Lost)
}

// TestDTMFAllocs: ticks with digits on every path (RFC 4733 in on an SRTP
// leg and passed on, SendDTMF out, in-band detection of a decoded
// speaker) allocate nothing, nor does SendDTMF.
func TestDTMFAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("sync.Pool (inside pion/srtp) drops items at random under -race; make test runs this without it")
	}
	c := newDTMFConference(t, ConferenceConfig{SampleRate: 16000, DTMF: DTMFConfig{Policy: DTMFPass}, EventBuffer: 16})
	a := newPhone(t, c, phoneSpec{id: "a", format: pcmu, pt: 0, teIn: te8k, teOut: te8k, srtp: true})
	b := newPhone(t, c, phoneSpec{id: "b", format: pcma, pt: 8, teOut: TelephoneEvent{PayloadType: 96}})
	o := newPhone(t, c, phoneSpec{id: "o", format: opf, pt: 111, teOut: TelephoneEvent{PayloadType: 110, ClockRate: 48000}})
	k := newPhone(t, c, phoneSpec{id: "k", format: pcmu, pt: 0, noLevels: true, teOut: te8k})
	keypad(k, "1234567890123456789012345678901234567890", 5, 100*time.Millisecond, 100*time.Millisecond)
	phones := []*phone{a, b, o, k}
	for _, ph := range phones {
		ph.quiet = true
	}
	const warm, runs = 100, 201
	var pkts [][][]byte
	for i := range warm + runs {
		if i%15 == 0 {
			a.press(dtmf.Event(i%10), 160*time.Millisecond)
		}
		var tick [][]byte
		for _, ph := range phones {
			tick = append(tick, ph.next())
		}
		pkts = append(pkts, tick)
	}
	buf := make([]byte, 1600)
	now, i := time.Duration(0), 0
	step := func() {
		for j, ph := range phones {
			_ = ph.p.WriteRTPAt(now, buf[:copy(buf, pkts[i][j])])
		}
		if i%10 == 0 {
			_ = k.p.SendDTMF(dtmf.EventPound, 100*time.Millisecond)
		}
		c.Tick(now)
		for range len(c.Events()) {
			<-c.Events()
		}
		now += 20 * time.Millisecond
		i++
	}
	for range warm {
		step()
	}
	allocs := testing.AllocsPerRun(runs-1, step)
	assert.Zero(t, allocs)
	// The paths ran.
	assert.NotZero(t, a.p.Stats().DTMF.Received)
	assert.NotZero(t, b.p.Stats().DTMF.Passed)
	assert.NotZero(t, o.p.Stats().DTMF.Passed)
	assert.NotZero(t, k.p.Stats().DTMF.Detected)
	assert.NotZero(t, k.p.Stats().DTMF.Sent)
}

// FuzzDTMFEvents feeds arbitrary packets, mostly on the telephone-event
// payload type, to a participant whose digits are passed on, between the
// packets and ticks of a real phone pressing keys: nothing panics, every
// refusal is a documented error, each digit ends once after it began
// before the next begins, and the listener is sent one packet per tick
// (audio or event), on one stream.
func FuzzDTMFEvents(f *testing.F) {
	c, err := NewConference(ConferenceConfig{SampleRate: 8000, DTMF: DTMFConfig{Policy: DTMFPass}, EventBuffer: 64})
	if err != nil {
		f.Fatal(err)
	}
	a := newPhone(f, c, phoneSpec{id: "a", format: pcmu, pt: 0, teIn: te8k})
	l := newPhone(f, c, phoneSpec{id: "l", format: pcmu, pt: 0, teOut: te8k})
	l.quiet = true
	a.press(5, 100*time.Millisecond)
	for a.tx.Active() {
		f.Add(a.next(), uint8(0))
	}
	a.press(dtmf.EventStar, 40*time.Millisecond)
	for range 6 {
		f.Add(a.next(), uint8(1))
	}
	f.Add([]byte{0x80, 0x80 | tePT, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1, 11, 0x8a, 0xff, 0xff}, uint8(2))
	f.Add([]byte{0x80, tePT, 0xff, 0xff, 0xff, 0, 0, 0, 0, 0, 0, 1, 3, 0x0a, 0, 160, 4, 0x8a, 0, 80}, uint8(0))
	f.Add([]byte{0x80, tePT, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1, 1, 2, 3}, uint8(0))
	now := time.Duration(0)
	open := map[string]bool{}
	var last Event
	f.Fuzz(func(t *testing.T, pkt []byte, press uint8) {
		if press%16 == 1 && !a.tx.Active() {
			a.press(dtmf.Event(press>>4), time.Duration(press)*time.Millisecond+20*time.Millisecond)
		}
		err := a.p.WriteRTPAt(now, append([]byte(nil), pkt...))
		if err != nil && !slices.Contains(writeErrors, err) {
			t.Fatalf("WriteRTP returned %v, not one of its documented sentinels", err)
		}
		_ = a.p.WriteRTPAt(now, a.next())
		_ = l.p.WriteRTPAt(now, l.next())
		sent := l.n
		c.Tick(now)
		now += 20 * time.Millisecond
		if l.n != sent+1 {
			t.Fatalf("listener got %d packets in a tick", l.n-sent)
		}
		for range len(c.Events()) {
			e := <-c.Events()
			switch e.Type {
			case DTMFBegan:
				if open[e.Participant] {
					t.Fatalf("%s: digit %+v began before the last ended (%+v)", e.Participant, e.DTMF, last)
				}
				open[e.Participant] = true
			case DTMFEnded:
				if !open[e.Participant] {
					t.Fatalf("%s: digit %+v ended without beginning (%+v)", e.Participant, e.DTMF, last)
				}
				open[e.Participant] = false
			}
			if e.Type == DTMFBegan || e.Type == DTMFEnded {
				last = e
			}
		}
	})
}
