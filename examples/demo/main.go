// Command demo is what `make demo` runs: the rtpmix bridge in-process and
// eight synthetic participants over loopback UDP, all joined through the
// bridge's HTTP API with real SDP offers and answers and real SRTP. Four
// talk (speech clips from testdata: two Opus over SRTP, one PCMU over SRTP,
// one PCMA over plain RTP) with 2% loss and 20 ms jitter applied on their
// side by a deterministically seeded network simulator; four only listen.
// Every participant de-jitters and decodes what the bridge sends it and
// writes it to out/<name>.wav. A line of progress per second, then a table
// of what each participant sent and received and what the engine cost.
//
//	go run -tags nolibopusfile ./examples/demo [-duration 10s] [-out out]
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"hash/fnv"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/pion/rtp"

	"github.com/rtpmix/rtpmix/codec"
	_ "github.com/rtpmix/rtpmix/codec/g711"
	_ "github.com/rtpmix/rtpmix/codec/opus"
	"github.com/rtpmix/rtpmix/examples/internal/bridge"
	"github.com/rtpmix/rtpmix/examples/internal/rtpclient"
	"github.com/rtpmix/rtpmix/internal/netsim"
	"github.com/rtpmix/rtpmix/internal/wav"
	"github.com/rtpmix/rtpmix/jitter"
	"github.com/rtpmix/rtpmix/srtp"
)

const ptime = 20 * time.Millisecond

// spec describes one synthetic participant.
type spec struct {
	name   string
	clip   string // testdata/<clip>.wav; "" for a listener
	codec  string // SDP name
	pt     uint8
	srtp   bool
	listen bool
}

var specs = []spec{
	{name: "alice", clip: "alice", codec: "opus/48000/2", pt: 111, srtp: true},
	{name: "bob", clip: "bob", codec: "opus/48000/2", pt: 111, srtp: true},
	{name: "carol", clip: "carol", codec: "PCMU/8000", pt: 0, srtp: true},
	{name: "dave", clip: "dave", codec: "PCMA/8000", pt: 8},
	{name: "erin", codec: "opus/48000/2", pt: 111, srtp: true, listen: true},
	{name: "frank", codec: "PCMU/8000", pt: 0, srtp: true, listen: true},
	{name: "grace", codec: "PCMA/8000", pt: 8, listen: true},
	{name: "heidi", codec: "opus/48000/2", pt: 111, listen: true},
}

func main() {
	duration := flag.Duration("duration", 10*time.Second, "how long the participants talk")
	outDir := flag.String("out", "out", "directory for each participant's received audio (WAV)")
	testdata := flag.String("testdata", "testdata", "directory of the speech clips")
	loss := flag.Float64("loss", 0.02, "packet loss applied on the talkers' side")
	jit := flag.Duration("jitter", 20*time.Millisecond, "packet delay variation (standard deviation) applied on the talkers' side")
	seed := flag.Uint64("seed", 1, "network simulator seed")
	verbose := flag.Bool("v", false, "log the bridge's info messages")
	flag.Parse()
	code, err := run(*duration, *outDir, *testdata, *loss, *jit, *seed, *verbose)
	if err != nil {
		fmt.Fprintln(os.Stderr, "demo:", err)
		os.Exit(1)
	}
	os.Exit(code)
}

// peer is one synthetic participant: its socket, what it sends, and its
// receive side (SRTP, jitter buffer, decoder, recording).
type peer struct {
	spec
	format codec.Format
	conn   *net.UDPConn
	bridge *net.UDPAddr
	prot   *srtp.Protector
	unprot *srtp.Unprotector
	talk   *rtpclient.Source // encoded talk, looped
	trace  *netsim.Trace
	sent   atomic.Uint64

	jb       *jitter.Buffer
	dec      codec.Decoder
	decRate  int
	recv     atomic.Uint64
	recvBad  atomic.Uint64
	mu       sync.Mutex
	recorded []int16
	// delaySum and delayN average the bridge's jitter-buffer delay for
	// this participant over the per-second samples taken while it talks.
	delaySum float64
	delayN   int
}

