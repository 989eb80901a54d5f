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
	"errors"
	"flag"
	"fmt"
	"hash/fnv"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/pion/rtcp"
	"github.com/pion/rtp"

	"github.com/rtpmix/rtpmix/codec"
	_ "github.com/rtpmix/rtpmix/codec/g711"
	_ "github.com/rtpmix/rtpmix/codec/opus"
	"github.com/rtpmix/rtpmix/examples/internal/bridge"
	"github.com/rtpmix/rtpmix/examples/internal/rtpclient"
	"github.com/rtpmix/rtpmix/internal/netsim"
	"github.com/rtpmix/rtpmix/internal/wav"
	"github.com/rtpmix/rtpmix/jitter"
	"github.com/rtpmix/rtpmix/negotiate"
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
	set, err := parseFlags(os.Args[1:])
	if errors.Is(err, flag.ErrHelp) {
		os.Exit(0)
	}
	if err != nil {
		os.Exit(2) // the flag package has printed the problem and the usage
	}
	code, err := run(set, os.Stdout)
	if err != nil {
		fmt.Fprintln(os.Stderr, "demo:", err)
		os.Exit(1)
	}
	os.Exit(code)
}

// settings are the demo's knobs, one per flag.
type settings struct {
	duration time.Duration // how long the participants talk
	outDir   string        // where each participant's recording goes
	testdata string        // the directory of the speech clips
	loss     float64       // packet loss applied on the talkers' side
	jitter   time.Duration // delay variation (σ) applied on the talkers' side
	seed     uint64        // network simulator seed
	verbose  bool          // log the bridge's info messages
}

func parseFlags(args []string) (settings, error) {
	var set settings
	fs := flag.NewFlagSet(os.Args[0], flag.ContinueOnError)
	fs.DurationVar(&set.duration, "duration", 10*time.Second, "how long the participants talk")
	fs.StringVar(&set.outDir, "out", "out", "directory for each participant's received audio (WAV)")
	fs.StringVar(&set.testdata, "testdata", "testdata", "directory of the speech clips")
	fs.Float64Var(&set.loss, "loss", 0.02, "packet loss applied on the talkers' side")
	fs.DurationVar(&set.jitter, "jitter", 20*time.Millisecond, "packet delay variation (standard deviation) applied on the talkers' side")
	fs.Uint64Var(&set.seed, "seed", 1, "network simulator seed")
	fs.BoolVar(&set.verbose, "v", false, "log the bridge's info messages")
	err := fs.Parse(args)
	return set, err
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

// demo is one run: the settings, the bridge and its API, the participants.
type demo struct {
	settings
	out   io.Writer // the progress lines and the report
	srv   *bridge.Server
	api   string
	peers []*peer
	t0    time.Time // when the participants start
}

// roomStats is the part of the bridge's room JSON the demo prints.
type roomStats struct {
	TickP50 int64  `json:"tick_p50_us"`
	TickP99 int64  `json:"tick_p99_us"`
	TickMax int64  `json:"tick_max_us"`
	Ticks   uint64 `json:"ticks"`
	Overrun uint64 `json:"overruns"`
	Rate    int    `json:"sample_rate"`
}

// bridgeView is what the bridge reports at the end, before anyone leaves.
type bridgeView struct {
	room         roomStats
	participants map[string]participantStats
}

// run is the whole demo: start the bridge, join the participants, let them
// talk for the duration with a line of progress a second, take the
// bridge's view, stop everyone, and report. It returns the exit code: 1
// when a participant received nothing.
func run(set settings, out io.Writer) (int, error) {
	d := &demo{settings: set, out: out}
	if err := d.startBridge(); err != nil {
		return 1, err
	}
	defer d.srv.Close()

	d.t0 = time.Now()
	ru0 := rusage()
	err := d.joinPeers()
	defer d.closePeers()
	if err != nil {
		return 1, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	wg := d.startMedia(ctx)
	d.watch()
	cancel()

	view, err := d.collect()
	if err != nil {
		return 1, err
	}
	wall := time.Since(d.t0)
	ru1 := rusage()
	d.closePeers() // ends the receivers
	wg.Wait()

	failed, err := d.report(view, wall, (ru1.user-ru0.user)+(ru1.sys-ru0.sys))
	if err != nil {
		return 1, err
	}
	if failed > 0 {
		return 1, nil
	}
	return 0, nil
}

// startBridge starts the bridge in-process, prints the banner and creates
// the room.
func (d *demo) startBridge() error {
	level := slog.LevelWarn
	if d.verbose {
		level = slog.LevelInfo
	}
	srv, err := bridge.New(bridge.Config{
		HTTPAddr: "127.0.0.1:0",
		Logger:   slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level})),
	})
	if err != nil {
		return err
	}
	if err := srv.Start(); err != nil {
		return err
	}
	d.srv = srv
	d.api = "http://" + srv.HTTPAddr()
	fmt.Fprintf(d.out, "rtpmix demo: bridge API on %s, %d participants over loopback UDP, %v, %.0f%% loss and %v jitter on the talkers' side\n",
		srv.HTTPAddr(), len(specs), d.duration, d.loss*100, d.jitter)
	_, err = post(d.api+"/rooms", "application/json", []byte(`{"name":"demo"}`))
	return err
}

