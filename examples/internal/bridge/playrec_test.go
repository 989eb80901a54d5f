package bridge

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/rtpmix/rtpmix/codec"
	"github.com/rtpmix/rtpmix/examples/internal/rtpclient"
	"github.com/rtpmix/rtpmix/internal/mediatest"
	"github.com/rtpmix/rtpmix/internal/wav"
)

// writeTone writes a WAV file of a tone at freq for d, at rate.
func writeTone(t testing.TB, path string, rate int, freq float64, d time.Duration) {
	t.Helper()
	n := int(int64(rate) * int64(d) / int64(time.Second))
	require.NoError(t, wav.WriteFile(path, &wav.Audio{SampleRate: rate, Channels: 1, Samples: rtpclient.Tone(freq, -12, rate, n)}))
}

// maxShare is the largest share of freq in any window of x.
func maxShare(x []int16, rate int, freq float64, win time.Duration) float64 {
	w := int(int64(rate) * int64(win) / int64(time.Second))
	best := 0.0
	for i := 0; i+w <= len(x); i += w / 4 {
		best = max(best, mediatest.ToneShare(x[i:i+w], rate, freq))
	}
	return best
}

func postJSON(t *testing.T, s *Server, path string, v any) (int, []byte) {
	t.Helper()
	b, err := json.Marshal(v)
	require.NoError(t, err)
	code, body, _ := call(t, s, "POST", path, "application/json", b)
	return code, body
}

// No name the API takes reaches outside the media directory: not "..",
// not an absolute path, not a symlink (to a file or a directory) that
// leads out, not a name with a NUL or a backslash; recordings never
// overwrite, nor write through a symlink planted at their name.
func TestMediaPathsConfined(t *testing.T) {
	top := t.TempDir()
	dir := filepath.Join(top, "media")
	require.NoError(t, os.Mkdir(dir, 0o750))
	require.NoError(t, os.Mkdir(filepath.Join(dir, "sub"), 0o750))
	secret := filepath.Join(top, "secret.wav")
	writeTone(t, secret, 8000, 440, 100*time.Millisecond)
	writeTone(t, filepath.Join(dir, "ok.wav"), 8000, 440, 100*time.Millisecond)
	writeTone(t, filepath.Join(dir, "sub", "ok.wav"), 8000, 440, 100*time.Millisecond)
	require.NoError(t, os.Symlink(secret, filepath.Join(dir, "abs-link.wav")))
	require.NoError(t, os.Symlink("../secret.wav", filepath.Join(dir, "rel-link.wav")))
	require.NoError(t, os.Symlink(top, filepath.Join(dir, "out")))
	require.NoError(t, os.Symlink("ok.wav", filepath.Join(dir, "in-link.wav"))) // inside: fine to read

	s := testServer(t, Config{MediaDir: dir})
	mkRoom(t, s, "r")

	bad := []string{
		"../secret.wav", secret, "/etc/passwd.wav", "sub/../../secret.wav", "abs-link.wav", "rel-link.wav",
		"out/secret.wav", "sub/../out/secret.wav", `sub\..\..\secret.wav`, "ok\x00.wav", "", ".", "..",
		strings.Repeat("a", 300) + ".wav", "ok.mp3", "sub", "missing.wav",
	}
	for _, name := range bad {
		code, body := postJSON(t, s, "/rooms/r/play", map[string]any{"file": name})
		assert.Contains(t, []int{http.StatusBadRequest, http.StatusNotFound, http.StatusUnprocessableEntity}, code, "play %q: %s", name, body)
		if !strings.HasPrefix(name, top) {
			assert.NotContains(t, string(body), top, "an error names the server's directory")
		}
	}
	code, _ := postJSON(t, s, "/rooms/r/play", map[string]any{"file": "missing.wav"})
	assert.Equal(t, http.StatusNotFound, code)
	code, _ = postJSON(t, s, "/rooms/r/recordings", map[string]any{"file": "nodir/x.wav"})
	assert.Equal(t, http.StatusNotFound, code)
	code, _ = postJSON(t, s, "/rooms/r/play", map[string]any{"file": "out/secret.wav"})
	assert.Equal(t, http.StatusBadRequest, code, "a symlink out is a bad name")
	for _, name := range []string{"ok.wav", "sub/ok.wav", "in-link.wav"} {
		code, body := postJSON(t, s, "/rooms/r/play", map[string]any{"file": name})
		assert.Equal(t, http.StatusCreated, code, "play %q: %s", name, body)
	}

	badRec := []string{
		"../out.wav", filepath.Join(top, "abs.wav"), "out/escaped.wav", "sub/../../escaped.wav",
		"abs-link.wav", "rel-link.wav", "ok.wav", `sub\..\..\x.wav`, "x.mp3", "nodir/x.wav", "",
	}
	for _, name := range badRec {
		code, body := postJSON(t, s, "/rooms/r/recordings", map[string]any{"file": name})
		assert.Contains(t, []int{http.StatusBadRequest, http.StatusNotFound, http.StatusConflict}, code, "record %q: %s", name, body)
	}
	// Nothing was written outside, and the files inside are untouched.
	ents, err := os.ReadDir(top)
	require.NoError(t, err)
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	assert.ElementsMatch(t, []string{"media", "secret.wav"}, names)
	a, err := wav.ReadFile(secret)
	require.NoError(t, err)
	assert.Len(t, a.Samples, 800)
	a, err = wav.ReadFile(filepath.Join(dir, "ok.wav"))
	require.NoError(t, err)
	assert.Len(t, a.Samples, 800)

	code, body := postJSON(t, s, "/rooms/r/recordings", map[string]any{"file": "sub/fine.opus", "sample_rate": 16000})
	require.Equal(t, http.StatusCreated, code, string(body))
	_, err = os.Stat(filepath.Join(dir, "sub", "fine.opus"))
	require.NoError(t, err)
	code, body = postJSON(t, s, "/rooms/r/recordings", map[string]any{"file": "sub/fine.opus"})
	assert.Equal(t, http.StatusConflict, code, string(body))
	code, body = postJSON(t, s, "/rooms/r/recordings", map[string]any{"file": "x.opus", "sample_rate": 32000})
	assert.Equal(t, http.StatusBadRequest, code, "Opus does not take 32 kHz: %s", body)
	_, err = os.Stat(filepath.Join(dir, "x.opus"))
	assert.True(t, os.IsNotExist(err), "a refused recording leaves no file")
	code, body = postJSON(t, s, "/rooms/r/recordings", map[string]any{"file": "y.wav", "participant": "nobody"})
	assert.Equal(t, http.StatusNotFound, code, string(body))

	// Without a media directory the API is off.
	s2 := testServer(t, Config{})
	mkRoom(t, s2, "r")
	code, _ = postJSON(t, s2, "/rooms/r/play", map[string]any{"file": "ok.wav"})
	assert.Equal(t, http.StatusNotFound, code)
	code, _ = postJSON(t, s2, "/rooms/r/recordings", map[string]any{"file": "ok.wav"})
	assert.Equal(t, http.StatusNotFound, code)
}

