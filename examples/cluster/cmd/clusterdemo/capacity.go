package main

import (
	"context"
	"errors"
	"fmt"
	"hash/crc32"
	"net"
	"net/http"
	"os"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"text/tabwriter"
	"time"
)

type capConfig struct {
	listeners, talkers int
	nodes              string
	budget             float64
	measure            time.Duration
	workers            int
}

// nodeFigures is what one node did in the measuring window.
type nodeFigures struct {
	id             string
	participants   int
	cpu            float64 // share of one core
	p50, p99, p99m int64   // µs: median of the 1 s samples of p50 and p99, worst p99
	overruns       uint64
	pktsOut        float64 // per second
}

// capResult is one configuration's run.
type capResult struct {
	nodes      int
	joined     int
	refused    int // 503 answers to joins (tick budget or capacity)
	joinTime   time.Duration
	perNode    []nodeFigures
	demoCPU    float64
	sampled    int
	sampledBad []string
}

// listener is a listen-only participant of the capacity run: a bound
// socket with a small receive buffer that nobody reads (the kernel drops
// what does not fit, so the load generator costs little CPU; the bridges
// still encode, protect and send every packet), and a receiver report
// every 5 s, without which the bridge sends nothing.
type listener struct {
	conn *net.UDPConn
	dst  *net.UDPAddr
	ssrc uint32
}

func (d *demo) capacity(ctx context.Context, cfg capConfig) error {
	var counts []int
	for _, s := range strings.Split(cfg.nodes, ",") {
		k, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil || k < 1 || k > 3 {
			return fmt.Errorf("-nodes %q: want counts of 1 to 3", cfg.nodes)
		}
		counts = append(counts, k)
	}
	var results []capResult
	for _, k := range counts {
		r, err := d.capacityRun(ctx, cfg, k)
		if err != nil {
			return fmt.Errorf("%d node(s): %w", k, err)
		}
		results = append(results, r)
		d.ps.cleanup()
		if d.nc != nil {
			d.nc.Close()
		}
	}
	fmt.Println()
	fmt.Printf("one room, %d listen-only PCMU listeners + %d talkers; nodes refuse joins while the room's tick p99 > %.0f %% of ptime (20 ms); %d logical CPUs; measured over %v\n",
		cfg.listeners, cfg.talkers, 100*cfg.budget, runtime.NumCPU(), cfg.measure)
	w := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(w, "nodes\tjoined\trefused\tjoin time\tnode\tparticipants\tCPU (of one core)\ttick p50\ttick p99 (median / worst)\toverruns\tpackets out/s\tload generator CPU\tsampled listeners hearing all talkers\t")
	for _, r := range results {
		for i, nf := range r.perNode {
			lead := fmt.Sprintf("%d\t%d\t%d\t%s\t", r.nodes, r.joined, r.refused, ms(r.joinTime))
			tail := fmt.Sprintf("%.0f %%\t%d/%d\t", 100*r.demoCPU, r.sampled-len(r.sampledBad), r.sampled)
			if i > 0 {
				lead, tail = "\t\t\t\t", "\t\t"
			}
			fmt.Fprintf(w, "%s%s\t%d\t%.0f %%\t%.2f ms\t%.2f / %.2f ms\t%d\t%.0f\t%s\n", lead, nf.id, nf.participants, 100*nf.cpu,
				float64(nf.p50)/1000, float64(nf.p99)/1000, float64(nf.p99m)/1000, nf.overruns, nf.pktsOut, tail)
		}
	}
	_ = w.Flush()
	for _, r := range results {
		for _, s := range r.sampledBad {
			fmt.Printf("%d node(s): sampled listener %s\n", r.nodes, s)
		}
	}
	return nil
}

