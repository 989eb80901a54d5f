package mixer

import (
	"bytes"
	"context"
	"encoding/binary"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/rtpmix/rtpmix/internal/mediatest"
	"github.com/rtpmix/rtpmix/record"
)

// ffTool runs ffmpeg or ffprobe and returns its standard output.
func ffTool(t testing.TB, name string, args ...string) []byte {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.WaitDelay = 2 * time.Second
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	require.NoError(t, cmd.Run(), "%s %s\n%s", name, strings.Join(args, " "), stderr.String())
	return stdout.Bytes()
}

// ffDecode has ffmpeg decode a file to 48 kHz mono PCM.
func ffDecode(t testing.TB, ffmpeg, path string) []int16 {
	out := ffTool(t, ffmpeg, "-hide_banner", "-nostdin", "-loglevel", "error", "-i", path,
		"-f", "s16le", "-ac", "1", "-ar", "48000", "-")
	pcm := make([]int16, len(out)/2)
	for i := range pcm {
		pcm[i] = int16(binary.LittleEndian.Uint16(out[2*i:]))
	}
	return pcm
}

func ffprobeDuration(t testing.TB, ffprobe, path string) time.Duration {
	out := ffTool(t, ffprobe, "-v", "error", "-select_streams", "a:0",
		"-show_entries", "stream=duration", "-of", "default=nw=1:nk=1", path)
	d, err := strconv.ParseFloat(strings.TrimSpace(string(out)), 64)
	require.NoError(t, err, "ffprobe said %q", out)
	return time.Duration(d * float64(time.Second))
}

