package browsertest

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
	"github.com/pion/sdp/v3"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/rtpmix/rtpmix/examples/internal/bridge"
	"github.com/rtpmix/rtpmix/internal/mediatest"
	"github.com/rtpmix/rtpmix/internal/wav"
	"github.com/rtpmix/rtpmix/srtp"
)

// token is the bridge's API token: the pages must be given it, as a
// person types it, for anything to work.
const token = "browser-test-token-0123456789"

// chromium returns the browser's path, or skips (fails under
// RTPMIX_REQUIRE_BROWSER=1).
func chromium(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("RTPMIX_CHROMIUM"); p != "" {
		return p
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("RTPMIX_REQUIRE_BROWSER") == "1" {
		t.Fatal("no chromium on PATH and RTPMIX_REQUIRE_BROWSER=1 (make deps installs Debian's chromium)")
	}
	t.Skip("no chromium on PATH (Debian: apt-get install chromium, or make deps; or set RTPMIX_CHROMIUM): browser tests skipped")
	return ""
}

// toneWAV writes a WAV of a sine at freq (48 kHz mono, amplitude 0.2,
// whole cycles so that Chromium's looping of it has no click).
func toneWAV(t *testing.T, dir string, freq float64) string {
	const rate, secs = 48000, 10
	x := make([]int16, rate*secs)
	for i := range x {
		x[i] = int16(0.2 * 32767 * math.Sin(2*math.Pi*freq*float64(i)/rate))
	}
	path := filepath.Join(dir, fmt.Sprintf("tone-%g.wav", freq))
	require.NoError(t, wav.WriteFile(path, &wav.Audio{SampleRate: rate, Channels: 1, Samples: x}))
	return path
}

// browser is one Chromium process with one page; its fake microphone
// plays mic.
type browser struct {
	name string
	ctx  context.Context
	stop func()
}

func newBrowser(t *testing.T, exe, name, mic string) *browser {
	t.Helper()
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(exe),
		chromedp.NoSandbox, // often root in CI and containers; the page is our own
		chromedp.Flag("use-fake-device-for-media-stream", true),
		chromedp.Flag("use-fake-ui-for-media-stream", true),
		chromedp.Flag("use-file-for-fake-audio-capture", mic),
		chromedp.Flag("autoplay-policy", "no-user-gesture-required"),
		// The bridge is on loopback: let WebRTC gather there, with plain
		// addresses rather than mDNS names.
		chromedp.Flag("allow-loopback-in-peer-connection", true),
		chromedp.Flag("disable-features", "WebRtcHideLocalIpsWithMdns"),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1100, 800),
	)
	actx, acancel := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(actx, chromedp.WithErrorf(t.Logf))
	b := &browser{name: name, ctx: ctx, stop: func() { cancel(); acancel() }}
	t.Cleanup(b.stop)
	start := time.Now()
	require.NoError(t, chromedp.Do(ctx), "%s: starting %s", name, exe)
	t.Logf("%s: Chromium started in %v", name, time.Since(start).Round(time.Millisecond))
	return b
}

// run runs actions with a deadline.
func (b *browser) run(t *testing.T, d time.Duration, actions ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, d)
	defer cancel()
	require.NoError(t, chromedp.Do(ctx, actions...), b.name)
}

// eval evaluates js (awaiting a promise) into a T.
func eval[T any](t *testing.T, b *browser, js string) T {
	t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 20*time.Second)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](js, chromedp.EvalAwaitPromise))
	require.NoError(t, err, "%s: %s", b.name, js)
	return v
}