// FuzzMediaName: whatever name the API is given, a file it opens is inside
// the media directory.
func FuzzMediaName(f *testing.F) {
	for _, s := range []string{"ok.wav", "../secret.wav", "/etc/passwd", "out/secret.wav", "sub/../ok.wav",
		"a/./b.wav", "link.wav", "ok.wav\x00", "sub//ok.wav", "./ok.wav", "…/ok.wav"} {
		f.Add(s)
	}
	top := f.TempDir()
	dir := filepath.Join(top, "media")
	require.NoError(f, os.MkdirAll(filepath.Join(dir, "sub"), 0o750))
	writeTone(f, filepath.Join(top, "secret.wav"), 8000, 440, 20*time.Millisecond)
	writeTone(f, filepath.Join(dir, "ok.wav"), 8000, 440, 20*time.Millisecond)
	require.NoError(f, os.Symlink(filepath.Join(top, "secret.wav"), filepath.Join(dir, "link.wav")))
	require.NoError(f, os.Symlink(top, filepath.Join(dir, "out")))
	var m mediaAPI
	require.NoError(f, m.init(dir))
	f.Cleanup(m.close)
	f.Fuzz(func(t *testing.T, name string) {
		a, err := m.loadWAV(name)
		if err != nil {
			return
		}
		require.Len(t, a.Samples, 160)
		real, err := filepath.EvalSymlinks(filepath.Join(dir, filepath.FromSlash(name)))
		require.NoError(t, err, "%q opened but does not resolve", name)
		require.True(t, strings.HasPrefix(real, dir+string(filepath.Separator)), "%q resolved to %s", name, real)
	})
}

// decodePCM has ffmpeg decode a file to 48 kHz mono.
func decodePCM(t *testing.T, ffmpeg, path string) []int16 {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, ffmpeg, "-hide_banner", "-nostdin", "-loglevel", "error", "-i", path,
		"-f", "s16le", "-ac", "1", "-ar", "48000", "-").Output()
	require.NoError(t, err, path)
	pcm := make([]int16, len(out)/2)
	for i := range pcm {
		pcm[i] = int16(binary.LittleEndian.Uint16(out[2*i:]))
	}
	return pcm
}

