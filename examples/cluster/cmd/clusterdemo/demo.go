package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

type demo struct {
	ps    *procs
	bin   string
	token string
	api   *api

	natsPort int
	nodes    map[string]*node
	js       jetstream.JetStream
	nc       *nats.Conn
}

// node is one cluster process.
type node struct {
	id   string
	http string // API address
	args []string
	p    *proc
}

// startNode starts a node process (embedding NATS when it is the first)
// and waits until its API answers.
func (d *demo) startNode(ctx context.Context, id string, embed bool, extra ...string) (*node, error) {
	n := d.nodes[id]
	if n == nil {
		port, err := freePort()
		if err != nil {
			return nil, err
		}
		n = &node{id: id, http: "127.0.0.1:" + strconv.Itoa(port)}
		n.args = []string{"-id", id, "-http", n.http, "-media-ip", "127.0.0.1", "-no-webrtc"}
		if embed {
			// JetStream's store in the demo's directory: removed with it.
			n.args = append(n.args, "-nats-listen", "127.0.0.1:"+strconv.Itoa(d.natsPort),
				"-nats-dir", filepath.Join(d.ps.dir, "nats-"+id+"-"+strconv.Itoa(d.natsPort)))
		} else {
			n.args = append(n.args, "-nats", "nats://127.0.0.1:"+strconv.Itoa(d.natsPort))
		}
		n.args = append(n.args, extra...)
		d.nodes[id] = n
	}
	p, err := d.ps.start("node-"+id, nil, []string{"RTPMIX_API_TOKEN=" + d.token}, d.bin, n.args...)
	if err != nil {
		return nil, err
	}
	n.p = p
	_, err = eventually(ctx, 20*time.Second, func() error {
		if !p.alive() {
			return fmt.Errorf("node %s exited: %v (log %s/node-%s.log)", id, p.err, d.ps.dir, id)
		}
		var st clusterStatus
		if err := d.api.getJSON(ctx, n.http, "/cluster", &st); err != nil {
			return err
		}
		if !st.Admitting {
			return errors.New("not admitting yet")
		}
		return nil
	})
	return n, err
}

func (d *demo) connectNATS() error {
	nc, err := nats.Connect("nats://127.0.0.1:"+strconv.Itoa(d.natsPort), nats.Name("clusterdemo"),
		nats.MaxReconnects(-1), nats.ReconnectWait(250*time.Millisecond))
	if err != nil {
		return err
	}
	d.nc = nc
	d.js, err = jetstream.New(nc)
	return err
}

// roomRec is the part of a room's record in the rooms bucket the demo reads.
type roomRec struct {
	Home  string `json:"home"`
	Epoch uint64 `json:"epoch"`
	Parts []struct {
		Node string `json:"node"`
		Part uint32 `json:"part"`
	} `json:"parts"`
}

func (d *demo) room(ctx context.Context, name string) (roomRec, error) {
	var rec roomRec
	kv, err := d.js.KeyValue(ctx, "rooms")
	if err != nil {
		return rec, err
	}
	e, err := kv.Get(ctx, name)
	if err != nil {
		return rec, err
	}
	return rec, json.Unmarshal(e.Value(), &rec)
}

// nodeKey returns when the node's key in the nodes bucket was last put.
func (d *demo) nodeKey(ctx context.Context, id string) (time.Time, error) {
	kv, err := d.js.KeyValue(ctx, "nodes")
	if err != nil {
		return time.Time{}, err
	}
	e, err := kv.Get(ctx, id)
	if err != nil {
		return time.Time{}, err
	}
	return e.Created(), nil
}

// row is one line of the result table.
type row struct{ what, measured, target, verdict string }

func verdict(ok bool) string {
	if ok {
		return "met"
	}
	return "MISSED"
}

func printTable(rows []row) {
	w := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(w, "step\tmeasured\tissue 17 target\t")
	fmt.Fprintln(w, "----\t--------\t---------------\t")
	for _, r := range rows {
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\n", r.what, r.measured, r.target, r.verdict)
	}
	_ = w.Flush()
}

func ms(d time.Duration) string { return fmt.Sprintf("%.2f s", d.Seconds()) }