// joinPage opens the bridge's page and joins room as name with the
// keyboard: token, room and name typed, voice processing turned off with
// the space bar (echo cancellation and noise suppression would treat a
// steady tone as noise), Enter to join.
func (b *browser) joinPage(t *testing.T, url, room, name string) {
	t.Helper()
	b.run(t, 30*time.Second,
		chromedp.Navigate(url),
		chromedp.WaitVisible(chromedp.ID("join")),
		chromedp.SendKeys(chromedp.ID("token"), token),
		chromedp.SendKeys(chromedp.ID("room"), room),
		chromedp.SendKeys(chromedp.ID("processing"), " "),
		chromedp.SendKeys(chromedp.ID("name"), name+kb.Enter),
	)
	// Every control has a name a screen reader says: a label, an
	// aria-label, or its text.
	unnamed := eval[[]string](t, b, `[...document.querySelectorAll('input, button, select, meter, textarea')]
	  .filter((e) => !(e.labels && e.labels.length) && !e.getAttribute('aria-label') && !e.textContent.trim())
	  .map((e) => e.outerHTML)`)
	assert.Empty(t, unnamed, "%s: controls without an accessible name", name)
	var state string
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		state = eval[string](t, b, `(window.rtpmix.pc ? window.rtpmix.pc.connectionState : 'none') + '|' + (window.rtpmix.remoteStream ? 'remote' : '') + '|' + document.getElementById('error').textContent`)
		if strings.HasPrefix(state, "connected|remote|") {
			// The bridge's answer, as the browser took it: ICE-lite, one
			// sendrecv audio section, Opus with in-band FEC asked of the
			// browser, RFC 6464 levels.
			answer := eval[string](t, b, `window.rtpmix.pc.remoteDescription.sdp`)
			for _, want := range []string{"a=ice-lite", "a=sendrecv", "opus/48000/2", "useinbandfec=1", sdp.AudioLevelURI, "a=fingerprint:"} {
				assert.Contains(t, answer, want, "%s: the bridge's answer", name)
			}
			assert.Equal(t, 1, strings.Count(answer, "m=audio"), "%s: one audio section", name)
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("%s: not connected with a remote stream within 30 s (state|stream|error: %s)", name, state)
}

// measureJS starts measuring what the page hears: an AnalyserNode on the
// remote stream (which the page plays in an <audio>, as Chromium needs
// for a remote stream to reach WebAudio) takes a power spectrum every
// 50 ms (32768 points: 1.35 Hz bins at 44.1 kHz). window.__heard.result
// (freqs) returns, for each frequency, the median over those spectra of
// its band's share (±6 Hz: the Blackman window's main lobe is ±4 Hz) of
// the spectrum's power: the median, so that the few spectra a playout
// adjustment (Chromium's NetEq stretching or concealing under load)
// smears do not decide.
const measureJS = `(async () => {
  if (window.__heard) window.__heard.stop();
  const ctx = new AudioContext();
  await ctx.resume();
  const an = ctx.createAnalyser();
  an.fftSize = 32768;
  an.smoothingTimeConstant = 0;
  ctx.createMediaStreamSource(window.rtpmix.remoteStream).connect(an);
  const db = new Float32Array(an.frequencyBinCount);
  const frames = [];
  const id = setInterval(() => {
    an.getFloatFrequencyData(db);
    const p = new Float64Array(db.length);
    for (let i = 1; i < db.length; i++) if (db[i] > -400) p[i] = Math.pow(10, db[i] / 10);
    frames.push(p);
  }, 50);
  window.__heard = {
    stop() { clearInterval(id); ctx.close(); },
    result(freqs) {
      const hz = ctx.sampleRate / an.fftSize;
      const shares = {};
      for (const f of freqs) shares[String(f)] = [];
      let n = 0;
      for (const p of frames) {
        let total = 0;
        for (let i = 1; i < p.length; i++) total += p[i];
        if (total === 0) continue;
        n++;
        for (const f of freqs) {
          let b = 0;
          for (let i = Math.max(1, Math.round((f - 6) / hz)); i <= Math.round((f + 6) / hz); i++) b += p[i];
          shares[String(f)].push(b / total);
        }
      }
      const bands = {};
      for (const f of freqs) {
        const v = shares[String(f)].sort((a, b) => a - b);
        bands[String(f)] = v.length ? v[v.length >> 1] : 0;
      }
      return { rate: ctx.sampleRate, frames: n, total: 1, bands };
    },
  };
  return ctx.state;
})()`

// heard is what measureJS returns.
type heard struct {
	Rate   float64            `json:"rate"`
	Frames int                `json:"frames"`
	Total  float64            `json:"total"`
	Bands  map[string]float64 `json:"bands"`
}

func (h heard) share(f float64) float64 {
	if h.Total == 0 {
		return 0
	}
	return h.Bands[fmt.Sprint(f)] / h.Total
}

// row is a participant in a page's list.
type row struct {
	ID      string `json:"id"`
	Talking string `json:"talking"`
	State   string `json:"state"`
	Conn    string `json:"conn"`
	Loss    string `json:"loss"`
	Jitter  string `json:"jitter"`
}

const rowsJS = `[...document.querySelectorAll('#people-body tr')].map((tr) => ({
  id: tr.dataset.id, talking: tr.querySelector('.talk').dataset.talking, state: tr.querySelector('.talk').textContent,
  conn: tr.children[1].textContent, loss: tr.children[4].textContent, jitter: tr.children[5].textContent }))`

// rows waits up to d for the page's list to satisfy ok, and returns it.
func (b *browser) rows(t *testing.T, d time.Duration, ok func([]row) bool) []row {
	t.Helper()
	var rs []row
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		rs = eval[[]row](t, b, rowsJS)
		if ok(rs) {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	return rs
}

// ffmpegLeg is one ffmpeg participant: a sender of its tone and a
// receiver recording the mix the bridge sends it.
type ffmpegLeg struct {
	id        string
	tone      float64
	rtpmap    string
	pt        string
	srtp      bool
	rate      int
	codecArgs []string

	recvPort   int
	sendKey    srtp.Keys
	bridgePort int
	bridgeKey  *srtp.Crypto
	wavPath    string
}

// party is one participant of the room and the tone it sends.
type party struct {
	id   string
	tone float64
}

// TestBrowsersAndRTPInOneRoom: two browsers (the bridge's page, fake
// microphones playing 440 and 590 Hz), an ffmpeg participant over
// Opus/SRTP (1000 Hz) and one over PCMU/RTP (1500 Hz) in one room: each
// hears the three others and not itself (its own tone at least 40 dB
// below what it hears of the others' tones). The pages list the four as talking;
// a muted browser shows as muted; a browser that leaves with the button
// and one whose tab closes are removed. A screenshot of the page goes to
// $RTPMIX_PAGE_SCREENSHOT when set (the README's picture).
func TestBrowsersAndRTPInOneRoom(t *testing.T) {
	exe := chromium(t)
	ff := mediatest.FFmpeg(t)
	t.Logf("network namespace: %q (empty: the machine's own network)", os.Getenv(netnsEnv))
	testStart := time.Now()
	dir := t.TempDir()

	lb := mediatest.NewLoopback(t)
	s, err := bridge.New(bridge.Config{HTTPAddr: "127.0.0.1:0", MediaIP: lb.Local.String(), APIToken: token,
		TickBudget: -1, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	require.NoError(t, err)
	require.NoError(t, s.Start())
	t.Cleanup(func() { assert.NoError(t, s.Close()) })
	base := "http://" + s.HTTPAddr()
	call := func(method, path, ctype string, body []byte) (int, []byte, http.Header) {
		req, err := http.NewRequest(method, base+path, bytes.NewReader(body))
		require.NoError(t, err)
		req.Header.Set("Authorization", "Bearer "+token)
		if ctype != "" {
			req.Header.Set("Content-Type", ctype)
		}
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		require.NoError(t, err)
		return resp.StatusCode, b, resp.Header
	}
	// Four talkers: the room mixes four at once.
	code, body, _ := call("POST", "/rooms", "application/json", []byte(`{"name":"mix","max_speakers":4}`))
	require.Equal(t, http.StatusCreated, code, string(body))

	// 590 Hz rather than 880: 880 Hz is the second harmonic of 440, where
	// the codecs' distortion of browser-a's tone lands in the band in
	// which browser-b must not hear itself. The four tones are chosen so
	// that no product of three of them up to the fifth order (m·f1 ± n·f2
	// ± k·f3, |m|+|n|+|k| ≤ 5) falls within 20 Hz of the fourth: what a
	// party hears in its own band is then noise, not distortion of the
	// others (measured: 700 Hz heard 3·440 − 620 at -36 dB).
	pages := []party{{"browser-a", 440}, {"browser-b", 590}}
	legs := []*ffmpegLeg{
		{id: "opus-srtp", tone: 1000, rtpmap: "97 opus/48000/2", pt: "97", srtp: true, rate: 48000,
			codecArgs: []string{"-ac", "1", "-c:a", "libopus", "-b:a", "32k", "-application", "voip", "-frame_duration", "20", "-payload_type", "97"}},
		{id: "pcmu-rtp", tone: 1500, rtpmap: "0 PCMU/8000", pt: "0", rate: 8000,
			codecArgs: []string{"-af", "aresample=8000,asetnsamples=n=160", "-ac", "1", "-c:a", "pcm_mulaw"}},
	}
	all := append([]party(nil), pages...)
	for _, l := range legs {
		all = append(all, party{l.id, l.tone})
	}

	// The browsers start and join through the page.
	browsers := make([]*browser, len(pages))
	var wg sync.WaitGroup
	for i, p := range pages {
		wg.Add(1)
		go func() {
			defer wg.Done()
			browsers[i] = newBrowser(t, exe, p.id, toneWAV(t, dir, p.tone))
		}()
	}
	wg.Wait()
	if t.Failed() {
		return
	}
	joinStart := time.Now()
	for i, b := range browsers {
		b.joinPage(t, base+"/", "mix", pages[i].id)
	}
	t.Logf("both browsers joined through the page in %v", time.Since(joinStart).Round(time.Millisecond))
	for _, p := range pages {
		var pj struct {
			Transport string `json:"transport"`
			Codec     string `json:"codec"`
			WebRTC    struct {
				State string `json:"state"`
			} `json:"webrtc"`
		}
		code, body, _ := call("GET", "/rooms/mix/participants/"+p.id, "", nil)
		require.Equal(t, http.StatusOK, code, string(body))
		require.NoError(t, json.Unmarshal(body, &pj))
		assert.Equal(t, "webrtc", pj.Transport, p.id)
		assert.Equal(t, "connected", pj.WebRTC.State, p.id)
		t.Logf("%s joined: %s", p.id, pj.Codec)
	}

	// The ffmpeg participants join through the API, as in the bridge's
	// README; receivers first, as they bind the ports the offers name.
	for _, l := range legs {
		l.recvPort = lb.PeerPortPair(t)
		l.wavPath = filepath.Join(dir, l.id+".wav")
		proto := "RTP/AVP"
		extra := []string{"a=rtpmap:" + l.rtpmap, "a=rtcp-mux"}
		if l.srtp {
			proto = "RTP/SAVP"
			k, err := srtp.GenerateKeys(srtp.ProfileAESCM128HMACSHA1_80)
			require.NoError(t, err)
			l.sendKey = k
			extra = append(extra, srtp.Crypto{Tag: 1, Keys: k}.SDPLine())
		}
		var offer strings.Builder
		fmt.Fprintf(&offer, "v=0\r\no=- 1 1 IN IP4 %v\r\ns=ffmpeg\r\nc=IN IP4 %v\r\nt=0 0\r\nm=audio %d %s %s\r\n", lb.Peer, lb.Peer, l.recvPort, proto, l.pt)
		for _, e := range extra {
			offer.WriteString(e + "\r\n")
		}
		code, body, _ := call("POST", "/rooms/mix/participants?id="+l.id, "application/sdp", []byte(offer.String()))
		require.Equal(t, http.StatusCreated, code, string(body))
		var ans sdp.SessionDescription
		require.NoError(t, ans.UnmarshalString(string(body)))
		md := ans.MediaDescriptions[0]
		l.bridgePort = md.MediaName.Port.Value
		lb.Expose(t, l.bridgePort)
		if l.srtp {
			v, ok := md.Attribute("crypto")
			require.True(t, ok, "answer has a=crypto")
			c, err := srtp.ParseSDES(v)
			require.NoError(t, err)
			l.bridgeKey = &c
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	errs := make(chan error, 2*len(legs))
	run := func(name string, args []string) {
		defer wg.Done()
		cmd := exec.CommandContext(ctx, ff, args...)
		cmd.WaitDelay = 2 * time.Second
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		if err := cmd.Run(); err != nil {
			errs <- fmt.Errorf("%s: %v\n%s", name, err, stderr.String())
		}
	}
	const sendSecs = 16
	for _, l := range legs {
		recvSDP := fmt.Sprintf("v=0\r\no=- 0 0 IN IP4 %v\r\ns=receive\r\nc=IN IP4 %v\r\nt=0 0\r\nm=audio %d %s %s\r\na=rtpmap:%s\r\na=rtcp-mux\r\n%s\r\n",
			lb.Peer, lb.Peer, l.recvPort, map[bool]string{true: "RTP/SAVP", false: "RTP/AVP"}[l.srtp], l.pt, l.rtpmap, lb.SourceFilter())
		if l.srtp {
			recvSDP += "a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:" +
				base64.StdEncoding.EncodeToString(append(bytes.Clone(l.bridgeKey.Keys.MasterKey), l.bridgeKey.Keys.MasterSalt...)) + "\r\n"
		}
		sdpPath := filepath.Join(dir, l.id+".sdp")
		require.NoError(t, os.WriteFile(sdpPath, []byte(recvSDP), 0o644))
		wg.Add(1)
		go run(l.id+" receiver", []string{"-hide_banner", "-nostdin", "-loglevel", "error", "-y",
			"-protocol_whitelist", "file,udp,rtp,srtp,crypto", "-i", sdpPath,
			"-t", fmt.Sprint(sendSecs + 10), "-ac", "1", "-ar", fmt.Sprint(l.rate), "-c:a", "pcm_s16le", l.wavPath})
	}
	for _, l := range legs {
		lb.WaitBound(t, l.recvPort)
	}
	for _, l := range legs {
		args := []string{"-hide_banner", "-nostdin", "-loglevel", "error", "-re",
			"-f", "lavfi", "-i", fmt.Sprintf("aevalsrc=0.2*sin(2*PI*%g*t):s=48000:d=%d", l.tone, sendSecs)}
		args = append(args, l.codecArgs...)
		args = append(args, "-f", "rtp", "-rtpflags", "send_bye", "-sdp_file", os.DevNull)
		url := fmt.Sprintf("rtp://%v:%d?rtcpport=%d&localaddr=%v", lb.Local, l.bridgePort, l.bridgePort, lb.Peer)
		if l.srtp {
			args = append(args, "-srtp_out_suite", "AES_CM_128_HMAC_SHA1_80", "-srtp_out_params",
				base64.StdEncoding.EncodeToString(append(bytes.Clone(l.sendKey.MasterKey), l.sendKey.MasterSalt...)))
			url = "s" + url
		}
		wg.Add(1)
		go run(l.id+" sender", append(args, url))
	}
	sendStart := time.Now()

	// While everyone sends, each page lists the four, talking.
	everyoneTalking := func(rs []row) bool {
		if len(rs) != len(all) {
			return false
		}
		for _, r := range rs {
			if r.Talking != "true" {
				return false
			}
		}
		return true
	}
	for _, b := range browsers {
		rs := b.rows(t, 8*time.Second, everyoneTalking)
		t.Logf("%s lists: %+v", b.name, rs)
		if assert.Len(t, rs, len(all), "%s: participants listed", b.name) && assert.True(t, everyoneTalking(rs), "%s: all four talking", b.name) {
			for i, p := range []string{"browser-a", "browser-b", "opus-srtp", "pcmu-rtp"} {
				assert.Equal(t, p, rs[i].ID, "%s: list order", b.name)
				assert.Equal(t, "talking", rs[i].State, "%s: %s", b.name, p)
			}
			assert.Contains(t, rs[0].Conn, "browser")
			assert.Contains(t, rs[3].Conn, "RTP PCMU/8000")
		}
	}
	if t.Failed() {
		return // not everyone talks: what the pages hear would say nothing
	}
	// The pages measure what they hear for 6 s, from 3 s into the
	// senders' run (jitter buffers filled) or 1 s after both pages saw
	// everyone talking, whichever is later (ffmpeg starts slowly on a
	// loaded machine), and before the senders stop.
	measureStart := time.Now().Add(time.Second)
	if at := sendStart.Add(3 * time.Second); at.After(measureStart) {
		measureStart = at
	}
	require.True(t, measureStart.Add(6*time.Second).Before(sendStart.Add((sendSecs-1)*time.Second)),
		"the pages saw everyone talking only %v after the senders started: too late to measure", time.Since(sendStart))
	time.Sleep(time.Until(measureStart))
	for _, b := range browsers {
		st := eval[string](t, b, measureJS)
		require.Equal(t, "running", st, "%s: AudioContext", b.name)
	}
	time.Sleep(6 * time.Second)
	freqs := make([]float64, len(all))
	for i, p := range all {
		freqs[i] = p.tone
	}
	fj, _ := json.Marshal(freqs)
	for i, b := range browsers {
		h := eval[heard](t, b, "window.__heard.result("+string(fj)+")")
		eval[chromedp.Void](t, b, "window.__heard.stop()")
		require.Positive(t, h.Frames, b.name)
		checkHeard(t, b.name, pages[i].tone, all, h.share)
		t.Logf("%s: measured %d spectra at %g Hz", b.name, h.Frames, h.Rate)
	}
	if p := os.Getenv("RTPMIX_PAGE_SCREENSHOT"); p != "" {
		ctx, cancel := context.WithTimeout(browsers[0].ctx, 20*time.Second)
		png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
		cancel()
		require.NoError(t, err)
		require.NoError(t, os.WriteFile(p, png, 0o644))
		t.Logf("screenshot of browser-a's page: %s", p)
	}

	// The ffmpeg legs end (BYE); their recordings hold the others' tones.
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	for _, l := range legs {
		a, err := wav.ReadFile(l.wavPath)
		require.NoError(t, err, l.id)
		x := a.Samples
		// From 4 s (the recording starts with the leg's own first
		// packet; the other ffmpeg may have started up to a few seconds
		// later) to 12 s.
		if len(x) > 12*l.rate {
			x = x[4*l.rate : 12*l.rate]
		}
		require.Greater(t, len(x), 3*l.rate, "%s: recording too short (%d samples)", l.id, len(a.Samples))
		checkHeard(t, l.id, l.tone, all, func(f float64) float64 { return blockShare(x, l.rate, f) })
	}

	// Muting browser-b on its page, with the keyboard again (focus and
	// Space), after the ffmpeg legs, whose recordings must hold its tone
	// throughout: browser-a's list shows it muted, the bridge has it muted.
	browsers[1].run(t, 10*time.Second, chromedp.Focus(chromedp.ID("mute")), chromedp.KeyEvent(" "))
	rs := browsers[0].rows(t, 5*time.Second, func(rs []row) bool {
		return len(rs) > 1 && rs[1].State == "muted"
	})
	if assert.Greater(t, len(rs), 1) {
		assert.Equal(t, "muted", rs[1].State, "browser-b muted in browser-a's list")
		assert.Equal(t, "false", rs[1].Talking)
	}
	pressed := eval[string](t, browsers[1], `document.getElementById('mute').getAttribute('aria-pressed')`)
	assert.Equal(t, "true", pressed, "the mute button says it is pressed")
	var bj struct {
		Muted bool `json:"muted"`
	}
	code, body, _ = call("GET", "/rooms/mix/participants/browser-b", "", nil)
	require.Equal(t, http.StatusOK, code, string(body))
	require.NoError(t, json.Unmarshal(body, &bj))
	assert.True(t, bj.Muted, "browser-b muted on the bridge")

	// browser-a leaves with the Leave button (keyboard: focus and Enter):
	// the page sends DELETE; browser-b's tab closes: its connection ends.
	browsers[0].run(t, 10*time.Second, chromedp.Focus(chromedp.ID("leave")), chromedp.KeyEvent(kb.Enter))
	browsers[1].stop()
	var ids struct {
		IDs []string `json:"participant_ids"`
	}
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		_, body, _ := call("GET", "/rooms/mix", "", nil)
		require.NoError(t, json.Unmarshal(body, &ids))
		if len(ids.IDs) == 0 {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	assert.Empty(t, ids.IDs, "participants left in the room")
	t.Logf("the whole test took %v", time.Since(testStart).Round(time.Millisecond))
}

// checkHeard asserts that who, which sends own, hears every other party's
// tone (each at least 15 % of the power it receives: a third each when
// the mix is even) and its own at least 40 dB below the others' together.
// What remains in its own band is the codecs' noise: a mix that put its
// own tone back would have it about as loud as the others'.
func checkHeard(t *testing.T, who string, own float64, all []party, share func(float64) float64) {
	t.Helper()
	var others float64
	var parts []string
	for _, p := range all {
		if p.tone == own {
			continue
		}
		s := share(p.tone)
		others += s
		parts = append(parts, fmt.Sprintf("%s %g Hz %.3f", p.id, p.tone, s))
		assert.Greater(t, s, 0.15, "%s hears %s (%g Hz)", who, p.id, p.tone)
	}
	o := share(own)
	below := 10 * math.Log10(others/math.Max(o, 1e-15))
	t.Logf("%s hears %s; its own %g Hz at %.2e, %.1f dB below the others'", who, strings.Join(parts, ", "), own, o, below)
	assert.Greater(t, below, 40.0, "%s: its own tone at least 40 dB below the others'", who)
}

// blockShare is the share of x's power at freq over 100 ms blocks (every
// test tone has whole cycles in one), so that the phase jumps of
// jitter-buffer adaptation do not smear a long window's narrow bin.
func blockShare(x []int16, rate int, freq float64) float64 {
	n := rate / 10
	var at, total float64
	for i := 0; i+n <= len(x); i += n {
		b := x[i : i+n]
		var e float64
		for _, v := range b {
			e += float64(v) * float64(v)
		}
		at += mediatest.ToneShare(b, rate, freq) * e
		total += e
	}
	if total == 0 {
		return 0
	}
	return at / total
}
