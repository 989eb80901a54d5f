package main

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"os"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/rtpmix/rtpmix/codec"
	"github.com/rtpmix/rtpmix/examples/internal/rtpclient"
	"github.com/rtpmix/rtpmix/negotiate"
	"github.com/rtpmix/rtpmix/srtp"
)

// MaxDuration is the hard cap on a run, whatever -duration says: a load
// generator left running by mistake stops by itself.
const MaxDuration = 5 * time.Minute

// Config is one load run.
type Config struct {
	// BridgeURL is the bridge's HTTP API, e.g. "http://127.0.0.1:8080".
	BridgeURL string
	// Participants in total, spread round-robin over Rooms rooms.
	Participants, Rooms int
	// Codecs and their shares.
	Codecs []codecShare
	// Talkers stream Talk (a speech clip or a tone); ListenOnly join with
	// listen_only=1 and send nothing; the rest send silence.
	Talkers, ListenOnly int
	Talk                map[string]*rtpclient.Source // by codec name
	// AudioLevels adds the RFC 6464 extension (a=extmap) to what is sent.
	AudioLevels bool
	// SRTP offers AES_CM_128_HMAC_SHA1_80 on every leg.
	SRTP bool
	// Duration of sending, capped at MaxDuration.
	Duration time.Duration
	// RoomPrefix names the rooms <prefix>-1, <prefix>-2, ...
	RoomPrefix string
	// IP the participants' sockets bind, and the offers advertise.
	IP string
	// ReportInterval is how often every leg sends an RTCP receiver report
	// (SRTCP on SRTP legs), which keeps listen-only legs alive on a bridge
	// that removes idle ones. Default 5 s.
	ReportInterval time.Duration
	Logger         *slog.Logger
}

// participant is one synthetic leg.
type participant struct {
	id, room string
	index    int
	codec    int // index into Config.Codecs
	role     string
	conn     *net.UDPConn
	snd      *rtpclient.Sender
	rcv      *rtpclient.Receiver
	joinTime time.Duration
	// RTCP: this leg's SSRC, where reports go, and their SRTCP context
	// (its own, since the sender's belongs to the pacing goroutine).
	ssrc     uint32
	remote   *net.UDPAddr
	rtcpProt *srtp.Protector
	rtcpSent int
}

const (
	roleTalker = "talker"
	roleSilent = "silent"
	roleListen = "listen-only"
)

