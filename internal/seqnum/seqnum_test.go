package seqnum

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestDiff16(t *testing.T) {
	cases := []struct {
		name string
		a, b uint16
		want int16
	}{
		{"equal", 7, 7, 0},
		{"ahead", 10, 7, 3},
		{"behind", 7, 10, -3},
		{"ahead across wrap", 1, 65535, 2},
		{"behind across wrap", 65535, 1, -2},
		{"half circle", 32768, 0, -32768},
		{"just under half", 32767, 0, 32767},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.want, Diff16(tc.a, tc.b))
			assert.Equal(t, tc.want < 0, Less16(tc.a, tc.b))
		})
	}
}

func TestDiff32(t *testing.T) {
	cases := []struct {
		name string
		a, b uint32
		want int32
	}{
		{"equal", 9, 9, 0},
		{"ahead", 960, 0, 960},
		{"ahead across wrap", 100, 0xFFFFFF00, 356},
		{"behind across wrap", 0xFFFFFF00, 100, -356},
		{"half circle", 1 << 31, 0, -1 << 31},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.want, Diff32(tc.a, tc.b))
			assert.Equal(t, tc.want < 0, Less32(tc.a, tc.b))
		})
	}
}

func TestUnwrapper16(t *testing.T) {
	cases := []struct {
		name string
		in   []uint16
		want []int64
	}{
		{"in order", []uint16{1, 2, 3}, []int64{1, 2, 3}},
		{"wrap", []uint16{65534, 65535, 0, 1}, []int64{65534, 65535, 65536, 65537}},
		{"reordered across wrap", []uint16{65535, 1, 0, 2}, []int64{65535, 65537, 65536, 65538}},
		{"old packet before first", []uint16{0, 65535}, []int64{0, -1}},
		{"duplicate", []uint16{5, 5, 6}, []int64{5, 5, 6}},
		{"large jump forward", []uint16{0, 30000, 60000, 10}, []int64{0, 30000, 60000, 65546}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var u Unwrapper16
			got := make([]int64, 0, len(tc.in))
			for _, s := range tc.in {
				p := u.Peek(s)
				v := u.Unwrap(s)
				assert.Equal(t, p, v, "Peek agrees with Unwrap")
				got = append(got, v)
			}
			assert.Equal(t, tc.want, got)
		})
	}
}

func TestUnwrapper32(t *testing.T) {
	cases := []struct {
		name string
		in   []uint32
		want []int64
	}{
		{"in order", []uint32{0, 960, 1920}, []int64{0, 960, 1920}},
		{"wrap", []uint32{0xFFFFFC40, 0, 960}, []int64{0xFFFFFC40, 1 << 32, 1<<32 + 960}},
		{"reordered across wrap", []uint32{0xFFFFFC40, 960, 0}, []int64{0xFFFFFC40, 1<<32 + 960, 1 << 32}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var u Unwrapper32
			got := make([]int64, 0, len(tc.in))
			for _, s := range tc.in {
				got = append(got, u.Unwrap(s))
			}
			assert.Equal(t, tc.want, got)
		})
	}
}

func TestResetTo(t *testing.T) {
	var u Unwrapper16
	u.ResetTo(1_000_000)
	assert.Equal(t, int64(1_000_000), u.Unwrap(uint16(1_000_000%65536)))
	assert.Equal(t, int64(1_000_001), u.Unwrap(uint16(1_000_001%65536)))
	u.ResetTo(-3)
	assert.Equal(t, int64(-2), u.Unwrap(65534))

	var w Unwrapper32
	w.ResetTo(1 << 40)
	assert.Equal(t, int64(1<<40+960), w.Unwrap(960))
	w.Reset()
	_, ok := w.Last()
	assert.False(t, ok)
}

func TestUnwrapAllocs(t *testing.T) {
	var u Unwrapper16
	var w Unwrapper32
	s, ts := uint16(0), uint32(0)
	allocs := testing.AllocsPerRun(1000, func() {
		s++
		ts += 960
		_ = u.Unwrap(s)
		_ = w.Unwrap(ts)
	})
	require.Zero(t, allocs)
}

// FuzzUnwrap16 feeds arbitrary sequences and checks the invariants every
// caller relies on: the low bits survive, and each value lies within half a
// circle of the newest value seen before it.
func FuzzUnwrap16(f *testing.F) {
	f.Add([]byte{0xff, 0xfe, 0xff, 0xff, 0x00, 0x00, 0x00, 0x01})
	f.Add([]byte{0x00, 0x01, 0x80, 0x00, 0x00, 0x02})
	f.Fuzz(func(t *testing.T, data []byte) {
		var u Unwrapper16
		var w Unwrapper32
		for i := 0; i+1 < len(data); i += 2 {
			s := uint16(data[i])<<8 | uint16(data[i+1])
			last, ok := u.Last()
			v := u.Unwrap(s)
			if uint16(v) != s {
				t.Fatalf("low bits lost: %d -> %d", s, v)
			}
			if ok && (v-last > 32767 || v-last < -32768) {
				t.Fatalf("%d placed %d from reference %d", s, v-last, last)
			}
			ts := uint32(s) * 65599
			x := w.Unwrap(ts)
			if uint32(x) != ts {
				t.Fatalf("timestamp low bits lost: %d -> %d", ts, x)
			}
		}
	})
}