// A conference recorded end to end in virtual time: the room's mix to WAV
// and Ogg/Opus, each participant's inbound leg to WAV (one joining late,
// one losing a second of packets) and one Opus leg's packets untranscoded.
// ffmpeg decodes every file, each lasts as long as the conference was
// recorded within one frame, and the tracks line up.
func TestRecordConferenceEndToEnd(t *testing.T) {
	ffmpeg := mediatest.FFmpeg(t)
	ffprobe := filepath.Join(filepath.Dir(ffmpeg), "ffprobe")
	if _, err := os.Stat(ffprobe); err != nil {
		t.Skip("no ffprobe beside ffmpeg")
	}
	dir := t.TempDir()
	c := newMediaConf(t, ConferenceConfig{Name: "rec"})
	alice := newClient(t, c, clientSpec{id: "alice", format: opf, pt: 111, src: loadClip(t, "alice")})
	bob := newClient(t, c, clientSpec{id: "bob", format: pcmu, pt: 0, src: loadClip(t, "bob")})
	clients := []*client{alice, bob}
	for _, cl := range clients {
		cl.keep = false
	}
	now := run(c, clients, 0, 20*time.Millisecond, nil)

	start := c.MediaTime()
	require.Equal(t, now, start)
	rcfg := record.FileConfig{Config: record.Config{Start: start, Queue: 20 * time.Second}}
	f48 := record.Format{SampleRate: 48000, Channels: 1}
	type rec struct {
		name string
		r    interface {
			WriteSilence(time.Duration) error
			Close() error
			Stats() record.Stats
		}
		tap *Tap
	}
	var recs []rec
	pcmRec := func(name string, tc TapConfig) {
		r, err := record.Create(filepath.Join(dir, name), record.Format{SampleRate: tc.SampleRate, Channels: 1}, rcfg)
		require.NoError(t, err)
		tc.Writer = r
		tap, err := c.AddTap(tc)
		require.NoError(t, err)
		recs = append(recs, rec{name, r, tap})
	}
	pcmRec("mix.wav", TapConfig{Kind: TapMix, SampleRate: 48000})
	pcmRec("mix.opus", TapConfig{Kind: TapMix, SampleRate: 48000})
	pcmRec("alice.wav", TapConfig{Kind: TapInbound, Participant: "alice", SampleRate: 16000})
	pcmRec("bob.wav", TapConfig{Kind: TapInbound, Participant: "bob", SampleRate: 8000})
	pr, err := record.CreatePackets(filepath.Join(dir, "alice-packets.opus"), f48, rcfg)
	require.NoError(t, err)
	ptap, err := c.AddTap(TapConfig{Kind: TapInboundPackets, Participant: "alice", PacketWriter: pr})
	require.NoError(t, err)
	recs = append(recs, rec{"alice-packets.opus", pr, ptap})

	// bob loses every packet from 2 to 3 s; carol joins at 2 s.
	lost := func(cl *client, i int) bool { return cl == bob && i >= 99 && i < 149 }
	now = run(c, clients, now, 2*time.Second-20*time.Millisecond, lost)
	require.Equal(t, 2*time.Second, now)
	carol := newClient(t, c, clientSpec{id: "carol", format: opf, pt: 111, src: loadClip(t, "carol")})
	carol.keep = false
	clients = append(clients, carol)
	pcmRec("carol.wav", TapConfig{Kind: TapInbound, Participant: "carol", SampleRate: 16000})
	now = run(c, clients, now, 4*time.Second, func(cl *client, i int) bool { return lost(cl, i+100) })
	require.Equal(t, 6*time.Second, now)

	var end time.Duration
	for _, r := range recs {
		r.tap.Close()
	}
	c.Tick(now)
	for _, r := range recs {
		<-r.tap.Done()
		if r.tap != ptap {
			end = max(end, r.tap.Stats().End)
		}
	}
	require.Equal(t, 6*time.Second, end, "the PCM taps took every tick from 20 ms to 6 s")
	// A packet is stamped where its audio is mixed, which the decoded
	// audio carried over from the tick before may shift by a little.
	assert.InDelta(t, float64(end), float64(ptap.Stats().End), float64(20*time.Millisecond))
	for _, r := range recs {
		require.NoError(t, r.r.WriteSilence(end), r.name)
		require.NoError(t, r.r.Close(), r.name)
		st := r.r.Stats()
		assert.Zero(t, st.Dropped, r.name)
		assert.Zero(t, st.Refused, r.name)
	}

	want := int((end - start) * 48000 / time.Second) // 5.98 s
	const frame = 960
	tracks := map[string][]int16{}
	for _, r := range recs {
		pcm := ffDecode(t, ffmpeg, filepath.Join(dir, r.name))
		assert.InDelta(t, want, len(pcm), frame, "%s: %d samples decoded, want %d", r.name, len(pcm), want)
		d := ffprobeDuration(t, ffprobe, filepath.Join(dir, r.name))
		assert.InDelta(t, float64(end-start), float64(d), float64(20*time.Millisecond), "%s: ffprobe says %v", r.name, d)
		tracks[r.name] = pcm
	}

	// The tracks line up: carol's leg is silent until she joined (1.98 s
	// into the files), then speaks; bob's lost second is quiet in his leg.
	at := func(d time.Duration) int { return int((d - start) * 48000 / time.Second) }
	carolTrack := tracks["carol.wav"]
	assert.Zero(t, rms(carolTrack[:at(2*time.Second)]), "carol's leg before she joined")
	assert.Greater(t, rms(carolTrack[at(2500*time.Millisecond):at(5*time.Second)]), 300.0)
	bobTrack := tracks["bob.wav"]
	assert.Greater(t, rms(bobTrack[at(time.Second):at(2*time.Second)]), 300.0)
	assert.Less(t, rms(bobTrack[at(2300*time.Millisecond):at(2900*time.Millisecond)]), rms(bobTrack[at(time.Second):at(2*time.Second)])/100,
		"bob's lost second is (nearly) silent after concealment fades")
	// The mix is speech throughout; its WAV and Opus files agree in level.
	mw, mo := tracks["mix.wav"], tracks["mix.opus"]
	assert.Greater(t, rms(mw[at(time.Second):at(5*time.Second)]), 300.0)
	assert.InEpsilon(t, rms(mw[at(time.Second):at(5*time.Second)]), rms(mo[at(time.Second):at(5*time.Second)]), 0.5)
	// alice's leg as PCM and as her own packets decode alike.
	aw, ap := tracks["alice.wav"], tracks["alice-packets.opus"]
	assert.InEpsilon(t, rms(aw[at(time.Second):at(5*time.Second)]), rms(ap[at(time.Second):at(5*time.Second)]), 0.5)
}