// End to end with real RTP peers: alice talks (a 440 Hz tone from
// rtpclient), a prompt (1 kHz) is played into the room and heard by both,
// a whisper (1.6 kHz) is heard by alice only; the room's mix and alice's
// leg are recorded, and ffmpeg decodes the files to what was said, as
// long as the recordings ran.
func TestPlayAndRecordWithPeers(t *testing.T) {
	ffmpeg := mediatest.FFmpeg(t)
	dir := t.TempDir()
	require.NoError(t, os.Mkdir(filepath.Join(dir, "rec"), 0o750))
	writeTone(t, filepath.Join(dir, "prompt.wav"), 16000, 1000, time.Second)
	writeTone(t, filepath.Join(dir, "whisper.wav"), 48000, 1600, 600*time.Millisecond)

	s := testServer(t, Config{MediaDir: dir, SampleRate: 16000})
	mkRoom(t, s, "r")
	alice := joinPCMU(t, s, "r", "alice")
	bob := joinPCMU(t, s, "r", "bob")
	bob.report(t)

	src, err := rtpclient.NewToneSource(440, -12, 4*time.Second, "PCMU/8000", codec.Config{})
	require.NoError(t, err)
	snd, err := rtpclient.NewSender(alice.conn, alice.bridge, src, rtpclient.SenderConfig{})
	require.NoError(t, err)
	var rcv []*rtpclient.Receiver
	var wg sync.WaitGroup
	for _, p := range []*pcmuPeer{alice, bob} {
		dec, err := codec.NewDecoder("PCMU/8000", codec.Config{})
		require.NoError(t, err)
		r, err := rtpclient.NewReceiver(p.conn, rtpclient.ReceiverConfig{ClockRate: 8000, PayloadType: 0, Decoder: dec})
		require.NoError(t, err)
		rcv = append(rcv, r)
		wg.Add(1)
		go func() { defer wg.Done(); _ = r.Run() }()
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	wg.Add(1)
	go func() { defer wg.Done(); rtpclient.Pace(ctx, 20*time.Millisecond, []*rtpclient.Sender{snd}) }()

	var recs []recordingJSON
	for _, p := range []recordParams{{File: "rec/room.wav"}, {File: "rec/room.opus"}, {File: "rec/alice.wav", Participant: "alice", SampleRate: 16000}} {
		code, body := postJSON(t, s, "/rooms/r/recordings", p)
		require.Equal(t, http.StatusCreated, code, string(body))
		var j recordingJSON
		require.NoError(t, json.Unmarshal(body, &j))
		assert.Equal(t, "recording", j.State)
		recs = append(recs, j)
	}
	eventually(t, 3*time.Second, func() bool { return bob.stats(t, s).Sending && alice.stats(t, s).Sending }, "peers not proven")

	playAll := func(params map[string]any) {
		code, body := postJSON(t, s, "/rooms/r/play", params)
		require.Equal(t, http.StatusCreated, code, string(body))
		var j playJSON
		require.NoError(t, json.Unmarshal(body, &j))
		eventually(t, 10*time.Second, func() bool {
			var list []playJSON
			getJSON(t, s, "/rooms/r/play", &list)
			return len(list) == 0
		}, "%s did not finish", j.File)
	}
	time.Sleep(300 * time.Millisecond) // alice is talking
	playAll(map[string]any{"file": "prompt.wav"})
	playAll(map[string]any{"file": "whisper.wav", "to": "alice"})
	time.Sleep(300 * time.Millisecond)

	// Stop the recordings: each answers once its file is final.
	var got []recordingJSON
	for _, j := range recs {
		code, body, _ := call(t, s, "DELETE", "/rooms/r/recordings/"+j.ID, "", nil)
		require.Equal(t, http.StatusOK, code, string(body))
		var fin recordingJSON
		require.NoError(t, json.Unmarshal(body, &fin))
		assert.Equal(t, "done", fin.State)
		assert.Empty(t, fin.Error)
		got = append(got, fin)
	}
	code, _, _ := call(t, s, "DELETE", "/rooms/r/recordings/"+recs[0].ID, "", nil)
	assert.Equal(t, http.StatusNotFound, code, "a recording read after its end is gone")

	cancel()
	time.Sleep(100 * time.Millisecond)
	_ = alice.conn.SetReadDeadline(time.Now())
	_ = bob.conn.SetReadDeadline(time.Now())
	wg.Wait()

	// What the peers heard: both the prompt, alice alone the whisper, bob
	// alice's voice.
	aliceHeard, bobHeard := rcv[0].Audio(), rcv[1].Audio()
	const win = 300 * time.Millisecond
	assert.Greater(t, maxShare(bobHeard, 8000, 1000, win), 0.3, "bob heard the prompt")
	assert.Greater(t, maxShare(aliceHeard, 8000, 1000, win), 0.3, "alice heard the prompt")
	assert.Greater(t, maxShare(aliceHeard, 8000, 1600, win), 0.3, "alice heard the whisper")
	assert.Less(t, maxShare(bobHeard, 8000, 1600, win), 0.05, "bob did not hear the whisper")
	assert.Greater(t, maxShare(bobHeard, 8000, 440, win), 0.3, "bob heard alice")

	// What was recorded, as ffmpeg decodes it: every file as long as its
	// recording ran, within one frame.
	for _, j := range got {
		pcm := decodePCM(t, ffmpeg, filepath.Join(dir, filepath.FromSlash(j.File)))
		assert.InDelta(t, j.DurationMS*48, len(pcm), 960, "%s: %d samples for %d ms", j.File, len(pcm), j.DurationMS)
		assert.Greater(t, j.DurationMS, int64(2000), j.File)
		switch j.File {
		case "rec/room.wav", "rec/room.opus":
			assert.Greater(t, maxShare(pcm, 48000, 1000, win), 0.3, "%s has the prompt", j.File)
			assert.Greater(t, maxShare(pcm, 48000, 440, win), 0.3, "%s has alice", j.File)
			assert.Less(t, maxShare(pcm, 48000, 1600, win), 0.05, "%s has no whisper", j.File)
		case "rec/alice.wav":
			assert.Greater(t, maxShare(pcm, 48000, 440, win), 0.5, "alice's leg")
			assert.Less(t, maxShare(pcm, 48000, 1000, win), 0.05, "alice's leg has only alice")
		}
	}
}

// FuzzLoadWAV: whatever bytes a file to play holds, loadWAV returns mono
// audio at a rate a source takes, or an error; never a panic.
func FuzzLoadWAV(f *testing.F) {
	dir := f.TempDir()
	var m mediaAPI
	require.NoError(f, m.init(dir))
	f.Cleanup(m.close)
	for _, a := range []*wav.Audio{
		{SampleRate: 8000, Channels: 1, Samples: rtpclient.Tone(440, -12, 8000, 160)},
		{SampleRate: 48000, Channels: 2, Samples: rtpclient.Tone(440, -12, 48000, 192)},
		{SampleRate: 44100, Channels: 1, Samples: rtpclient.Tone(440, -12, 44100, 100)},
		{SampleRate: 16000, Channels: 3, Samples: make([]int16, 30)},
	} {
		var b strings.Builder
		require.NoError(f, wav.Write(&b, a))
		f.Add([]byte(b.String()))
		f.Add([]byte(b.String())[:50])
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		require.NoError(t, os.WriteFile(filepath.Join(dir, "f.wav"), data, 0o600))
		a, err := m.loadWAV("f.wav")
		if err != nil {
			return
		}
		require.Equal(t, 1, a.Channels)
		require.Contains(t, []int{8000, 16000, 24000, 32000, 48000}, a.SampleRate)
		require.NotEmpty(t, a.Samples)
	})
}

