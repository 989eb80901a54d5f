// Package record writes audio to files: 16-bit PCM to WAV, PCM encoded to
// Ogg/Opus, and Opus packets (a participant's leg, untranscoded) to
// Ogg/Opus, on a goroutine of its own, with gaps kept as silence so that
// the files follow the clock they were fed by.
//
// # Writers
//
// [WAVWriter], [OggOpusWriter] and [OggOpusPacketWriter] write one file
// each from one goroutine, synchronously:
//
//   - WAV: mono or stereo, 8 to 48 kHz. The header's sizes are brought up
//     to date every second of audio (WAVConfig.PatchInterval) on an
//     *os.File or any io.WriterAt or io.WriteSeeker, so that a recording
//     whose process dies reads as a valid file of all but its last second;
//     on a stream that cannot seek they say "unknown" (0xFFFFFFFF) and
//     readers read to the end. Past 4 GiB the file becomes RF64.
//   - Ogg/Opus (RFC 7845 over RFC 3533) from PCM at 8, 12, 16, 24 or
//     48 kHz, through libopus: OpusHead with the encoder's delay as
//     pre-skip, the input rate and channel mapping 0; OpusTags with vendor
//     "rtpmix"; granule positions in 48 kHz samples, pre-skip included; a
//     page every second (OggOpusConfig.PageDuration); the last page marked
//     EOS and end-trimmed, so the file decodes to exactly the samples
//     written. Digital silence after the encoder has gone quiet is written
//     as 3-byte Opus silence frames without encoding.
//   - Ogg/Opus from Opus packets: each packet's duration is read from its
//     framing, malformed packets are refused, gaps become silence frames.
//     No codec is needed, so this works without cgo.
//
// Encoding needs the Opus codec from package codec's registry, as the
// mixer does: import _ "github.com/rtpmix/rtpmix/codec/opus" (cgo and
// libopus). Without cgo, NewOggOpusWriter returns an error wrapping
// codec.ErrUnsupported, and WAV and packet recording still work. This
// package never imports codec/opus itself, so importing it does not bring
// cgo into a build.
//
// # Recorders
//
// A [Recorder] (PCM) or [PacketRecorder] (Opus packets) puts a bounded
// queue, allocated once, between the goroutine that feeds it and a writer
// goroutine of its own, so that a slow or stalled disk never holds up the
// feeder — the application goroutine draining a mixer output, never the
// mixer's tick. Write copies the frame and returns without allocating or
// blocking; when the queue is full the frame is dropped and counted
// (ErrQueueFull, Stats.Dropped) and its time becomes silence. Errors of the
// writer goroutine (a full disk) are reported by Err, by later Writes and
// by Close, never by a panic.
//
// Every frame carries the media time of its first sample, on the feeder's
// clock, and Config.Start says which time is the file's beginning. A frame
// lands where its stamp says: within half a frame of where the file ends
// it is appended as is (stamps that jitter cost nothing), further on the
// gap is written as silence first (packet loss, DTX, a late join, a
// dropped frame), further back its overlap is cut. WriteSilence extends a
// file to a time, and Close pads it to the latest stamp offered. So a
// file's length matches the time it was fed over within half a frame, and
// the files of several participants started with one Start line up
// sample for sample. A stamp more than Config.MaxGap (12 hours) past the
// end is refused, so that a clock that jumps cannot fill the disk with
// silence.
//
//	w, err := record.NewWAVWriter(file, record.Format{SampleRate: 48000, Channels: 1}, record.WAVConfig{})
//	rec, err := record.NewRecorder(w, record.Config{Start: now, Closer: file})
//	...
//	rec.Write(mediaTime, pcm) // from the goroutine draining the mix, every frame
//	...
//	err = rec.Close()
//
// [Create] and [CreatePackets] do the same for a path, choosing the
// container by its extension.
//
// # Cost
//
// Measured on a shared 2-core AMD EPYC machine, per recorded second of
// 48 kHz mono speech, CPU time (go test -bench RoomSecond ./record):
//
//	WAV writer                                   0.03 ms   (0.003 % of a core)
//	whole WAV Recorder (feeder, queue, goroutine) 0.05 ms
//	Ogg/Opus, libopus defaults                   8.6 ms    (0.9 %)
//	Ogg/Opus, 32 kbit/s, complexity 5            4.6 ms    (0.5 %)
//	Ogg/Opus of digital silence                  0.02 ms
//	Ogg/Opus of packets (no transcoding)         0.01 ms
//
// The feeder pays a copy of its frame into the queue and a few atomic
// operations, 90–300 ns per 20 ms frame (BenchmarkWrite), and allocates
// nothing; the writers allocate nothing per frame once their first page
// is out. So recording a room's mix costs what one Opus encode a frame
// costs, recording every leg of a room as it came costs next to nothing,
// and transcoding every leg costs one encoder per leg.
//
// # Concurrency
//
// The writers are used by one goroutine at a time. A recorder's Write and
// WriteSilence are called by one goroutine at a time (the feeder); its
// Close, Flush, Err and Stats are safe from any goroutine.
package record
