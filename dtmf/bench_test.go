package dtmf

import (
	"testing"
	"time"
)

// BenchmarkDetector measures the in-band detector per 20 ms frame of one
// participant, at each input rate, on speech (the usual case: nothing
// passes the window tests, so the frequency check never runs) and on a
// digit sequence (the frequency check runs on every window of a tone).
// ns/frame is the figure the package doc quotes.
func BenchmarkDetector(b *testing.B) {
	for _, rate := range []int{8000, 16000, 48000} {
		speech := clip(b, "alice.wav", rate)
		x := pause(nil, rate, 0.05)
		for _, r := range "147*2580369#" {
			ev, _ := ParseDigit(r)
			x = synth(x, rate, toneSpec{ev: ev, levLo: -10, levHi: -12, duration: 0.08})
			x = pause(x, rate, 0.06)
		}
		tones := toPCM(x)
		for _, in := range []struct {
			name string
			pcm  []int16
		}{{"speech", speech}, {"tones", tones}} {
			b.Run(in.name+"/"+itoa(rate), func(b *testing.B) {
				d, err := NewDetector(DetectorConfig{SampleRate: rate})
				if err != nil {
					b.Fatal(err)
				}
				frame := rate / 50
				frames := len(in.pcm) / frame
				b.ReportAllocs()
				b.SetBytes(int64(2 * frame))
				b.ResetTimer()
				for i := range b.N {
					f := i % frames
					d.Process(in.pcm[f*frame : (f+1)*frame])
					for _, ok := d.Next(); ok; _, ok = d.Next() {
					}
				}
				b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N), "ns/frame")
			})
		}
	}
}

func itoa(rate int) string {
	return map[int]string{8000: "8k", 16000: "16k", 48000: "48k"}[rate]
}

// BenchmarkReceiverPacket is the cost of one telephone-event packet.
func BenchmarkReceiverPacket(b *testing.B) {
	r, err := NewReceiver(ReceiverConfig{})
	if err != nil {
		b.Fatal(err)
	}
	pkts := sendDigit(b, 8000, 20*time.Millisecond, 5, 200*time.Millisecond, 0, 0)
	b.ReportAllocs()
	var ts uint32
	var now time.Duration
	for i := range b.N {
		p := pkts[i%len(pkts)]
		if i%len(pkts) == 0 {
			ts += 8000
		}
		now += 20 * time.Millisecond
		r.Packet(now, ts+p.ts, p.marker, p.payload)
		for _, ok := r.Next(); ok; _, ok = r.Next() {
		}
	}
}

// BenchmarkSenderNext is the cost of one outbound event packet.
func BenchmarkSenderNext(b *testing.B) {
	s, err := NewSender(SenderConfig{})
	if err != nil {
		b.Fatal(err)
	}
	var buf [ReportSize]byte
	b.ReportAllocs()
	for range b.N {
		if !s.Active() {
			s.Start(1, 200*time.Millisecond, 0)
		}
		s.Next(buf[:0])
	}
}
