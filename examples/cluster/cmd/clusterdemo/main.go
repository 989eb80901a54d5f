// Command clusterdemo runs the clustered bridge (examples/cluster) as
// three processes on 127.0.0.1 and measures what issue 17 asks of it.
//
// The default run (make cluster-demo): node a embeds NATS, b and c join
// it; a room homed on b gets 12 participants joined at the three nodes in
// turn (ten of the demo's own PCMU endpoints and two ffmpeg participants,
// each an ffmpeg sender and an ffmpeg receiver), each sending its own
// tone. It checks by Goertzel analysis of what every participant hears
// that everyone hears everyone and nobody themselves; then kills b with
// SIGKILL and measures how long the survivors keep its trunks and
// streams, how long until the room is re-claimed (epoch + 1) by a re-join,
// and how long until the re-joined participants hear and are heard; then
// starts b again and shows that it registers and takes rooms again.
//
// With -capacity (make cluster-capacity) it joins one room of -listeners
// listen-only participants and 3 talkers over three nodes, and then over
// one node alone, and reports each node's participants, CPU, tick p50 and
// p99, and overruns.
//
// Everything binds 127.0.0.1; every step is bounded in time (-timeout
// bounds the whole run), and every process it starts is ended on every
// way out (and dies with it: Pdeathsig).
//
//	go build -o /tmp/rtpmix-cluster . && go run ./cmd/clusterdemo -bin /tmp/rtpmix-cluster
package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"flag"
	"fmt"
	"net/http"
	"os"
	"os/signal"
	"sync"
	"syscall"
	"time"
)

func main() {
	bin := flag.String("bin", "", "the cluster node binary (go build -o BIN examples/cluster)")
	capacity := flag.Bool("capacity", false, "run the capacity measurement instead of the kill -9 demo")
	listeners := flag.Int("listeners", 5000, "capacity: listeners in the room")
	talkers := flag.Int("talkers", 3, "capacity: talkers in the room")
	nodeCounts := flag.String("nodes", "3,1", "capacity: node counts to measure, in order")
	budget := flag.Float64("tick-budget", 0.5, "capacity: nodes refuse joins while a room's tick p99 is over this share of ptime")
	measure := flag.Duration("measure", 20*time.Second, "capacity: measuring window once everyone has joined")
	workers := flag.Int("join-workers", 8, "capacity: joins in flight")
	timeout := flag.Duration("timeout", 4*time.Minute, "bound on the whole run")
	keep := flag.Bool("keep-logs", false, "keep the nodes' logs (kept anyway on failure)")
	flag.Parse()
	if *bin == "" {
		fmt.Fprintln(os.Stderr, "clusterdemo: -bin is required")
		os.Exit(2)
	}
	dir, err := os.MkdirTemp("", "rtpmix-clusterdemo-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "clusterdemo:", err)
		os.Exit(1)
	}
	ps := &procs{dir: dir}
	var once sync.Once
	finish := func(code int) {
		once.Do(func() {
			ps.cleanup()
			if code == 0 && !*keep {
				_ = os.RemoveAll(dir)
			} else {
				fmt.Fprintln(os.Stderr, "clusterdemo: logs in", dir)
			}
		})
		os.Exit(code)
	}
	// Every way out ends the processes: a signal, the time bound, a
	// failure, the end. (A SIGKILL of the demo itself: Pdeathsig.)
	ctx, cancel := context.WithTimeout(context.Background(), *timeout)
	defer cancel()
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP)
	go func() {
		s := <-sig
		fmt.Fprintln(os.Stderr, "clusterdemo: signal", s)
		cancel()
		finish(130)
	}()
	hard := time.AfterFunc(*timeout+15*time.Second, func() {
		fmt.Fprintln(os.Stderr, "clusterdemo: time bound passed")
		finish(3)
	})
	defer hard.Stop()
	defer func() {
		if r := recover(); r != nil {
			fmt.Fprintln(os.Stderr, "clusterdemo: panic:", r)
			finish(2)
		}
	}()

	tok := make([]byte, 16)
	_, _ = rand.Read(tok)
	d := &demo{ps: ps, bin: *bin, token: hex.EncodeToString(tok),
		api: &api{token: hex.EncodeToString(tok), c: &http.Client{Timeout: 10 * time.Second}}}
	if *capacity {
		err = d.capacity(ctx, capConfig{listeners: *listeners, talkers: *talkers, nodes: *nodeCounts,
			budget: *budget, measure: *measure, workers: *workers})
	} else {
		err = d.killDemo(ctx)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "clusterdemo: FAILED:", err)
		finish(1)
	}
	finish(0)
}