// Run joins the participants, streams for cfg.Duration, collects what came
// back and the bridge's stats, removes what it created and reports.
func Run(ctx context.Context, cfg Config) (*Report, error) {
	if cfg.Duration <= 0 || cfg.Duration > MaxDuration {
		cfg.Duration = min(max(cfg.Duration, 0), MaxDuration)
		if cfg.Duration == 0 {
			cfg.Duration = 10 * time.Second
		}
	}
	if cfg.Rooms < 1 || cfg.Participants < 1 {
		return nil, fmt.Errorf("%w: need at least one room and one participant", errFlag)
	}
	if cfg.Talkers+cfg.ListenOnly > cfg.Participants {
		return nil, fmt.Errorf("%w: %d talkers and %d listen-only exceed %d participants", errFlag, cfg.Talkers, cfg.ListenOnly, cfg.Participants)
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	api := &client{base: strings.TrimRight(cfg.BridgeURL, "/"), http: &http.Client{Timeout: 10 * time.Second},
		token: os.Getenv("RTPMIX_API_TOKEN")}

	silence := map[string]*rtpclient.Source{}
	for _, c := range cfg.Codecs {
		s, err := rtpclient.NewSilenceSource(c.Format.SDPName(), codec.Config{})
		if err != nil {
			return nil, err
		}
		silence[c.Name] = s
		if cfg.Talkers > 0 && cfg.Talk[c.Name] == nil {
			return nil, fmt.Errorf("loadgen: no talker audio for %s", c.Name)
		}
	}

	// Rooms: create them, or reuse ones that exist (409), and delete at the
	// end only those this run created.
	var created []string
	defer func() {
		for _, r := range created {
			if err := api.do(context.Background(), http.MethodDelete, "/rooms/"+url.PathEscape(r), "", nil, nil); err != nil {
				log.Warn("deleting room", "room", r, "err", err)
			}
		}
	}()
	rooms := make([]string, cfg.Rooms)
	for i := range rooms {
		rooms[i] = fmt.Sprintf("%s-%d", cfg.RoomPrefix, i+1)
		body, _ := json.Marshal(map[string]any{"name": rooms[i]})
		err := api.do(ctx, http.MethodPost, "/rooms", "application/json", body, nil)
		switch {
		case err == nil:
			created = append(created, rooms[i])
		case isStatus(err, http.StatusConflict):
			log.Info("room exists, joining it", "room", rooms[i])
		default:
			return nil, fmt.Errorf("creating room %s: %w", rooms[i], err)
		}
	}

	before, err := api.stats(ctx)
	if err != nil {
		return nil, err
	}

	// Participants: the first Talkers are talkers and the last ListenOnly
	// listen only, so that with participant i in room i mod Rooms both
	// spread over the rooms.
	codecOf := assign(cfg.Codecs, cfg.Participants)
	run := fmt.Sprintf("%04x", time.Now().UnixNano()&0xffff)
	parts := make([]*participant, cfg.Participants)
	for i := range parts {
		role := roleSilent
		switch {
		case i < cfg.Talkers:
			role = roleTalker
		case i >= cfg.Participants-cfg.ListenOnly:
			role = roleListen
		}
		parts[i] = &participant{id: fmt.Sprintf("lg%s-%d", run, i+1), index: i, room: rooms[i%cfg.Rooms], codec: codecOf[i], role: role}
	}
	defer func() {
		for _, p := range parts {
			if p.conn != nil {
				p.conn.Close()
			}
		}
	}()

	// Join with a few requests in flight: the bridge binds sockets and
	// builds codecs per join, so a serial loop of a thousand takes long.
	joinStart := time.Now()
	errs := make(chan error, len(parts))
	work := make(chan *participant)
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for p := range work {
				if err := p.join(ctx, api, cfg, silence); err != nil {
					errs <- fmt.Errorf("joining %s: %w", p.id, err)
				}
			}
		}()
	}
	for _, p := range parts {
		work <- p
	}
	close(work)
	wg.Wait()
	close(errs)
	defer func() {
		for _, p := range parts {
			if p.rcv != nil { // joined
				_ = api.do(context.Background(), http.MethodDelete, "/rooms/"+url.PathEscape(p.room)+"/participants/"+url.PathEscape(p.id), "", nil, nil)
			}
		}
	}()
	if err := <-errs; err != nil {
		return nil, err
	}
	setup := time.Since(joinStart)
	log.Info("joined", "participants", len(parts), "rooms", len(rooms), "took", setup.Round(time.Millisecond))

	var rwg sync.WaitGroup
	for _, p := range parts {
		rwg.Add(1)
		go func() {
			defer rwg.Done()
			if err := p.rcv.Run(); err != nil {
				log.Warn("receiver", "id", p.id, "err", err)
			}
		}()
	}
	var senders []*rtpclient.Sender
	for _, p := range parts {
		if p.snd != nil {
			senders = append(senders, p.snd)
		}
	}
	sendCtx, cancel := context.WithTimeout(ctx, cfg.Duration)
	reported := make(chan struct{})
	go func() {
		defer close(reported)
		sendReports(sendCtx, parts, cmp.Or(cfg.ReportInterval, 5*time.Second), log)
	}()
	t0 := time.Now()
	ticks := rtpclient.Pace(sendCtx, 20*time.Millisecond, senders)
	sent := time.Since(t0)
	cancel()
	<-reported
	// What the bridge mixed from the last packets is still on its way. Stop
	// receiving before asking for the bridge's counters, so that what we
	// received is a subset of what it had sent when it answered.
	time.Sleep(200 * time.Millisecond)
	for _, p := range parts {
		_ = p.conn.SetReadDeadline(time.Now())
	}
	rwg.Wait()
	after, err := api.stats(context.Background())
	if err != nil {
		return nil, err
	}
	log.Info("done", "ticks", ticks, "sent_for", sent.Round(time.Millisecond))
	return buildReport(cfg, parts, sent, setup, before, after), nil
}