func run(duration time.Duration, outDir, testdata string, loss float64, jit time.Duration, seed uint64, verbose bool) (int, error) {
	level := slog.LevelWarn
	if verbose {
		level = slog.LevelInfo
	}
	srv, err := bridge.New(bridge.Config{
		HTTPAddr: "127.0.0.1:0",
		Logger:   slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level})),
	})
	if err != nil {
		return 1, err
	}
	if err := srv.Start(); err != nil {
		return 1, err
	}
	defer srv.Close()
	api := "http://" + srv.HTTPAddr()
	fmt.Printf("rtpmix demo: bridge API on %s, %d participants over loopback UDP, %v, %.0f%% loss and %v jitter on the talkers' side\n",
		srv.HTTPAddr(), len(specs), duration, loss*100, jit)
	if _, err := post(api+"/rooms", "application/json", []byte(`{"name":"demo"}`)); err != nil {
		return 1, err
	}

	t0 := time.Now()
	ru0 := rusage()
	frames := int(duration / ptime)
	peers := make([]*peer, 0, len(specs))
	for i, sp := range specs {
		p, err := newPeer(sp, api, testdata)
		if err != nil {
			return 1, fmt.Errorf("%s: %w", sp.name, err)
		}
		if !sp.listen {
			sc := netsim.Scenario{Name: sp.name, Seed: seed + uint64(i), Duration: duration + time.Second,
				Ptime: ptime, BaseDelay: time.Millisecond,
				Jitter: netsim.Jitter{Kind: netsim.JitterNormal, Sigma: jit}, Loss: loss}
			if p.trace, err = sc.Trace(); err != nil {
				return 1, err
			}
		}
		peers = append(peers, p)
	}
	defer func() {
		for _, p := range peers {
			p.conn.Close()
		}
	}()

	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	for _, p := range peers {
		wg.Add(2)
		go func() { defer wg.Done(); p.receive(t0) }()
		go func() { defer wg.Done(); p.playout(ctx, t0) }()
		if !p.listen {
			wg.Add(1)
			go func() { defer wg.Done(); p.send(ctx, t0, frames) }()
		}
	}

	// Progress, once a second.
	tick := time.NewTicker(time.Second)
	end := time.After(duration + 500*time.Millisecond) // let the last packets play out
	for done := false; !done; {
		select {
		case <-tick.C:
			progress(api, t0, peers)
		case <-end:
			done = true
		}
	}
	tick.Stop()
	cancel()

	// Collect the bridge's view before anyone leaves.
	var room struct {
		TickP50 int64  `json:"tick_p50_us"`
		TickP99 int64  `json:"tick_p99_us"`
		TickMax int64  `json:"tick_max_us"`
		Ticks   uint64 `json:"ticks"`
		Overrun uint64 `json:"overruns"`
		Rate    int    `json:"sample_rate"`
	}
	if err := getJSON(api+"/rooms/demo", &room); err != nil {
		return 1, err
	}
	bridgeStats := map[string]participantStats{}
	for _, p := range peers {
		var st participantStats
		if err := getJSON(api+"/rooms/demo/participants/"+p.name, &st); err != nil {
			return 1, err
		}
		bridgeStats[p.name] = st
	}
	wall := time.Since(t0)
	ru1 := rusage()
	for _, p := range peers {
		p.conn.Close() // ends the receivers
	}
	wg.Wait()

	if err := os.MkdirAll(outDir, 0o755); err != nil {
		return 1, err
	}
	fmt.Printf("\n%-6s %-13s %-5s %6s %6s %5s %5s %6s %7s %7s %6s │ %6s %5s %6s %7s %6s\n",
		"name", "codec", "srtp", "sent", "in", "loss", "late", "concl", "jitter", "delay", "talk",
		"out", "recv", "loss", "concl", "audio")
	fmt.Printf("%-6s %-13s %-5s %6s %6s %5s %5s %6s %7s %7s %6s │ %6s %5s %6s %7s %6s\n",
		"", "", "", "", "", "", "", "", "ms", "ms", "s", "", "", "", "", "s")
	failed := 0
	for _, p := range peers {
		st := bridgeStats[p.name]
		js := p.jb.Stats()
		p.mu.Lock()
		audio := p.recorded
		p.mu.Unlock()
		path := filepath.Join(outDir, p.name+".wav")
		if err := wav.WriteFile(path, &wav.Audio{SampleRate: p.decRate, Channels: 1, Samples: audio}); err != nil {
			return 1, err
		}
		delay := 0.0
		if p.delayN > 0 {
			delay = p.delaySum / float64(p.delayN)
		}
		sent := "-"
		if !p.listen {
			sent = fmt.Sprint(p.sent.Load())
		}
		fmt.Printf("%-6s %-13s %-5v %6s %6d %5d %5d %6d %7.1f %7.1f %6.1f │ %6d %5d %6d %7d %6.1f\n",
			p.name, p.codec, p.srtp, sent, st.PacketsIn, st.Loss, st.Late, st.Concealed, st.JitterMillis, delay,
			float64(st.TalkMillis)/1000, st.PacketsOut, p.recv.Load(), js.Lost, js.Concealed,
			float64(len(audio))/float64(p.decRate))
		if p.recv.Load() == 0 {
			failed++
			fmt.Fprintf(os.Stderr, "demo: %s received nothing\n", p.name)
		}
	}
	cpu := (ru1.user - ru0.user) + (ru1.sys - ru0.sys)
	fmt.Printf("\nleft of │: the bridge's view of each participant's inbound stream (packets in, network loss, late, concealed,\n")
	fmt.Printf("interarrival jitter, jitter-buffer delay averaged over the per-second samples, talk time); right: packets the bridge sent it, and what the participant\n")
	fmt.Printf("received, lost and concealed in its own jitter buffer and the seconds of audio written to %s/<name>.wav.\n", outDir)
	fmt.Printf("engine: %d ticks at %d Hz, tick p50 %d µs, p99 %d µs, max %d µs, overruns %d\n",
		room.Ticks, room.Rate, room.TickP50, room.TickP99, room.TickMax, room.Overrun)
	fmt.Printf("cpu: %.2f s user+sys over %.1f s wall (%.1f%% of one core) for the bridge and all eight participants (getrusage)\n",
		cpu.Seconds(), wall.Seconds(), 100*cpu.Seconds()/wall.Seconds())
	if failed > 0 {
		return 1, nil
	}
	return 0, nil
}