// joinPeers joins every participant through the API and gives each talker
// its simulated network.
func (d *demo) joinPeers() error {
	d.peers = make([]*peer, 0, len(specs))
	for i, sp := range specs {
		p, err := newPeer(sp, d.api, d.testdata)
		if err != nil {
			return fmt.Errorf("%s: %w", sp.name, err)
		}
		if !sp.listen {
			if p.trace, err = d.network(sp, i).Trace(); err != nil {
				p.conn.Close()
				return err
			}
		}
		d.peers = append(d.peers, p)
	}
	return nil
}

// network is the simulated network between talker i and the bridge.
func (d *demo) network(sp spec, i int) netsim.Scenario {
	return netsim.Scenario{Name: sp.name, Seed: d.seed + uint64(i), Duration: d.duration + time.Second,
		Ptime: ptime, BaseDelay: time.Millisecond,
		Jitter: netsim.Jitter{Kind: netsim.JitterNormal, Sigma: d.jitter}, Loss: d.loss}
}

func (d *demo) closePeers() {
	for _, p := range d.peers {
		p.conn.Close()
	}
}

// startMedia starts every participant's receiver and playout, and every
// talker's sender; the WaitGroup is done once ctx ends and the sockets are
// closed.
func (d *demo) startMedia(ctx context.Context) *sync.WaitGroup {
	var wg sync.WaitGroup
	frames := int(d.duration / ptime)
	for _, p := range d.peers {
		wg.Add(2)
		go func() { defer wg.Done(); p.receive(d.t0) }()
		go func() { defer wg.Done(); p.playout(ctx, d.t0) }()
		if !p.listen {
			wg.Add(1)
			go func() { defer wg.Done(); p.send(ctx, d.t0, frames) }()
		}
	}
	return &wg
}

// watch prints a line of progress a second until the talk is over and the
// last packets have played out.
func (d *demo) watch() {
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	end := time.After(d.duration + 500*time.Millisecond) // let the last packets play out
	for {
		select {
		case <-tick.C:
			progress(d.out, d.api, d.t0, d.peers)
		case <-end:
			return
		}
	}
}

// collect takes the bridge's view of the room and of every participant.
func (d *demo) collect() (bridgeView, error) {
	v := bridgeView{participants: map[string]participantStats{}}
	if err := getJSON(d.api+"/rooms/demo", &v.room); err != nil {
		return v, err
	}
	for _, p := range d.peers {
		var st participantStats
		if err := getJSON(d.api+"/rooms/demo/participants/"+p.name, &st); err != nil {
			return v, err
		}
		v.participants[p.name] = st
	}
	return v, nil
}

// report writes each participant's recording and prints the table and the
// engine's and the process's cost. It returns how many participants
// received nothing.
func (d *demo) report(v bridgeView, wall, cpu time.Duration) (failed int, err error) {
	if err := os.MkdirAll(d.outDir, 0o755); err != nil {
		return 0, err
	}
	fmt.Fprintf(d.out, "\n%-6s %-13s %-5s %6s %6s %5s %5s %6s %7s %7s %6s │ %6s %5s %6s %7s %6s\n",
		"name", "codec", "srtp", "sent", "in", "loss", "late", "concl", "jitter", "delay", "talk",
		"out", "recv", "loss", "concl", "audio")
	fmt.Fprintf(d.out, "%-6s %-13s %-5s %6s %6s %5s %5s %6s %7s %7s %6s │ %6s %5s %6s %7s %6s\n",
		"", "", "", "", "", "", "", "", "ms", "ms", "s", "", "", "", "", "s")
	for _, p := range d.peers {
		if err := d.reportPeer(p, v.participants[p.name]); err != nil {
			return failed, err
		}
		if p.recv.Load() == 0 {
			failed++
			fmt.Fprintf(os.Stderr, "demo: %s received nothing\n", p.name)
		}
	}
	room := v.room
	fmt.Fprintf(d.out, "\nleft of │: the bridge's view of each participant's inbound stream (packets in, network loss, late, concealed,\n")
	fmt.Fprintf(d.out, "interarrival jitter, jitter-buffer delay averaged over the per-second samples, talk time); right: packets the bridge sent it, and what the participant\n")
	fmt.Fprintf(d.out, "received, lost and concealed in its own jitter buffer and the seconds of audio written to %s/<name>.wav.\n", d.outDir)
	fmt.Fprintf(d.out, "engine: %d ticks at %d Hz, tick p50 %d µs, p99 %d µs, max %d µs, overruns %d\n",
		room.Ticks, room.Rate, room.TickP50, room.TickP99, room.TickMax, room.Overrun)
	fmt.Fprintf(d.out, "cpu: %.2f s user+sys over %.1f s wall (%.1f%% of one core) for the bridge and all eight participants (getrusage)\n",
		cpu.Seconds(), wall.Seconds(), 100*cpu.Seconds()/wall.Seconds())
	return failed, nil
}