// join opens the participant's socket, offers, and prepares its sender and
// receiver from the answer.
func (p *participant) join(ctx context.Context, api *client, cfg Config, silence map[string]*rtpclient.Source) error {
	c := cfg.Codecs[p.codec]
	conn, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.ParseIP(cfg.IP)})
	if err != nil {
		return err
	}
	p.conn = conn
	port := conn.LocalAddr().(*net.UDPAddr).Port
	f := c.Format
	f.PayloadType = c.PT
	policy := negotiate.Policy{Codecs: []codec.Format{f}, RTCPMux: true, Ptime: 20 * time.Millisecond}
	if cfg.SRTP {
		policy.SRTP = negotiate.SRTPRequired
		policy.SRTPProfiles = []srtp.Profile{srtp.ProfileAESCM128HMACSHA1_80}
	}
	policy.AudioLevels = cfg.AudioLevels && p.role != roleListen
	path := "/rooms/" + url.PathEscape(p.room) + "/participants?id=" + url.QueryEscape(p.id)
	if p.role == roleListen {
		policy.Direction = negotiate.RecvOnly
		path += "&listen_only=1"
	}
	ip, err := netip.ParseAddr(cfg.IP)
	if err != nil {
		return fmt.Errorf("-ip %q: %w", cfg.IP, err)
	}
	// RTCP shares the socket whether or not the bridge agrees to mux.
	offer, err := negotiate.NewOffer(policy, negotiate.Local{Addr: ip, RTPPort: port, RTCPPort: port})
	if err != nil {
		return err
	}
	var answer []byte
	t0 := time.Now()
	if err := api.do(ctx, http.MethodPost, path, "application/sdp", offer.SDP(), &answer); err != nil {
		return err
	}
	p.joinTime = time.Since(t0)
	leg, err := offer.Accept(answer)
	if err != nil {
		return fmt.Errorf("answer: %w", err)
	}
	rc := rtpclient.ReceiverConfig{ClockRate: leg.Codec.ClockRate, PayloadType: leg.Codec.PayloadType}
	var keys srtp.Keys
	if cfg.SRTP {
		keys = leg.SRTP.Local.Keys // Accept refuses an answer to an SRTP offer without a=crypto
		rc.SRTP = &leg.SRTP.Remote.Keys
	}
	if p.rcv, err = rtpclient.NewReceiver(conn, rc); err != nil {
		return err
	}
	p.remote = net.UDPAddrFromAddrPort(leg.RemoteRTP) // a=rtcp-mux: RTCP goes there too
	if cfg.SRTP {
		if p.rtcpProt, err = srtp.NewProtector(keys); err != nil {
			return err
		}
	}
	if p.role == roleListen {
		p.ssrc = rand.Uint32()
		return nil
	}
	src := silence[c.Name]
	sc := rtpclient.SenderConfig{PayloadType: leg.Codec.PayloadType, AudioLevelID: leg.AudioLevelID, Loop: true}
	if p.role == roleTalker {
		src = cfg.Talk[c.Name]
		sc.Offset = (p.index * 37) % src.Len() // talkers do not say the same thing at once
	}
	if cfg.SRTP {
		sc.SRTP = &keys
	}
	if p.snd, err = rtpclient.NewSender(conn, p.remote, src, sc); err != nil {
		return err
	}
	p.ssrc = p.snd.SSRC()
	return nil
}

// sendReports sends every leg's RTCP receiver report at once, then every
// interval until ctx ends: the first one proves a listener's address to
// the bridge, which sends media only where something authentic came from.
func sendReports(ctx context.Context, parts []*participant, interval time.Duration, log *slog.Logger) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		for _, p := range parts {
			if err := p.rcv.SendReport(p.ssrc, p.remote, p.rtcpProt); err != nil {
				log.Warn("RTCP report", "id", p.id, "err", err)
				continue
			}
			p.rtcpSent++
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// client speaks the bridge's HTTP API, with the bearer token a bridge
// reachable beyond loopback requires (from $RTPMIX_API_TOKEN).
type client struct {
	base  string
	http  *http.Client
	token string
}

// statusError is a non-2xx answer with the bridge's {"error": ...} reason.
type statusError struct {
	Status int
	Reason string
}

func (e *statusError) Error() string { return fmt.Sprintf("HTTP %d: %s", e.Status, e.Reason) }

func isStatus(err error, code int) bool {
	se, ok := err.(*statusError)
	return ok && se.Status == code
}

// do sends a request; a 2xx body goes to out (*[]byte raw, or JSON).
func (c *client) do(ctx context.Context, method, path, ctype string, body []byte, out any) error {
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, bytes.NewReader(body))
	if err != nil {
		return err
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return err
	}
	if resp.StatusCode/100 != 2 {
		var e struct {
			Error string `json:"error"`
		}
		if json.Unmarshal(data, &e) != nil || e.Error == "" {
			e.Error = strings.TrimSpace(string(data))
		}
		return &statusError{Status: resp.StatusCode, Reason: e.Error}
	}
	switch o := out.(type) {
	case nil:
	case *[]byte:
		*o = data
	default:
		if err := json.Unmarshal(data, out); err != nil {
			return fmt.Errorf("%s %s: %w", method, path, err)
		}
	}
	return nil
}

// BridgeStats is the part of GET /stats the report uses.
type BridgeStats struct {
	Rooms        int        `json:"rooms"`
	Participants int        `json:"participants"`
	PacketsIn    uint64     `json:"packets_in"`
	PacketsOut   uint64     `json:"packets_out"`
	Dropped      uint64     `json:"dropped_garbage_foreign"`
	PerRoom      []RoomTick `json:"per_room"`
}

// RoomTick is one room's tick timing as the bridge reports it.
type RoomTick struct {
	Name         string `json:"name"`
	Participants int    `json:"participants"`
	TickP50us    int64  `json:"tick_p50_us"`
	TickP99us    int64  `json:"tick_p99_us"`
	Overruns     uint64 `json:"overruns"`
}

func (c *client) stats(ctx context.Context) (BridgeStats, error) {
	var s BridgeStats
	err := c.do(ctx, http.MethodGet, "/stats", "", nil, &s)
	sort.Slice(s.PerRoom, func(i, j int) bool { return s.PerRoom[i].Name < s.PerRoom[j].Name })
	return s, err
}