// newPeer opens the participant's socket, joins it through the API with an
// SDP offer, and prepares what it sends and how it decodes.
func newPeer(sp spec, api, testdata string) (*peer, error) {
	f, ok := codec.Lookup(sp.codec)
	if !ok {
		return nil, fmt.Errorf("codec %s not registered", sp.codec)
	}
	p := &peer{spec: sp, format: f, decRate: f.ClockRate}
	var err error
	if p.conn, err = net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)}); err != nil {
		return nil, err
	}
	_ = p.conn.SetReadBuffer(1 << 20)
	port := p.conn.LocalAddr().(*net.UDPAddr).Port

	offer := rtpclient.Offer{IP: "127.0.0.1", Port: port, RTCPMux: true, Ptime: ptime,
		Codecs: []rtpclient.Codec{{Format: f, PayloadType: sp.pt}}}
	if sp.srtp {
		sendKeys, err := srtp.GenerateKeys(srtp.ProfileAESCM128HMACSHA1_80)
		if err != nil {
			return nil, err
		}
		offer.Crypto = []srtp.Crypto{{Tag: 1, Keys: sendKeys}}
		if p.prot, err = srtp.NewProtector(sendKeys); err != nil {
			return nil, err
		}
	}
	if sp.listen {
		offer.Direction = "recvonly"
	}
	q := "?id=" + sp.name
	if sp.listen {
		q += "&listen_only=1"
	}
	body, err := post(api+"/rooms/demo/participants"+q, "application/sdp", []byte(offer.String()))
	if err != nil {
		return nil, err
	}
	answer, err := rtpclient.ParseAnswer(string(body))
	if err != nil {
		return nil, fmt.Errorf("answer: %w", err)
	}
	p.bridge = &net.UDPAddr{IP: answer.IP, Port: answer.Port}
	if sp.srtp {
		if answer.Crypto == nil {
			return nil, fmt.Errorf("answer without a=crypto")
		}
		if p.unprot, err = srtp.NewUnprotector(answer.Crypto.Keys); err != nil {
			return nil, err
		}
	}

	if p.jb, err = jitter.New(jitter.Config{ClockRate: f.ClockRate}); err != nil {
		return nil, err
	}
	if f.Name == "opus" {
		p.decRate = 48000
	}
	if p.dec, err = codec.NewDecoder(sp.codec, codec.Config{SampleRate: p.decRate, Channels: 1}); err != nil {
		return nil, err
	}
	if !sp.listen {
		cfg := codec.Config{SampleRate: p.decRate, Channels: 1}
		if f.Name == "opus" {
			cfg.Bitrate, cfg.FEC, cfg.PacketLossPercent, cfg.Complexity = 32000, true, 5, 5
		}
		if p.talk, err = rtpclient.NewWAVSource(filepath.Join(testdata, sp.clip+".wav"), sp.codec, cfg); err != nil {
			return nil, err
		}
	}
	return p, nil
}