// reportPeer writes p's recording to outDir/<name>.wav and prints its row.
func (d *demo) reportPeer(p *peer, st participantStats) error {
	js := p.jb.Stats()
	p.mu.Lock()
	audio := p.recorded
	p.mu.Unlock()
	path := filepath.Join(d.outDir, p.name+".wav")
	if err := wav.WriteFile(path, &wav.Audio{SampleRate: p.decRate, Channels: 1, Samples: audio}); err != nil {
		return err
	}
	delay := 0.0
	if p.delayN > 0 {
		delay = p.delaySum / float64(p.delayN)
	}
	sent := "-"
	if !p.listen {
		sent = fmt.Sprint(p.sent.Load())
	}
	fmt.Fprintf(d.out, "%-6s %-13s %-5v %6s %6d %5d %5d %6d %7.1f %7.1f %6.1f │ %6d %5d %6d %7d %6.1f\n",
		p.name, p.codec, p.srtp, sent, st.PacketsIn, st.Loss, st.Late, st.Concealed, st.JitterMillis, delay,
		float64(st.TalkMillis)/1000, st.PacketsOut, p.recv.Load(), js.Lost, js.Concealed,
		float64(len(audio))/float64(p.decRate))
	return nil
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

	f.PayloadType = sp.pt
	policy := negotiate.Policy{Codecs: []codec.Format{f}, RTCPMux: true, Ptime: ptime}
	if sp.srtp {
		policy.SRTP = negotiate.SRTPRequired
		policy.SRTPProfiles = []srtp.Profile{srtp.ProfileAESCM128HMACSHA1_80}
	}
	if sp.listen {
		policy.Direction = negotiate.RecvOnly
	}
	offer, err := negotiate.NewOffer(policy, negotiate.Local{Addr: netip.MustParseAddr("127.0.0.1"), RTPPort: port, RTCPPort: port})
	if err != nil {
		return nil, err
	}
	q := "?id=" + sp.name
	if sp.listen {
		q += "&listen_only=1"
	}
	body, err := post(api+"/rooms/demo/participants"+q, "application/sdp", offer.SDP())
	if err != nil {
		return nil, err
	}
	leg, err := offer.Accept(body)
	if err != nil {
		return nil, fmt.Errorf("answer: %w", err)
	}
	p.bridge = net.UDPAddrFromAddrPort(leg.RemoteRTP)
	if sp.srtp {
		if p.prot, err = srtp.NewProtector(leg.SRTP.Local.Keys); err != nil {
			return nil, err
		}
		if p.unprot, err = srtp.NewUnprotector(leg.SRTP.Remote.Keys); err != nil {
			return nil, err
		}
	}

	if sp.listen {
		// A listener sends no RTP: its first RTCP receiver report proves its
		// address to the bridge, which sends media only where something
		// authentic came from (the talkers' first RTP does the same).
		rr, err := (&rtcp.ReceiverReport{SSRC: fnv32(sp.name)}).Marshal()
		if err == nil && p.prot != nil {
			rr, err = p.prot.ProtectRTCP(nil, rr)
		}
		if err == nil {
			_, err = p.conn.WriteToUDP(rr, p.bridge)
		}
		if err != nil {
			return nil, fmt.Errorf("receiver report: %w", err)
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

// fnv32 is the SSRC of the participant name.
func fnv32(name string) uint32 {
	h := fnv.New32a()
	h.Write([]byte(name))
	return h.Sum32()
}

// payloadOf returns frame i of src, which loops.
func payloadOf(src *rtpclient.Source, i int) []byte {
	payload, _ := src.Frame(i)
	return payload
}

// send paces the talker's frames every ptime and hands each to the
// simulated network: lost, or sent after its simulated extra delay.
func (p *peer) send(ctx context.Context, t0 time.Time, n int) {
	ssrc := fnv32(p.name)
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

// progress prints one line: the bridge's packet counts and tick times, what
// the participants received, and who is talking. It also samples each
// talker's jitter-buffer delay at the bridge for the report's average.
func progress(w io.Writer, api string, t0 time.Time, peers []*peer) {
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
	fmt.Fprintf(w, "t=%4.1fs  bridge in %5d out %6d  participants received %6d  tick p50 %4d µs p99 %5d µs  talking: %s\n",
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
