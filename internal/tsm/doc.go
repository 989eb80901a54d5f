// Package tsm changes the duration of decoded speech without changing its
// pitch, a few milliseconds at a time and inaudibly, so that a jitter
// buffer can move its playout delay towards its target while a participant
// talks instead of choosing between dropping a whole frame and living with
// the excess. It is what WebRTC NetEq calls accelerate and preemptive
// expand, in pure Go, for mono 16-bit PCM at 8, 16, 24, 32 and 48 kHz.
//
// # The FIFO
//
// A [FIFO] is one stream's queue of decoded PCM, the one a mixer keeps per
// participant between its decoder and its tick. The caller writes decoded
// frames (or zeros for gaps), reads one tick's worth at a time, and in
// between may ask it to shorten or lengthen the pending audio:
//
//	f.Write(decoded)               // or decode into f.AvailableBuffer()
//	removed := f.Shorten(n)        // jitter buffer: excess delay, up to n samples
//	inserted := f.Lengthen(n)      // jitter buffer: short of target, up to n samples
//	f.Read(tick)
//
// The FIFO keeps the last 30 ms it gave out as history: the pitch search
// compares the newest audio with its own past across that boundary, and a
// lengthening may repeat a period that was already played. So a change
// needs little or no lookahead beyond the frame being played.
//
// # The contract
//
// Shorten(n) removes, and Lengthen(n) inserts, between 0 and n samples
// (Lengthen never beyond Cap) and returns exactly how many; Len changes by
// exactly that. Zero is a normal answer: the FIFO declines rather than make
// an audible change. The jitter buffer accounts for exactly the returned
// count and asks again on a later tick. A change is one of:
//
//   - A silent splice: inside a run of 2.5 ms blocks whose energy is within
//     9 dB of the stream's background (estimated by minimum statistics
//     over the last 1.6 s, between -75 and -40 dBFS) or below -60 dBFS,
//     any amount up to n is cut or repeated, crossfaded over 2.5 ms and
//     centred in the run, away from the speech on either side.
//   - A pitch splice: in voiced audio, exactly one lag P between 2.5 and
//     15 ms (one pitch period, or a multiple for high voices) with P ≤ n,
//     chosen by normalised cross-correlation on a 4 kHz copy and refined at
//     the full rate. The newest samples of the pending audio are
//     crossfaded with those P earlier, over min(P, what fits) samples, and
//     only when those two segments correlate at 0.9 or better and their
//     energies are within 6 dB (no onsets, decays or transients doubled or
//     lost).
//
// A crossfade begins on the samples that continue the audio before it and
// ends on those that lead into the audio after it, so a splice adds no
// step; it writes only convex combinations of two input samples, so it
// cannot overflow. History is never modified.
//
// What a caller should know when sizing requests:
//
//   - A pitch splice changes a whole period: a request smaller than the
//     talker's period (12.5 ms for an 80 Hz voice) is declined until a
//     pause. Ask for up to the whole excess (or shortfall) rather than a
//     fixed small step; 15 ms admits every voice. The pace is the caller's:
//     at most one splice per call, one call per tick.
//   - Shortening voiced audio by P needs 1.5·P pending samples (the
//     removed period plus a fade of at least P/2): a 20 ms frame admits
//     periods up to 13.3 ms, a 10 ms frame up to 6.7 ms. A buffer in
//     excess can afford to decode one frame ahead before asking.
//     Lengthening needs P/2 pending and enough history; after the first
//     30 ms of a stream it is always there.
//   - Digital zeros written with WriteZeros, and blocks below -75 dBFS,
//     do not move the background estimate; Reset forgets it along with
//     the history, for a new stream.
//
// # Cost
//
// All buffers are allocated by New: (30 ms + Capacity + 60 ms) of int16,
// 26 KB at 48 kHz with the default 180 ms Capacity, 4.3 KB at 8 kHz. No
// method allocates. Write costs one SIMD energy pass over the samples (the
// background estimate) plus a copy, Read a copy; every few ticks the
// contents move back to the front of the array. A Shorten or Lengthen call
// costs one energy pass over pending audio and history (the silence
// decision) and, when no silence satisfies it, the pitch search: block
// sums of the last 25 ms to 4 kHz, 51 lags × 40 products at 4 kHz, 3 to 5
// correlations of the segments at the full rate, and the crossfade.
//
// Measured as thread CPU time on the project's shared 2-core machine
// (go test -bench 'Frame|Change' ./internal/tsm, three runs interleaved
// with codec/opus's BenchmarkDecode): writing and reading a 20 ms frame
// costs 0.10–0.12 µs at 16 kHz and 0.16 µs at 48 kHz; a pitch splice
// 1.9–2.3 µs at 16 kHz and 3.6–4.1 µs at 48 kHz; a silent splice
// 0.2–0.3 µs; a search that declines 1.2–1.7 µs. A speaker asked for a
// change on every 20 ms frame costs 1.3–1.5 µs a frame at 16 kHz and
// 2.0–2.1 µs at 48 kHz, where Opus decodes that frame in 14 µs at 16 kHz
// and 29–31 µs at 48 kHz: about 7 % of the decode at 48 kHz and 10 % at
// 16 kHz, and only for the speakers whose delay is being moved.
//
// # Concurrency
//
// A FIFO is not safe for concurrent use: one goroutine at a time (the
// conference tick that owns the participant) calls its methods. Distinct
// FIFOs share nothing.
package tsm
