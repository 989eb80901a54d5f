package record

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestQueueEdges(t *testing.T) {
	q := newQueue[int16](3, 16) // 4 items, 16 samples
	data := func(n int, v int16) []int16 {
		d := make([]int16, n)
		for i := range d {
			d[i] = v
		}
		return d
	}
	require.True(t, q.push(itemFrame, 0, 6, data(6, 1)))
	require.True(t, q.push(itemFrame, 6, 6, data(6, 2)))
	assert.False(t, q.push(itemFrame, 12, 6, data(6, 3)), "6 more do not fit in 16 with 12 used")
	require.True(t, q.push(itemSilence, 99, 0, nil), "an item without data fits")

	it, d, ok := q.peek()
	require.True(t, ok)
	assert.Equal(t, data(6, 1), d)
	q.pop(it)
	// 10 free in all but only 4 at the end: the next item skips the tail
	// and starts at 0, where the first item was.
	require.True(t, q.push(itemFrame, 12, 6, data(6, 3)))
	assert.False(t, q.push(itemFrame, 18, 1, data(1, 4)), "four items queued")

	for _, want := range []struct {
		pos  int64
		data []int16
	}{{6, data(6, 2)}, {99, []int16{}}, {12, data(6, 3)}} {
		it, d, ok := q.peek()
		require.True(t, ok)
		assert.Equal(t, want.pos, it.pos)
		assert.Equal(t, want.data, d)
		q.pop(it)
	}
	_, _, ok = q.peek()
	assert.False(t, ok)
	require.True(t, q.push(itemFrame, 0, 16, data(16, 5)), "the whole ring, once empty")
}

// TestQueueConcurrent: a producer and a consumer goroutine, frames of
// varying sizes through a small ring; every frame that went in comes out,
// in order and intact. Run it with -race.
func TestQueueConcurrent(t *testing.T) {
	q := newQueue[int16](8, 64)
	const n = 20000
	accepted := make(chan int64, n)
	go func() {
		buf := make([]int16, 40)
		for i := range int64(n) {
			size := 1 + int(i%40)
			for j := range size {
				buf[j] = int16(i) + int16(j)
			}
			if q.push(itemFrame, i, int64(size), buf[:size]) {
				accepted <- i
			}
		}
		close(accepted)
	}()
	got := 0
	for want := range accepted {
		var it item
		var d []int16
		for {
			var ok bool
			if it, d, ok = q.peek(); ok {
				break
			}
		}
		require.Equal(t, want, it.pos)
		require.Len(t, d, 1+int(want%40))
		for j, v := range d {
			require.Equal(t, int16(want)+int16(j), v)
		}
		q.pop(it)
		got++
	}
	t.Logf("%d of %d frames went through", got, n)
	assert.NotZero(t, got)
}
