package cputime

import (
	"runtime"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

var sink uint64 // keeps spin's work

// spin burns CPU for about d of wall time.
func spin(d time.Duration) (x uint64) {
	for end := time.Now().Add(d); time.Now().Before(end); {
		for i := range 10000 {
			x += uint64(i) * x
		}
	}
	return x
}

func TestClocksAdvance(t *testing.T) {
	if !Available {
		assert.Zero(t, Thread())
		assert.Zero(t, Process())
		t.Skip("no CPU clocks on this OS")
	}
	runtime.LockOSThread() // else the goroutine may move to another thread between the readings
	defer runtime.UnlockOSThread()
	// The process's readings enclose the thread's.
	p0 := Process()
	t0 := Thread()
	sink = spin(20 * time.Millisecond)
	t1 := Thread()
	p1 := Process()
	assert.Positive(t, t0)
	assert.Greater(t, t1, t0, "the thread's clock moves while it works")
	assert.GreaterOrEqual(t, p1-p0, t1-t0, "the process's work includes this thread's")
	assert.Less(t, t1-t0, time.Second, "CPU time, not a unit mix-up")
}

func BenchmarkBench(b *testing.B) {
	stop := Bench(b)
	var x uint64
	for b.Loop() {
		x += spin(time.Microsecond)
	}
	d := stop()
	if Available && d <= 0 {
		b.Fatalf("thread CPU time %v over %d loops", d, b.N)
	}
	b.ReportMetric(float64(d.Nanoseconds())/float64(b.N), "cpu-ns/op")
}