// killDemo is the three-process demo of issue 17, test 2.
func (d *demo) killDemo(ctx context.Context) error {
	var err error
	if d.natsPort, err = freePort(); err != nil {
		return err
	}
	d.nodes = map[string]*node{}
	// Parts of 4 on the home, 6 elsewhere (room for the home's four to
	// re-join at the survivors).
	fmt.Println("starting nodes a (embedded NATS), b, c on 127.0.0.1 ...")
	a, err := d.startNode(ctx, "a", true, "-max-room-participants", "6")
	if err != nil {
		return err
	}
	if err := d.connectNATS(); err != nil {
		return err
	}
	defer d.nc.Close()
	b, err := d.startNode(ctx, "b", false, "-max-room-participants", "4")
	if err != nil {
		return err
	}
	c, err := d.startNode(ctx, "c", false, "-max-room-participants", "6")
	if err != nil {
		return err
	}
	byAPI := map[string]string{a.http: "a", b.http: "b", c.http: "c"}
	entries := []*node{a, b, c}

	code, _, body, err := d.api.do(ctx, http.MethodPost, b.http, "/rooms", "application/json", []byte(`{"name":"r","max_speakers":12}`))
	if err != nil || code != http.StatusCreated {
		return fmt.Errorf("creating the room at b: %d %s %v", code, body, err)
	}
	rec, err := d.room(ctx, "r")
	if err != nil {
		return err
	}
	fmt.Printf("room r created at b: home %s, epoch %d\n", rec.Home, rec.Epoch)

	// Twelve participants joined at a, b, c in turn; the home takes the
	// first four, the others spill. Participants 6 and 10 are ffmpeg.
	var peers []*peer
	defer func() {
		for _, p := range peers {
			p.close()
		}
	}()
	for i := range 12 {
		entry := entries[i%3]
		id := "u" + strconv.Itoa(i)
		freq := 300 + 200*float64(i)
		var p *peer
		var holder string
		if i == 6 || i == 10 {
			p, holder, err = joinFFmpeg(ctx, d.ps, d.api, entry.http, "r", id+"-ffmpeg", freq)
		} else {
			p, holder, err = joinGo(ctx, d.api, entry.http, "r", id, freq, true)
		}
		if err != nil {
			return fmt.Errorf("join %s at %s: %w", id, entry.id, err)
		}
		p.node = byAPI[holder]
		peers = append(peers, p)
		fmt.Printf("  %-10s %6.0f Hz  joined at %s, placed on %s\n", p.id, p.freq, entry.id, p.node)
	}
	placement := map[string]int{}
	for _, p := range peers {
		placement[p.node]++
	}
	took, err := eventually(ctx, 15*time.Second, func() error { return hearing(peers, peers) })
	if err != nil {
		for _, p := range peers {
			fmt.Printf("  %s hears%s\n", p.id, levels(p, peers))
		}
		return fmt.Errorf("everyone hears everyone: %w", err)
	}
	fmt.Printf("everyone hears everyone and nobody themselves, %v after the last join\n", took.Round(time.Millisecond))
	worst := func(ps []*peer) (other, own float64) {
		other, own = 0, -200
		for _, p := range ps {
			for _, o := range ps {
				if o == p {
					own = max(own, p.power(p.freq))
				} else {
					other = min(other, p.power(o.freq))
				}
			}
		}
		return
	}
	quietOther, loudOwn := worst(peers)
	rows := []row{{
		what:     fmt.Sprintf("12 participants (2 ffmpeg), parts a %d / b %d / c %d: everyone hears everyone", placement["a"], placement["b"], placement["c"]),
		measured: fmt.Sprintf("%s after the last join; quietest other %.1f dB, loudest own %.1f dB", ms(took), quietOther, loudOwn),
		target:   "others heard, own voice absent (Goertzel)", verdict: verdict(true)}}

	// b's part, participants and lease before the kill.
	rec, err = d.room(ctx, "r")
	if err != nil {
		return err
	}
	var bPart uint32
	for _, pr := range rec.Parts {
		if pr.Node == "b" {
			bPart = pr.Part
		}
	}
	var onB, rest []*peer
	for _, p := range peers {
		if p.node == "b" {
			onB = append(onB, p)
		} else {
			rest = append(rest, p)
		}
	}
	if bPart == 0 || len(onB) == 0 {
		return fmt.Errorf("b holds no part or participants: %+v", rec)
	}
	bLease, _ := d.nodeKey(ctx, "b")

	// kill -9 the home.
	fmt.Printf("kill -9 node b (pid %d, home of r, %d participants; its lease last put %v before)\n",
		b.p.cmd.Process.Pid, len(onB), time.Since(bLease).Round(time.Millisecond))
	killed := time.Now()
	b.p.kill9()
	for _, p := range onB {
		p.close() // their bridge is gone: they re-join elsewhere
	}

	// Survivors: time until no trunk to b's part and none of b's
	// participants among their remote ones.
	var wg sync.WaitGroup
	dropped := map[string]time.Duration{}
	var dmu sync.Mutex
	var dropErr error
	for _, n := range []*node{a, c} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := eventually(ctx, 5*time.Second, func() error {
				var st clusterStatus
				if err := d.api.getJSON(ctx, n.http, "/cluster", &st); err != nil {
					return err
				}
				for _, pt := range st.Parts {
					if pt.Room != "r" {
						continue
					}
					for _, t := range pt.Trunks {
						if t.Peer == bPart {
							return fmt.Errorf("%s still has its trunk to b (silent %.2f s)", n.id, t.Silent)
						}
					}
					for _, id := range pt.Remote {
						for _, p := range onB {
							if id == p.id {
								return fmt.Errorf("%s still mixes %s", n.id, id)
							}
						}
					}
				}
				return nil
			})
			dmu.Lock()
			defer dmu.Unlock()
			dropped[n.id] = time.Since(killed)
			if err != nil {
				dropErr = err
			}
		}()
	}

	// b's participants re-join at the survivors: refused (503) until b's
	// lease lapses, then the first join re-claims the room.
	var back []*peer
	defer func() {
		for _, p := range back {
			p.close()
		}
	}()
	var reclaimed time.Duration
	refused := 0
	for i, p := range onB {
		entry := []*node{a, c}[i%2]
		for {
			np, holder, err := joinGo(ctx, d.api, entry.http, "r", p.id+"-back", p.freq, true)
			if err == nil {
				np.node = byAPI[holder]
				back = append(back, np)
				break
			}
			var es *errStatus
			if !errors.As(err, &es) || es.code != http.StatusServiceUnavailable {
				return fmt.Errorf("re-join of %s: %w", p.id, err)
			}
			refused++
			if time.Since(killed) > 10*time.Second {
				return fmt.Errorf("room not re-claimed 10 s after the kill: %w", err)
			}
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(50 * time.Millisecond):
			}
		}
		if i == 0 {
			reclaimed = time.Since(killed)
		}
	}
	rec, err = d.room(ctx, "r")
	if err != nil {
		return err
	}
	fmt.Printf("room re-claimed %v after the kill: home %s, epoch %d (%d re-joins refused with 503 before)\n",
		reclaimed.Round(time.Millisecond), rec.Home, rec.Epoch, refused)
	if rec.Epoch != 2 || rec.Home == "b" {
		return fmt.Errorf("room record after the re-claim: %+v", rec)
	}
	heardAfter, herr := eventually(ctx, 10*time.Second, func() error {
		all := append(append([]*peer(nil), rest...), back...)
		return hearing(all, all)
	})
	wg.Wait()
	if dropErr != nil {
		return dropErr
	}
	if herr != nil {
		return fmt.Errorf("re-joined participants: %w", herr)
	}
	fmt.Printf("re-joined participants hear and are heard %v after re-joining\n", heardAfter.Round(time.Millisecond))
	var placedBack []string
	for _, p := range back {
		placedBack = append(placedBack, p.id+"→"+p.node)
	}
	rows = append(rows,
		row{"survivors drop b's trunk and streams (a / c)", ms(dropped["a"]) + " / " + ms(dropped["c"]) + " after the kill",
			"within 1 s", verdict(max(dropped["a"], dropped["c"]) <= time.Second)},
		row{fmt.Sprintf("room re-claimed by the first re-join (epoch 1→%d, home %s)", rec.Epoch, rec.Home), ms(reclaimed) + " after the kill",
			"≤ 3.5 s", verdict(reclaimed <= 3500*time.Millisecond)},
		row{"re-joined participants hear and are heard (" + strings.Join(placedBack, ", ") + ")",
			fmt.Sprintf("%s after re-joining, %s after the kill", ms(heardAfter), ms(time.Since(killed))),
			"≤ 5 s after re-joining", verdict(heardAfter <= 5*time.Second)})

	// b comes back: it registers again and takes rooms.
	restarted := time.Now()
	if _, err := d.startNode(ctx, "b", false); err != nil {
		return fmt.Errorf("restarting b: %w", err)
	}
	var regAt time.Duration
	if _, err := eventually(ctx, 10*time.Second, func() error {
		at, err := d.nodeKey(ctx, "b")
		if err != nil {
			return err
		}
		if at.Before(restarted) {
			return errors.New("b's key is the old one")
		}
		regAt = at.Sub(restarted) // the key's server stamp
		return nil
	}); err != nil {
		return err
	}
	code, _, body, err = d.api.do(ctx, http.MethodPost, b.http, "/rooms", "application/json", []byte(`{"name":"r2"}`))
	if err != nil || code != http.StatusCreated {
		return fmt.Errorf("creating r2 at the restarted b: %d %s %v", code, body, err)
	}
	r2, err := d.room(ctx, "r2")
	if err != nil {
		return err
	}
	code, _, body, err = d.api.do(ctx, http.MethodPost, b.http, "/rooms", "application/json", []byte(`{"name":"r"}`))
	if err != nil {
		return err
	}
	fmt.Printf("b restarted: registered, admitting; POST /rooms r2 at b → home %s epoch %d; POST /rooms r at b → %d %s (r is alive on %s)\n",
		r2.Home, r2.Epoch, code, strings.TrimSpace(string(body)), rec.Home)
	rows = append(rows, row{"b restarted: registers again (nodes bucket), admits, homes a new room",
		fmt.Sprintf("key put %s after the process started; r2 homed on %s, r refused (409: alive on %s)", ms(regAt), r2.Home, rec.Home),
		"a failure is never sticky", verdict(r2.Home == "b" && code == http.StatusConflict)})
	fmt.Println()
	printTable(rows)
	return nil
}
