package jitter_test

import (
	"encoding/binary"
	"testing"
	"time"

	"github.com/rtpmix/rtpmix/jitter"
)

// FuzzBuffer feeds any sequence of pushes (arbitrary SSRC, sequence
// number, timestamp, arrival time, flags, duration and payload), pops (at
// arbitrary times, forwards or backwards) and reports of time-scaling (a
// part of what the frame asked for, or any change of the caller's own) to
// a small buffer. It must never panic, never return bytes that were not
// pushed, keep every frame well formed (a stretch request only on a
// packet, bounded), and account for every packet.
//
// Each op is 7 bytes: kind, then fields; see the switch.
func FuzzBuffer(f *testing.F) {
	// A clean stream: push then pop, 20 ms apart.
	var clean []byte
	for i := range 30 {
		clean = append(clean, 0, 0, 1, 0, 160, 20, byte(8+i%8)) // push: seq+1, ts+160, +20 ms
		clean = append(clean, 3, 20, 0, 0, 0, 0, 0)             // pop at +20 ms
	}
	f.Add(clean)
	// Reordered pairs, a loss, a duplicate, an SSRC change, a jump.
	f.Add([]byte{
		0, 0, 1, 0, 160, 20, 8, 0, 0, 2, 1, 64, 5, 8, 0, 0, 255, 254, 96, 5, 8, 3, 100, 0, 0, 0, 0, 0,
		0, 0, 0, 0, 0, 5, 8, 3, 20, 0, 0, 0, 0, 0, 0, 1, 7, 9, 9, 20, 8, 0, 1, 1, 0, 160, 20, 8,
		0, 0, 100, 127, 255, 20, 8, 0, 0, 1, 0, 160, 20, 8, 3, 0, 0, 0, 0, 0, 0, 3, 200, 0, 0, 0, 0, 0,
	})
	// Pops that time-scale as asked, and by their own amounts.
	var scaled []byte
	for i := range 40 {
		scaled = append(scaled, 0, 0, 1, 0, 160, 20, byte(8+i%8))
		scaled = append(scaled, 4, 20, byte(i%4), 255, byte(100+i), 0, 0)
	}
	f.Add(scaled)
	// DTX: a timestamp gap with contiguous sequence numbers, quiet levels.
	f.Add([]byte{
		0, 4, 1, 0, 160, 20, 8, 0, 4, 1, 0, 160, 20, 8, 0, 4, 1, 50, 0, 250, 8, 3, 20, 0, 0, 0, 0, 0,
		3, 20, 0, 0, 0, 0, 0, 3, 250, 0, 0, 0, 0, 0, 0, 2, 1, 0, 160, 20, 8, 3, 20, 0, 0, 0, 0, 0,
	})
	f.Fuzz(func(t *testing.T, data []byte) {
		b, err := jitter.New(jitter.Config{
			ClockRate: 8000, Capacity: 8, MaxPayload: 24,
			MaxDelay: 300 * time.Millisecond, ResyncThreshold: time.Second,
		})
		if err != nil {
			t.Fatal(err)
		}
		pushed := map[string]bool{}
		var (
			now, pnow time.Duration
			seq       uint16
			ts        uint32
			ssrc      uint32 = 1
			n         int
		)
		for len(data) >= 7 {
			op := data[:7]
			data = data[7:]
			switch op[0] % 8 {
			case 3, 4: // pop: op[1] ms later (op[2]&1: earlier instead)
				d := time.Duration(op[1]) * time.Millisecond
				if op[2]&1 != 0 {
					d = -d
				}
				pnow += d
				fr := b.Pop(pnow)
				check(t, fr, pushed)
				if op[0]%8 == 4 {
					// Time-scale op[3]/255 of the request, or (op[2]&2)
					// change the audio by op[4]−128 ms on its own.
					a := fr.Stretch * time.Duration(op[3]) / 255
					if op[2]&2 != 0 {
						a = time.Duration(int(op[4])-128) * time.Millisecond
					}
					b.Stretched(a)
				}
			case 5: // reset (both sides idle here)
				if op[1] == 0xA5 {
					b.Reset()
				}
			default: // push
				flags := op[1]
				if flags&1 != 0 {
					ssrc = uint32(op[6]) << 8
				}
				seq += uint16(int8(op[2]))
				ts += uint32(int16(binary.BigEndian.Uint16(op[3:5])))
				now += time.Duration(op[5]) * time.Millisecond
				size := int(op[6] % 28) // up to 27: some above MaxPayload
				payload := make([]byte, size)
				for k := range payload {
					payload[k] = byte(n + k*7)
				}
				if size >= 2 {
					binary.BigEndian.PutUint16(payload, uint16(n))
				}
				n++
				pushed[string(payload)] = true
				level := int8(-1)
				if flags&2 != 0 {
					level = int8(op[6] & 127)
				}
				p := &jitter.Packet{
					SSRC: ssrc, SequenceNumber: seq, Timestamp: ts,
					Marker: flags&4 != 0, Voice: flags&8 != 0, AudioLevel: level,
					Payload: payload,
				}
				if flags&16 != 0 {
					p.Duration = uint32(op[6]) * 8
				}
				_ = b.Push(now, p)
			}
		}
		// Play out whatever is left, then every packet must be accounted.
		for range 64 {
			pnow += 20 * time.Millisecond
			check(t, b.Pop(pnow), pushed)
		}
		st := b.Stats()
		if st.Received != st.Played+st.Late+st.Duplicate+st.Dropped+st.Overflow+st.Invalid+st.Buffered {
			t.Fatalf("unbalanced: %+v", st)
		}
	})
}

func check(t *testing.T, f jitter.Frame, pushed map[string]bool) {
	t.Helper()
	switch f.Kind {
	case jitter.KindEmpty:
		if f.Duration != 0 || f.Payload != nil {
			t.Fatalf("empty frame with content: %+v", f)
		}
	case jitter.KindPacket:
		if f.Duration == 0 || !pushed[string(f.Payload)] || len(f.Payload) > 24 {
			t.Fatalf("bad packet frame: %+v", f)
		}
	case jitter.KindLost, jitter.KindConceal, jitter.KindGap:
		if f.Duration == 0 || f.Payload != nil {
			t.Fatalf("bad %v frame: %+v", f.Kind, f)
		}
	default:
		t.Fatalf("unknown kind %d", f.Kind)
	}
	if f.NextAvailable != (f.Next != nil) || f.NextAvailable && (f.Kind != jitter.KindLost || !pushed[string(f.Next)]) {
		t.Fatalf("bad next: %+v", f)
	}
	// A request to time-scale comes with a packet, at most 15 ms (or, in
	// a quiet one, its duration), and never with zero duration.
	if f.Stretch != 0 && (f.Kind != jitter.KindPacket || f.Stretch.Abs() > max(15*time.Millisecond, time.Duration(f.Duration)*time.Second/8000)) {
		t.Fatalf("bad stretch request: %+v", f)
	}
}
