package mixer

import (
	"encoding/binary"
	"fmt"
	"testing"
	"time"

	"github.com/rtpmix/rtpmix/codec/g711"
	"github.com/rtpmix/rtpmix/dtmf"
	"github.com/rtpmix/rtpmix/internal/pcm"
)

// BenchmarkDTMFInBandTick measures what in-band detection costs a
// conference: 3 G.711 speakers (speech, or keypad tones) and 20 silent
// listeners at 8 kHz, ticked with the detector on and off. The
// difference per tick, divided by the 3 speakers, is the detector's cost
// per speaker per 20 ms; listeners are never decoded, so they cost it
// nothing, nor do senders that are not speakers (the silence case: the
// same cost with the detector on as off).
//
//	go test -run '^$' -bench BenchmarkDTMFInBandTick -benchtime 3000x ./mixer
func BenchmarkDTMFInBandTick(b *testing.B) {
	for _, src := range []string{"speech", "digits", "silence"} {
		for _, mode := range []InBandDetection{InBandOff, InBandOn} {
			b.Run(fmt.Sprintf("%s/inband=%v", src, mode), func(b *testing.B) {
				benchInBand(b, src, mode)
			})
		}
	}
}

// ulawSender sends a μ-law clip into a participant, 20 ms a packet, with
// its RFC 6464 level.
type ulawSender struct {
	p      *Participant
	clip   []byte
	levels []byte
	seq    uint16
	ts     uint32
	ssrc   uint32
	buf    []byte
	k      int
}

func (s *ulawSender) packet() []byte {
	n := len(s.clip) / 160
	i := s.k % n
	s.k++
	b := s.buf[:20]
	b[0], b[1] = 0x90, 0
	binary.BigEndian.PutUint16(b[2:], s.seq)
	binary.BigEndian.PutUint32(b[4:], s.ts)
	binary.BigEndian.PutUint32(b[8:], s.ssrc)
	copy(b[12:], []byte{0xBE, 0xDE, 0, 1, levelExtID << 4, s.levels[i], 0, 0})
	b = append(b, s.clip[i*160:(i+1)*160]...)
	s.seq++
	s.ts += 160
	return b
}

func benchInBand(b *testing.B, src string, mode InBandDetection) {
	c, err := NewConference(ConferenceConfig{SampleRate: 8000, MaxSpeakers: 3, DTMF: DTMFConfig{InBand: mode}})
	if err != nil {
		b.Fatal(err)
	}
	var senders []*ulawSender
	for i, name := range []string{"alice", "bob", "carol"} {
		var lin []int16
		switch src {
		case "speech":
			lin = toRate(b, loadClip(b, name), 8000)
		case "silence":
			lin = make([]int16, 8000)
		default:
			// Digits of 100 ms, 100 ms apart, at -10 dBm0: a keypad
			// always sounding or about to.
			for k := range 50 {
				ev := dtmf.Event(k % 16)
				lin = append(lin, dtmfTone(ev, -10, 8000, 800, 0)...)
				lin = append(lin, make([]int16, 800)...)
			}
		}
		lin = lin[:len(lin)/160*160]
		s := &ulawSender{clip: g711.EncodeUlaw(nil, lin), buf: make([]byte, 0, 256), ssrc: uint32(i + 1)}
		for f := 0; f < len(lin)/160; f++ {
			// Every frame marked loud enough to keep them speakers, so
			// that the benchmark measures decoding speakers.
			lvl := byte(min(30, pcm.LevelDBov(lin[f*160:(f+1)*160]))) | 0x80
			if src == "silence" {
				lvl = 127 // never speakers: never decoded
			}
			s.levels = append(s.levels, lvl)
		}
		s.p, err = c.Join(ParticipantConfig{ID: name, In: pcmu, Out: pcmu, InAudioLevelID: levelExtID})
		if err != nil {
			b.Fatal(err)
		}
		senders = append(senders, s)
	}
	for i := range 20 {
		if _, err := c.Join(ParticipantConfig{ID: fmt.Sprint("l", i), In: pcmu, Out: pcmu}); err != nil {
			b.Fatal(err)
		}
	}
	now := time.Duration(0)
	tick := func() {
		for _, s := range senders {
			_ = s.p.WriteRTPAt(now, s.packet())
		}
		c.Tick(now)
		for range len(c.Events()) {
			<-c.Events()
		}
		now += 20 * time.Millisecond
	}
	for range 100 {
		tick()
	}
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		tick()
	}
	b.StopTimer()
	if st := c.Stats(); st.Speakers != 3 && src != "silence" {
		b.Fatalf("%d speakers", st.Speakers)
	}
	var det uint64
	for _, s := range senders {
		det += s.p.Stats().DTMF.Detected
	}
	b.ReportMetric(float64(det)/float64(b.N), "digits/tick")
}
