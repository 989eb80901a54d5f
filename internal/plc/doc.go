// Package plc is the packet-loss concealment that codec/g711 (8 kHz) and
// codec/g722 (16 kHz) share: the waveform substitution of ITU-T G.711
// Appendix I, run at either rate on the decoder's output.
//
// When audio is lost, a [Concealer] estimates the pitch period of the last
// output and plays the last period(s) again, with overlap-adds wherever two
// waveforms meet, and attenuates the longer the loss lasts: full level for
// 10 ms, -20 % per 10 ms after that, silence from 60 ms. Every length in
// the scheme is in milliseconds, so at 16 kHz it spans twice the samples it
// does at 8 kHz; the pitch search is the same search on a 4 kHz view of the
// signal at both rates.
//
// Where this differs from Appendix I's reference code, and why:
//   - Appendix I delays its output by 3.75 ms so that, when a loss begins,
//     it can still rewrite the last quarter period it has not yet played.
//     The decoders here return exactly what they decoded, with no delay
//     (callers compare against it, and latency matters more), so the join
//     at the start of a loss is smoothed instead by fading out the step
//     between the last real sample and the repeated waveform over a quarter
//     period, and the first samples after a loss are cross-faded from the
//     concealment into the decoded signal.
//   - Appendix I works in 10 ms frames; [Concealer.Conceal] takes any
//     number of samples, so the schedule (more periods at 10 and 20 ms,
//     attenuation from 10 ms, silence at 60 ms, longer fade-in after
//     longer losses) runs per sample.
//
// Cost: a Concealer is about 5 KiB, held by value in its decoder, and
// allocates nothing. Recording decoded audio is a copy into a ring; the
// first lost sample of a loss runs the pitch search (a few µs), every
// concealed sample after it a handful of multiply-adds.
package plc
