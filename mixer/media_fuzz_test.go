package mixer

import (
	"errors"
	"fmt"
	"testing"
	"time"
)

// stampCheck is a FrameWriter that checks what a tap hands it: frames of
// the tap's length, stamps a whole number of ptimes apart, never back.
type stampCheck struct {
	t     *testing.T
	frame int
	last  time.Duration
	n     int
}

func (w *stampCheck) Write(at time.Duration, pcm []int16) error {
	if len(pcm) != w.frame {
		w.t.Fatalf("frame of %d samples, want %d", len(pcm), w.frame)
	}
	if w.n > 0 && (at <= w.last || (at-w.last)%(20*time.Millisecond) != 0) {
		w.t.Fatalf("stamp %v after %v", at, w.last)
	}
	w.last = at
	w.n++
	return nil
}

// FuzzMediaLifecycle drives sources, whispers, taps and tones through
// joins, leaves, rate changes, mutes, deafness, clears and closes in any
// order, ticking in between: nothing panics, taps give whole frames on a
// steady clock, and closing the conference ends every source and tap.
func FuzzMediaLifecycle(f *testing.F) {
	f.Add([]byte{0, 0, 2, 1, 3, 5, 8, 8, 0, 1, 5, 2, 8, 1, 8, 4, 6, 8})
	f.Add([]byte{0, 10, 2, 0, 3, 3, 8, 7, 8, 1, 8, 8, 9, 4, 8})
	f.Add([]byte{2, 0, 5, 0, 8, 0, 3, 8, 0, 9, 1, 2, 8, 8, 8, 6, 4, 1})
	f.Fuzz(func(t *testing.T, ops []byte) {
		if len(ops) > 200 {
			ops = ops[:200]
		}
		c, err := NewConference(ConferenceConfig{Tones: ToneConfig{Join: true, Leave: true}})
		if err != nil {
			t.Fatal(err)
		}
		var clients []*client
		var srcs []*Source
		var taps []*Tap
		rates := []int{8000, 16000, 24000, 32000, 48000}
		pcmBuf := make([]int16, 48000)
		for i := range pcmBuf {
			pcmBuf[i] = int16(i * 37)
		}
		readBuf := make([]int16, maxFrame)
		now := time.Duration(0)
		joined := 0
		arg := func(i int) int {
			if i+1 < len(ops) {
				return int(ops[i+1])
			}
			return 0
		}
		pick := func(n, a int) int { return a % n }
		for i := 0; i < len(ops); i++ {
			a := arg(i)
			switch ops[i] % 10 {
			case 0:
				if len(clients) >= 6 {
					break
				}
				spec := clientSpec{id: fmt.Sprintf("p%d", joined), format: pcmu, pt: 0, src: tone(300+float64(a), 1, 0.2)}
				if a%2 == 1 {
					spec.format, spec.pt = opf, 111
				}
				joined++
				cl := newClient(t, c, spec)
				cl.keep = false
				clients = append(clients, cl)
			case 1:
				if len(clients) > 0 {
					k := pick(len(clients), a)
					clients[k].p.Leave()
					clients = append(clients[:k], clients[k+1:]...)
				}
			case 2:
				cfg := SourceConfig{SampleRate: rates[pick(len(rates), a)], Priority: a&8 != 0, Buffer: time.Second}
				if a&16 != 0 && len(clients) > 0 {
					cfg.To = clients[pick(len(clients), a>>5)].p.ID()
				}
				if s, err := c.AddSource(cfg); err == nil {
					srcs = append(srcs, s)
				} else if !errors.Is(err, ErrNoParticipant) {
					t.Fatal(err)
				}
			case 3:
				if len(srcs) > 0 {
					s := srcs[pick(len(srcs), a)]
					n, err := s.TryWrite(pcmBuf[:a*100])
					if err != nil && !errors.Is(err, ErrSourceFull) && !errors.Is(err, ErrClosed) {
						t.Fatal(err)
					}
					if n > a*100 {
						t.Fatalf("TryWrite took %d of %d", n, a*100)
					}
				}
			case 4:
				if len(srcs) > 0 {
					k := pick(len(srcs), a)
					if a&1 == 0 {
						srcs[k].Clear()
					} else {
						srcs[k].Close()
					}
				}
			case 5:
				kind := TapKind(a % 4)
				cfg := TapConfig{Kind: kind, SampleRate: rates[pick(len(rates), a>>2)]}
				if kind != TapMix {
					if len(clients) == 0 {
						break
					}
					cfg.Participant = clients[pick(len(clients), a>>4)].p.ID()
				}
				var chk *stampCheck
				if kind == TapInboundPackets {
					cfg.PacketWriter = &discardPackets{}
				} else if a&64 != 0 {
					chk = &stampCheck{t: t}
					cfg.Writer = chk
				}
				tp, err := c.AddTap(cfg)
				if err != nil {
					if !errors.Is(err, ErrConfig) && !errors.Is(err, ErrNoParticipant) {
						t.Fatal(err)
					}
					break
				}
				if chk != nil {
					chk.frame = tp.FrameSamples()
				}
				taps = append(taps, tp)
			case 6:
				if len(taps) > 0 {
					taps[pick(len(taps), a)].Close()
				}
			case 7:
				if len(clients) > 0 {
					p := clients[pick(len(clients), a)].p
					p.SetDeaf(a&2 != 0)
					p.SetMuted(a&4 != 0)
				}
			case 8:
				now = run(c, clients, now, time.Duration(1+a%5)*20*time.Millisecond, nil)
			case 9:
				for _, tp := range taps {
					for {
						if _, fr, ok := tp.TryRead(readBuf); !ok {
							break
						} else if len(fr) != tp.FrameSamples() {
							t.Fatalf("TryRead gave %d samples, want %d", len(fr), tp.FrameSamples())
						}
					}
				}
			}
		}
		c.Close()
		c.Tick(now)
		for _, s := range srcs {
			select {
			case <-s.Done():
			default:
				t.Fatal("a source outlived its conference")
			}
		}
		for _, tp := range taps {
			select {
			case <-tp.Done():
			default:
				t.Fatal("a tap outlived its conference")
			}
		}
	})
}