func (d *demo) capacityRun(ctx context.Context, cfg capConfig, k int) (capResult, error) {
	res := capResult{nodes: k}
	var err error
	if d.natsPort, err = freePort(); err != nil {
		return res, err
	}
	d.nodes = map[string]*node{}
	total := cfg.listeners + cfg.talkers
	limit := (total+k-1)/k + 16
	fmt.Printf("\n== %d node(s): %d listeners + %d talkers, part limit %d per node, tick budget %.2f\n", k, cfg.listeners, cfg.talkers, limit, cfg.budget)
	extra := []string{"-max-room-participants", strconv.Itoa(limit), "-tick-budget", strconv.FormatFloat(cfg.budget, 'f', -1, 64)}
	var nodes []*node
	for i := range k {
		id := string(rune('a' + i))
		n, err := d.startNode(ctx, id, i == 0, extra...)
		if err != nil {
			return res, err
		}
		nodes = append(nodes, n)
		if i == 0 {
			if err := d.connectNATS(); err != nil {
				return res, err
			}
		}
	}
	byAPI := map[string]string{}
	for _, n := range nodes {
		byAPI[n.http] = n.id
	}
	code, _, body, err := d.api.do(ctx, http.MethodPost, nodes[0].http, "/rooms", "application/json", []byte(`{"name":"big","max_speakers":3}`))
	if err != nil || code != http.StatusCreated {
		return res, fmt.Errorf("creating the room: %d %s %v", code, body, err)
	}

	var talkers, sampled []*peer
	defer func() {
		for _, p := range append(talkers, sampled...) {
			p.close()
		}
	}()
	for i := range cfg.talkers {
		p, holder, err := joinGo(ctx, d.api, nodes[0].http, "big", "talker"+strconv.Itoa(i), 400+300*float64(i), true)
		if err != nil {
			return res, fmt.Errorf("talker %d: %w", i, err)
		}
		p.node = byAPI[holder]
		talkers = append(talkers, p)
	}

	// Listeners, joined by workers at the nodes in turn (placed by the
	// cluster: the home until its part is full, then the others). Every
	// 500th is read and checked.
	var ls []*listener
	var lmu sync.Mutex
	defer func() {
		for _, l := range ls {
			_ = l.conn.Close()
		}
	}()
	// Receiver reports every 5 s keep the listeners known to be alive
	// (the bridge removes a participant silent for 30 s).
	rrStop := make(chan struct{})
	rrDone := make(chan struct{})
	go func() {
		defer close(rrDone)
		t := time.NewTicker(5 * time.Second)
		defer t.Stop()
		for {
			select {
			case <-rrStop:
				return
			case <-t.C:
			}
			lmu.Lock()
			now := append([]*listener(nil), ls...)
			lmu.Unlock()
			for _, l := range now {
				_, _ = l.conn.WriteToUDP(receiverReport(l.ssrc), l.dst)
			}
		}
	}()
	defer func() { close(rrStop); <-rrDone }()
	var next, refused atomic.Int64
	var joinErr error
	var emu sync.Mutex
	start := time.Now()
	var wg sync.WaitGroup
	stopJoins := make(chan struct{})
	var stopOnce sync.Once
	for w := range cfg.workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			lastOK := time.Now()
			for {
				i := int(next.Add(1)) - 1
				if i >= cfg.listeners {
					return
				}
				entry := nodes[(i+w)%k].http
				id := "l" + strconv.Itoa(i)
				for {
					select {
					case <-stopJoins:
						return
					case <-ctx.Done():
						return
					default:
					}
					var err error
					if i%500 == 0 {
						var p *peer
						var holder string
						p, holder, err = joinGo(ctx, d.api, entry, "big", id, 0, false)
						if err == nil {
							p.node = byAPI[holder]
							lmu.Lock()
							sampled = append(sampled, p)
							lmu.Unlock()
						}
					} else {
						var l *listener
						l, err = joinListener(ctx, d.api, entry, id)
						if err == nil {
							lmu.Lock()
							ls = append(ls, l)
							lmu.Unlock()
						}
					}
					if err == nil {
						lastOK = time.Now()
						break
					}
					var es *errStatus
					if errors.As(err, &es) && es.code == http.StatusServiceUnavailable && time.Since(lastOK) < 15*time.Second {
						// Over the tick budget (or full): wait, try again; 15 s
						// without a join ends the joining.
						refused.Add(1)
						time.Sleep(250 * time.Millisecond)
						continue
					}
					emu.Lock()
					if joinErr == nil {
						joinErr = fmt.Errorf("listener %s: %w", id, err)
					}
					emu.Unlock()
					stopOnce.Do(func() { close(stopJoins) })
					return
				}
			}
		}()
	}
	wg.Wait()
	res.joinTime = time.Since(start)
	res.refused = int(refused.Load())
	lmu.Lock()
	res.joined = len(ls) + len(sampled)
	lmu.Unlock()
	fmt.Printf("joined %d of %d listeners in %v (%d refusals with 503)\n", res.joined, cfg.listeners, res.joinTime.Round(time.Millisecond), res.refused)
	if joinErr != nil {
		fmt.Printf("joining stopped: %v\n", joinErr)
	}

	// Settle, then measure.
	select {
	case <-ctx.Done():
		return res, ctx.Err()
	case <-time.After(3 * time.Second):
	}
	type snap struct {
		cpu  time.Duration
		st   bridgeStats
		when time.Time
	}
	take := func(n *node) (snap, error) {
		var s snap
		var err error
		if s.cpu, err = cpuTime(n.p.cmd.Process.Pid); err != nil {
			return s, err
		}
		s.when = time.Now()
		return s, d.api.getJSON(ctx, n.http, "/stats", &s.st)
	}
	before := make([]snap, k)
	for i, n := range nodes {
		if before[i], err = take(n); err != nil {
			return res, err
		}
	}
	selfBefore, _ := cpuTime(os.Getpid())
	selfAt := time.Now()
	p50s := make([][]int64, k)
	p99s := make([][]int64, k)
	end := time.Now().Add(cfg.measure)
	for time.Now().Before(end) {
		select {
		case <-ctx.Done():
			return res, ctx.Err()
		case <-time.After(time.Second):
		}
		for i, n := range nodes {
			var st bridgeStats
			if err := d.api.getJSON(ctx, n.http, "/stats", &st); err != nil {
				return res, err
			}
			for _, r := range st.PerRoom {
				if r.Name == "big" {
					p50s[i] = append(p50s[i], r.TickP50Micros)
					p99s[i] = append(p99s[i], r.TickP99Micros)
				}
			}
		}
	}
	selfAfter, _ := cpuTime(os.Getpid())
	res.demoCPU = (selfAfter - selfBefore).Seconds() / time.Since(selfAt).Seconds()
	for i, n := range nodes {
		after, err := take(n)
		if err != nil {
			return res, err
		}
		el := after.when.Sub(before[i].when).Seconds()
		nf := nodeFigures{id: n.id, participants: after.st.Participants,
			cpu:     (after.cpu - before[i].cpu).Seconds() / el,
			pktsOut: float64(after.st.PacketsOut-before[i].st.PacketsOut) / el,
			p50:     median(p50s[i]), p99: median(p99s[i]), p99m: maxOf(p99s[i])}
		for _, r := range after.st.PerRoom {
			for _, b := range before[i].st.PerRoom {
				if r.Name == "big" && b.Name == "big" {
					nf.overruns = r.Overruns - b.Overruns
				}
			}
		}
		res.perNode = append(res.perNode, nf)
	}
	res.sampled = len(sampled)
	for _, p := range sampled {
		if err := hearing([]*peer{p}, talkers); err != nil {
			res.sampledBad = append(res.sampledBad, fmt.Sprintf("on %s: %v (%s)", p.node, err, levels(p, talkers)))
		}
	}
	return res, nil
}

func joinListener(ctx context.Context, c *api, entry, id string) (*listener, error) {
	for try := 0; ; try++ {
		conn, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
		if err != nil {
			return nil, err
		}
		_ = conn.SetReadBuffer(1024) // the kernel's minimum: a few packets, then drops
		a, _, err := joinAt(ctx, c, entry, "big", id, offerSDP(conn.LocalAddr().(*net.UDPAddr).Port, true), true)
		if err != nil {
			_ = conn.Close()
			var es *errStatus
			if errors.As(err, &es) && es.code == notAcceptable && try < 5 {
				continue // a port a node calls its own: another socket
			}
			return nil, err
		}
		l := &listener{conn: conn, dst: a.rtp, ssrc: crc32.ChecksumIEEE([]byte(id))}
		_, _ = conn.WriteToUDP(receiverReport(l.ssrc), l.dst)
		return l, nil
	}
}

func median(v []int64) int64 {
	if len(v) == 0 {
		return 0
	}
	s := append([]int64(nil), v...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	return s[len(s)/2]
}

func maxOf(v []int64) int64 {
	var m int64
	for _, x := range v {
		m = max(m, x)
	}
	return m
}
