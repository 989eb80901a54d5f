package record

import (
	"fmt"
	"math"
	"slices"
	"time"
)

// Format is the PCM a writer or recorder takes: signed 16-bit samples in
// host order, interleaved when there are two channels, at SampleRate.
type Format struct {
	SampleRate int // Hz
	Channels   int // 1 or 2
}

// The rates each container takes: WAV any the project's PCM runs at,
// Opus what libopus encodes natively.
var (
	wavRates  = []int{8000, 12000, 16000, 24000, 32000, 44100, 48000}
	opusRates = []int{8000, 12000, 16000, 24000, 48000}
)

func (f Format) String() string {
	return fmt.Sprintf("%d Hz × %d", f.SampleRate, f.Channels)
}

func (f Format) check(rates []int, what string) error {
	if f.Channels != 1 && f.Channels != 2 {
		return configf("%s: %d channels, want 1 or 2", what, f.Channels)
	}
	if !slices.Contains(rates, f.SampleRate) {
		return configf("%s: sample rate %d Hz, want one of %v", what, f.SampleRate, rates)
	}
	return nil
}

// samplesIn returns the samples (per channel) in d at rate, rounded to the
// nearest, without the overflow of d*rate past 53 hours at 48 kHz.
func samplesIn(d time.Duration, rate int) int64 {
	if d < 0 {
		if d == math.MinInt64 { // whose negation is itself
			d++
		}
		return -samplesIn(-d, rate)
	}
	s, ns := int64(d/time.Second), int64(d%time.Second)
	return s*int64(rate) + (ns*int64(rate)+int64(time.Second)/2)/int64(time.Second)
}

// durationOf is the inverse of samplesIn.
func durationOf(samples int64, rate int) time.Duration {
	if samples < 0 {
		return -durationOf(-samples, rate)
	}
	s, r := samples/int64(rate), samples%int64(rate)
	return time.Duration(s)*time.Second + time.Duration(r*int64(time.Second)/int64(rate))
}
