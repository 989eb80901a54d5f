package resample

import (
	"encoding/binary"
	"testing"
)

// FuzzProcess feeds arbitrary rates, channel counts, split points and
// samples. It checks that New rejects what it does not support, that Process
// never panics, returns exactly OutLen samples, gives the same samples
// however the input is split, and that the AVX2 and generic kernels agree
// bit for bit.
func FuzzProcess(f *testing.F) {
	sp := speech(f, 4800)
	seed := func(in, out, ch uint16, splits []byte, pcm []int16) {
		b := []byte{byte(in), byte(in >> 8), byte(out), byte(out >> 8), byte(ch), byte(len(splits))}
		b = append(b, splits...)
		for _, v := range pcm {
			b = binary.LittleEndian.AppendUint16(b, uint16(v))
		}
		f.Add(b)
	}
	seed(0, 4, 1, []byte{160, 160}, sp[:960])
	seed(4, 0, 1, []byte{255, 255, 3}, sp[:2000])
	seed(1, 2, 2, []byte{7, 1, 200}, sp[1000:2500])
	seed(2, 3, 2, []byte{1}, sp[:301])
	seed(3, 1, 1, nil, sp[:4800])
	seed(9, 0, 1, nil, sp[:10])
	seed(0, 0, 3, nil, sp[:10])
	rates := Rates()
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) < 6 {
			return
		}
		rate := func(v uint16) int {
			if int(v) < len(rates) {
				return rates[v]
			}
			return int(int16(v)) // mostly unsupported: New must refuse it
		}
		in, out := rate(binary.LittleEndian.Uint16(data)), rate(binary.LittleEndian.Uint16(data[2:]))
		ch := int(data[4])
		ns := min(int(data[5]), len(data)-6)
		splits := data[6 : 6+ns]
		raw := data[6+ns:]
		pcm := make([]int16, len(raw)/2)
		for i := range pcm {
			pcm[i] = int16(binary.LittleEndian.Uint16(raw[2*i:]))
		}
		r, err := New(in, out, ch)
		if err != nil {
			if supported(in) && supported(out) && (ch == 1 || ch == 2) {
				t.Fatalf("New(%d, %d, %d): %v", in, out, ch, err)
			}
			return
		}
		whole := r.OutLen(len(pcm))
		want := r.Process(nil, pcm)
		if len(want) != whole {
			t.Fatalf("%d→%d ch=%d: %d samples, OutLen said %d", in, out, ch, len(want), whole)
		}
		if len(want)%ch != 0 {
			t.Fatalf("%d samples is not whole frames of %d", len(want), ch)
		}
		gen, _ := New(in, out, ch)
		gen.generic = true
		split, _ := New(in, out, ch)
		var got []int16
		rest := pcm
		for i := 0; len(rest) > 0; i++ {
			k := len(rest)
			if i < len(splits) {
				k = min(k, int(splits[i]))
			}
			n := split.OutLen(k)
			frames := k / ch
			if ch == 2 && split.hasPending && k%2 == 1 {
				frames++
			}
			if bound := (frames*out + in - 1) / in * ch; n > bound {
				t.Fatalf("call %d: OutLen %d above the documented bound %d", i, n, bound)
			}
			y := split.Process(nil, rest[:k])
			if len(y) != n {
				t.Fatalf("call %d: %d samples, OutLen said %d", i, len(y), n)
			}
			got = append(got, y...)
			rest = rest[k:]
		}
		g := gen.Process(nil, pcm)
		for i := range want {
			if got[i] != want[i] {
				t.Fatalf("%d→%d ch=%d: split output differs at %d: %d vs %d", in, out, ch, i, got[i], want[i])
			}
			if g[i] != want[i] {
				t.Fatalf("%d→%d ch=%d: generic kernel differs at %d: %d vs %d", in, out, ch, i, g[i], want[i])
			}
		}
		if len(got) != len(want) || len(g) != len(want) {
			t.Fatalf("lengths: split %d, generic %d, one shot %d", len(got), len(g), len(want))
		}
	})
}
