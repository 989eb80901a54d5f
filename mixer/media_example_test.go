package mixer_test

import (
	"context"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"time"

	"github.com/rtpmix/rtpmix/codec/g711"
	"github.com/rtpmix/rtpmix/mixer"
	"github.com/rtpmix/rtpmix/record"
)

// Play a prompt into a room and record the room's mix to a WAV file, in
// virtual time. A real application ticks through an Engine and writes
// from its own goroutine (Write waits for the tick to play room).
func ExampleConference_AddSource() {
	conf, _ := mixer.NewConference(mixer.ConferenceConfig{SampleRate: 16000})
	_, _ = conf.Join(mixer.ParticipantConfig{ID: "caller", In: g711.PCMU, Out: g711.PCMU,
		Sink: mixer.SinkFunc(func([]byte) error { return nil })})
	conf.Tick(0)

	dir, _ := os.MkdirTemp("", "example")
	defer os.RemoveAll(dir)
	rec, err := record.Create(filepath.Join(dir, "room.wav"), record.Format{SampleRate: 16000, Channels: 1},
		record.FileConfig{Config: record.Config{Start: conf.MediaTime()}})
	if err != nil {
		panic(err)
	}
	tap, _ := conf.AddTap(mixer.TapConfig{Kind: mixer.TapMix, SampleRate: 16000, Writer: rec})

	// Half a second of a 1 kHz prompt at 8 kHz, written faster than real
	// time: it waits in the source's buffer.
	prompt := make([]int16, 4000)
	for i := range prompt {
		prompt[i] = int16(6000 * math.Sin(2*math.Pi*1000*float64(i)/8000))
	}
	src, _ := conf.AddSource(mixer.SourceConfig{ID: "prompt", SampleRate: 8000})
	if _, err := src.TryWrite(prompt); err != nil {
		panic(err)
	}
	now := 20 * time.Millisecond
	for ; src.Stats().Queued > 0; now += 20 * time.Millisecond {
		conf.Tick(now)
	}
	_ = src.Wait(context.Background()) // played: returns at once
	src.Close()
	tap.Close()
	conf.Tick(now)
	<-tap.Done()
	_ = rec.WriteSilence(tap.Stats().End)
	if err := rec.Close(); err != nil {
		panic(err)
	}
	fi, _ := os.Stat(filepath.Join(dir, "room.wav"))
	fmt.Println("played:", src.Stats().Played)
	fmt.Println("recorded:", tap.Stats().End-tap.Stats().First)
	fmt.Println("WAV bytes:", fi.Size()) // an 80-byte header (room for RF64) + 2 bytes a sample
	// Output:
	// played: 500ms
	// recorded: 500ms
	// WAV bytes: 16080
}