// payloadOf returns frame i of src, which loops.
func payloadOf(src *rtpclient.Source, i int) []byte {
	payload, _ := src.Frame(i)
	return payload
}

// send paces the talker's frames every ptime and hands each to the
// simulated network: lost, or sent after its simulated extra delay.
func (p *peer) send(ctx context.Context, t0 time.Time, n int) {
	h := fnv.New32a()
	h.Write([]byte(p.name))
	ssrc := h.Sum32()
	minTransit := time.Duration(1 << 62)
	for _, s := range p.trace.Sent {
		if !s.Lost && s.Transit < minTransit {
			minTransit = s.Transit
		}
	}
	step := uint32(p.format.FrameSamples(ptime))
	var seq uint16
	var ts uint32
	for i := 0; i < n; i++ {
		if d := time.Until(t0.Add(time.Duration(i) * ptime)); d > 0 {
			select {
			case <-ctx.Done():
				return
			case <-time.After(d):
			}
		}
		pkt, _ := (&rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: p.pt, SequenceNumber: seq, Timestamp: ts,
			SSRC: ssrc, Marker: i == 0}, Payload: payloadOf(p.talk, i)}).Marshal()
		seq++
		ts += step
		if p.prot != nil {
			var err error
			if pkt, err = p.prot.ProtectRTP(nil, pkt); err != nil {
				continue
			}
		}
		s := p.trace.Sent[i%len(p.trace.Sent)]
		if s.Lost {
			continue
		}
		p.sent.Add(1)
		time.AfterFunc(s.Transit-minTransit, func() { _, _ = p.conn.WriteToUDP(pkt, p.bridge) })
	}
}

// receive reads what the bridge sends until the socket closes, and pushes
// it into the jitter buffer (the buffer's producer).
func (p *peer) receive(t0 time.Time) {
	buf := make([]byte, 1500)
	var hdr rtp.Header
	var jp jitter.Packet
	for {
		n, err := p.conn.Read(buf)
		if err != nil {
			return
		}
		b := buf[:n]
		if n < 12 || b[1] >= 192 && b[1] <= 223 {
			continue // RTCP under rtcp-mux: the bridge's reports
		}
		var payload []byte
		if p.unprot != nil {
			plain, err := p.unprot.UnprotectRTP(b[:0], b, &hdr)
			if err != nil {
				p.recvBad.Add(1)
				continue
			}
			if payload, err = srtp.Payload(plain); err != nil {
				p.recvBad.Add(1)
				continue
			}
		} else {
			if _, err := hdr.Unmarshal(b); err != nil {
				p.recvBad.Add(1)
				continue
			}
			payload = b[hdr.MarshalSize():]
		}
		p.recv.Add(1)
		jp = jitter.Packet{SSRC: hdr.SSRC, SequenceNumber: hdr.SequenceNumber, Timestamp: hdr.Timestamp,
			Marker: hdr.Marker, PayloadType: hdr.PayloadType, AudioLevel: -1, Payload: payload}
		_ = p.jb.Push(time.Since(t0), &jp)
	}
}