// A room created with "tones" chimes when someone joins: a peer already
// in it hears the rising C5–G5.
func TestRoomTones(t *testing.T) {
	s := testServer(t, Config{SampleRate: 16000})
	code, body, _ := call(t, s, "POST", "/rooms", "application/json", []byte(`{"name":"r","tones":true}`))
	require.Equal(t, http.StatusCreated, code, string(body))
	alice := joinPCMU(t, s, "r", "alice")
	alice.report(t)
	eventually(t, 3*time.Second, func() bool { return alice.stats(t, s).Sending }, "alice not proven")
	dec, err := codec.NewDecoder("PCMU/8000", codec.Config{})
	require.NoError(t, err)
	rcv, err := rtpclient.NewReceiver(alice.conn, rtpclient.ReceiverConfig{ClockRate: 8000, PayloadType: 0, Decoder: dec})
	require.NoError(t, err)
	done := make(chan struct{})
	go func() { defer close(done); _ = rcv.Run() }()
	time.Sleep(200 * time.Millisecond)
	joinPCMU(t, s, "r", "bob")
	time.Sleep(800 * time.Millisecond)
	_ = alice.conn.SetReadDeadline(time.Now())
	<-done
	heard := rcv.Audio()
	assert.Greater(t, maxShare(heard, 8000, 523.25, 60*time.Millisecond), 0.5, "C5")
	assert.Greater(t, maxShare(heard, 8000, 783.99, 60*time.Millisecond), 0.5, "G5")
}
