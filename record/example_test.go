package record_test

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/rtpmix/rtpmix/record"
)

// Record a room's mix to WAV from the goroutine that drains it: frames
// carry the room's media time, so a stretch where no frame came (here
// half a second) is silence in the file, and the file lasts as long as
// the room did.
func ExampleCreate() {
	dir, err := os.MkdirTemp("", "record")
	if err != nil {
		panic(err)
	}
	defer os.RemoveAll(dir)

	// A real mix comes at 50 frames a second; this example feeds its 3 s
	// at once, so its queue must hold them all.
	cfg := record.FileConfig{Config: record.Config{Queue: 3 * time.Second}}
	rec, err := record.Create(filepath.Join(dir, "room.wav"),
		record.Format{SampleRate: 16000, Channels: 1}, cfg)
	if err != nil {
		panic(err)
	}
	frame := make([]int16, 320) // 20 ms of the mix
	for t := time.Duration(0); t < 3*time.Second; t += 20 * time.Millisecond {
		if t >= time.Second && t < 1500*time.Millisecond {
			continue // nothing came
		}
		if err := rec.Write(t, frame); err != nil {
			fmt.Println(err) // ErrQueueFull: dropped, counted, kept as silence
		}
	}
	if err := rec.Close(); err != nil {
		panic(err)
	}
	st := rec.Stats()
	fmt.Printf("%v written: %d frames, %d gap of %v\n", st.Written, st.Frames, st.Gaps, st.Silence)
	info, _ := os.Stat(filepath.Join(dir, "room.wav"))
	fmt.Println(info.Size(), "bytes")
	// Output:
	// 3s written: 125 frames, 1 gap of 500ms
	// 96080 bytes
}

// Several participants recorded with one Start line up: Bob, who joined
// two seconds in, gets two seconds of silence first, and WriteSilence
// takes both files to the room's end.
func ExampleRecorder() {
	f := record.Format{SampleRate: 8000, Channels: 1}
	start := 42 * time.Second // the room's clock when recording began
	var files [2]bytes.Buffer
	var recs [2]*record.Recorder
	for i := range recs {
		w, err := record.NewWAVWriter(&files[i], f, record.WAVConfig{})
		if err != nil {
			panic(err)
		}
		// Queue: 4 s because the example feeds 4 s at once.
		if recs[i], err = record.NewRecorder(w, record.Config{Start: start, Queue: 4 * time.Second}); err != nil {
			panic(err)
		}
	}
	frame := make([]int16, 160)
	for t := start; t < start+4*time.Second; t += 20 * time.Millisecond {
		_ = recs[0].Write(t, frame) // Alice, from the start
		if t >= start+2*time.Second {
			_ = recs[1].Write(t, frame) // Bob, from 2 s on
		}
	}
	for _, r := range recs {
		_ = r.WriteSilence(start + 5*time.Second) // the room ended at 5 s
		_ = r.Close()
		st := r.Stats()
		fmt.Printf("%v long, %v of it silence\n", st.Written, st.Silence)
	}
	// Output:
	// 5s long, 1s of it silence
	// 5s long, 3s of it silence
}

// A participant's Opus leg, recorded as it came, needs no codec (and no
// cgo): packet durations come from their framing.
func ExampleOggOpusPacketWriter() {
	var file bytes.Buffer
	w, err := record.NewOggOpusPacketWriter(&file, record.Format{SampleRate: 48000, Channels: 1}, record.OggOpusConfig{})
	if err != nil {
		panic(err)
	}
	packet := []byte{0xF8, 0xFF, 0xFE} // 20 ms of CELT (here: silence)
	for range 50 {
		if err := w.WritePacket(packet); err != nil {
			panic(err)
		}
	}
	_ = w.WriteSilence(24000) // half a second that never came
	fmt.Println(w.WritePacket([]byte{0x03, 0x00}))
	fmt.Printf("%.1f s\n", float64(w.Position())/48000)
	if err := w.Close(); err != nil {
		panic(err)
	}
	// Output:
	// record: bad frame: codec: corrupt payload: opus: code 3 packet with 0 frames
	// 1.5 s
}