// playout pops one frame every ptime (the buffer's consumer), decodes or
// conceals it, and records the result.
func (p *peer) playout(ctx context.Context, t0 time.Time) {
	fs := codec.FrameSamples(p.decRate, ptime)
	pcm := make([]int16, 0, 5760)
	silence := make([]int16, fs)
	started := false
	t := time.NewTicker(ptime)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		f := p.jb.Pop(time.Since(t0))
		var out []int16
		var err error
		switch f.Kind {
		case jitter.KindPacket:
			started = true
			if out, err = p.dec.Decode(pcm[:0], f.Payload); err != nil {
				out, _ = p.dec.Conceal(pcm[:0], fs)
			}
		case jitter.KindLost, jitter.KindConceal:
			out, _ = p.dec.Conceal(pcm[:0], fs)
		default:
			if !started {
				continue
			}
			out = silence
		}
		p.mu.Lock()
		p.recorded = append(p.recorded, out...)
		p.mu.Unlock()
	}
}

// participantStats is the part of the bridge's participant JSON the demo
// prints.
type participantStats struct {
	PacketsIn    uint64  `json:"packets_in"`
	PacketsOut   uint64  `json:"packets_out"`
	Loss         uint64  `json:"loss"`
	Late         uint64  `json:"late"`
	Concealed    uint64  `json:"concealed"`
	JitterMillis float64 `json:"jitter_ms"`
	DelayMillis  float64 `json:"delay_ms"`
	TalkMillis   int64   `json:"talk_time_ms"`
	Talking      bool    `json:"talking"`
}

func progress(api string, t0 time.Time, peers []*peer) {
	var room struct {
		P50 int64 `json:"tick_p50_us"`
		P99 int64 `json:"tick_p99_us"`
	}
	_ = getJSON(api+"/rooms/demo", &room)
	var talking []string
	var in, out uint64
	for _, p := range peers {
		var st participantStats
		if getJSON(api+"/rooms/demo/participants/"+p.name, &st) != nil {
			continue
		}
		in += st.PacketsIn
		out += st.PacketsOut
		if !p.listen && st.PacketsIn > 0 {
			p.delaySum += st.DelayMillis
			p.delayN++
		}
		if st.Talking {
			talking = append(talking, p.name)
		}
	}
	sort.Strings(talking)
	var recv uint64
	for _, p := range peers {
		recv += p.recv.Load()
	}
	fmt.Printf("t=%4.1fs  bridge in %5d out %6d  participants received %6d  tick p50 %4d µs p99 %5d µs  talking: %s\n",
		time.Since(t0).Seconds(), in, out, recv, room.P50, room.P99, strings.Join(talking, " "))
}

func post(url, ct string, body []byte) ([]byte, error) {
	resp, err := http.Post(url, ct, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusCreated {
		return nil, fmt.Errorf("POST %s: %s: %s", url, resp.Status, bytes.TrimSpace(b))
	}
	return b, nil
}

func getJSON(url string, v any) error {
	resp, err := http.Get(url)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	return json.NewDecoder(resp.Body).Decode(v)
}

type cpuTimes struct{ user, sys time.Duration }

// rusage reads this process's CPU time (bridge and participants alike).
func rusage() cpuTimes {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return cpuTimes{time.Duration(ru.Utime.Nano()), time.Duration(ru.Stime.Nano())}
}
