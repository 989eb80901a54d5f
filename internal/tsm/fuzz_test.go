package tsm

import (
	"encoding/binary"
	"testing"
)

// FuzzFIFO drives a FIFO with any sequence of writes (the fuzzer's own
// bytes, speech, tones, zeros), reads, discards, resets and changes of
// any size, and checks after every call: no panic; the length moved by
// exactly what was reported, never beyond the request or Cap; a change
// touched no history and no pending sample before its splice; its result
// is exactly the splice formula applied to the audio before it (so the
// in-place moves are right); and every new sample lies between the
// smallest and largest sample the splice read.
func FuzzFIFO(f *testing.F) {
	speech := clip(f, "carol", 8000)
	for _, seed := range [][]byte{
		{0, 1, 200, 1, 200, 3, 80, 1, 200, 4, 80, 2, 160},
		{4, 1, 255, 1, 255, 2, 100, 3, 120, 4, 120, 3, 255, 4, 255},
		{2, 5, 100, 3, 40, 4, 40, 6, 0, 5, 20, 4, 200, 2, 50},
		{1, 0, 64, 0, 64, 7, 3, 9, 200, 3, 90, 4, 90},
		append([]byte{3, 0, 255}, le(speech[4000:4255])...),
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) == 0 {
			return
		}
		rate := rates[int(data[0])%len(rates)]
		data = data[1:]
		fifo, err := New(rate, Config{})
		if err != nil {
			t.Fatal(err)
		}
		x := clip(t, "carol", rate)
		xpos := 0
		scratch := make([]int16, fifo.Cap())
		next := func() int {
			if len(data) == 0 {
				return 0
			}
			b := data[0]
			data = data[1:]
			return int(b)
		}
		for len(data) > 0 {
			cmd, n := next()%10, next()*rate/8000 // n up to 32 ms
			switch cmd {
			case 0: // the fuzzer's bytes as PCM
				k := min(n, len(data)/2)
				p := make([]int16, k)
				for i := range p {
					p[i] = int16(binary.LittleEndian.Uint16(data[2*i:]))
				}
				data = data[2*k:]
				write(t, fifo, p)
			case 1: // speech
				if xpos+n > len(x) {
					xpos = 0
				}
				write(t, fifo, x[xpos:xpos+n])
				xpos += n
			case 2:
				l := fifo.Len()
				got := fifo.Read(scratch[:min(n, len(scratch))])
				if got != min(n, l) || fifo.Len() != l-got {
					t.Fatalf("Read(%d) of %d: %d, Len %d", n, l, got, fifo.Len())
				}
			case 3:
				change(t, fifo, shorten, n)
			case 4:
				change(t, fifo, lengthen, n)
			case 5:
				l := fifo.Len()
				if got := fifo.Discard(n); got != min(n, l) || fifo.Len() != l-got {
					t.Fatalf("Discard(%d) of %d: %d", n, l, got)
				}
			case 6:
				l, a := fifo.Len(), fifo.Available()
				if got := fifo.WriteZeros(n); got != min(n, a) || fifo.Len() != l+got {
					t.Fatalf("WriteZeros(%d): %d", n, got)
				}
			case 7: // a tone of period n/4+2 samples
				p := make([]int16, 4*n)
				for i := range p {
					p[i] = int16(12000 * sinAt(i, n/4+2, 1))
				}
				write(t, fifo, p)
			case 8:
				fifo.Reset()
			case 9: // requests beyond any bound
				change(t, fifo, op(n%2), 1<<30)
			}
		}
	})
}

func le(s []int16) []byte {
	b := make([]byte, 2*len(s))
	for i, v := range s {
		binary.LittleEndian.PutUint16(b[2*i:], uint16(v))
	}
	return b
}

func write(t *testing.T, f *FIFO, p []int16) {
	l, a := f.Len(), f.Available()
	var got int
	if len(p)%2 == 0 {
		got = f.Write(p)
	} else {
		got = f.Write(append(f.AvailableBuffer(), p[:min(len(p), a)]...))
	}
	if got != min(len(p), a) || f.Len() != l+got {
		t.Fatalf("Write(%d) with %d available: %d, Len %d → %d", len(p), a, got, l, f.Len())
	}
}

// change makes one change and checks it against the splice formula,
// computed here on copies.
func change(t *testing.T, f *FIFO, o op, n int) {
	before := append([]int16(nil), f.buf[f.start-f.hist:f.end]...)
	h, e, avail := f.hist, f.Len(), f.Available()
	st := f.Stats()
	var got int
	if o == shorten {
		got = f.Shorten(n)
	} else {
		got = f.Lengthen(n)
	}
	after := f.buf[f.start-f.hist : f.end]
	limit := min(n, e)
	if o == lengthen {
		limit = min(n, avail)
	}
	switch {
	case got < 0 || got > max(0, limit):
		t.Fatalf("%v(%d) with %d pending, %d available: changed %d", o, n, e, avail, got)
	case f.hist != h:
		t.Fatalf("history length %d → %d", h, f.hist)
	case got == 0:
		if string(le(after)) != string(le(before)) {
			t.Fatal("a declined change altered the audio")
		}
		if f.Stats() != st && (n <= 0 || limit <= 0) {
			t.Fatal("an empty request counted as declined")
		}
		return
	}
	sp := f.last
	want := splice1(before, h, e, o, sp)
	if want == nil {
		t.Fatalf("%v(%d), %d pending, %d history: splice %+v out of bounds", o, n, e, h, sp)
	}
	if sp.shift != got || sp.fade < 1 || sp.fade > sp.shift {
		t.Fatalf("splice %+v for a change of %d", sp, got)
	}
	if string(le(after)) != string(le(want)) {
		t.Fatalf("%v(%d): splice %+v not applied as the formula says", o, n, sp)
	}
	lo, hi := before[0], before[0]
	for _, v := range before {
		lo, hi = min(lo, v), max(hi, v)
	}
	for _, v := range after {
		if v < lo || v > hi {
			t.Fatalf("sample %d outside the input's [%d, %d]", v, lo, hi)
		}
	}
}

// splice1 applies sp to ctx (h history samples, e pending) the plain way;
// nil when the splice reaches outside the audio it may use.
func splice1(ctx []int16, h, e int, o op, sp splice) []int16 {
	at := h + sp.at
	out := append([]int16(nil), ctx[:at]...)
	if sp.at < 0 {
		return nil
	}
	if o == shorten {
		if at+sp.shift+sp.fade > h+e {
			return nil
		}
		fade := append([]int16(nil), ctx[at:at+sp.fade]...)
		crossfade(fade, ctx[at+sp.shift:at+sp.shift+sp.fade])
		out = append(out, fade...)
		return append(out, ctx[at+sp.shift+sp.fade:]...)
	}
	if at+sp.fade > h+e || at-sp.shift < 0 {
		return nil
	}
	fade := append([]int16(nil), ctx[at:at+sp.fade]...)
	crossfade(fade, ctx[at-sp.shift:at-sp.shift+sp.fade])
	out = append(out, fade...)
	return append(out, ctx[at-sp.shift+sp.fade:]...)
}

func (o op) String() string { return [...]string{"Shorten", "Lengthen"}[o] }
