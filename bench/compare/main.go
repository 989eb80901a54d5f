// Command compare runs the same workloads on rtpmix and on the Go libraries
// a user would otherwise pick, in one process, and prints the ratios:
//
//   - G.711 μ-law, 160 samples: codec/g711 vs github.com/livekit/media-sdk/g711
//     and github.com/zaf/g711;
//   - jitter buffer push+pop: jitter vs github.com/pion/interceptor's
//     pkg/jitterbuffer and LiveKit's jitter.Buffer, plus what each does
//     after a single lost packet;
//   - resampling 8↔48 kHz: codec/resample vs LiveKit's (libsoxr);
//   - an 8-party mix-minus at 48 kHz with 3 speakers: rtpmix's kernels as
//     the mixer runs them vs LiveKit's mixer, one per listener;
//   - SRTP, 100-byte payload: srtp vs calling github.com/pion/srtp/v3
//     directly.
//
// It is a nested module (own go.mod) so that the peers never enter the
// library's dependencies. Run from this directory: go run . [-benchtime 1s]
package main

import (
	"flag"
	"fmt"
	"log"
	"os"
	"strings"
	"testing"
	"text/tabwriter"
	"time"
)

// result is one workload measured on rtpmix and on one peer.
type result struct {
	group, workload string
	ours, peer      testing.BenchmarkResult
	peerName        string
	// note replaces the peer's figures when the peer cannot do the
	// workload, and adds context otherwise.
	note    string
	missing bool
}

func main() {
	benchtime := flag.Duration("benchtime", time.Second, "target time per measurement")
	md := flag.Bool("md", false, "print Markdown tables")
	flag.Parse()
	testing.Init()
	if err := flag.Set("test.benchtime", benchtime.String()); err != nil {
		log.Fatal(err)
	}

	var rs []result
	rs = append(rs, g711Results()...)
	rs = append(rs, jitterResults()...)
	rs = append(rs, resampleResults()...)
	rs = append(rs, mixResults()...)
	rs = append(rs, srtpResults()...)
	if err := writeTable(os.Stdout, rs, *md); err != nil {
		log.Fatal(err)
	}
	fmt.Println()
	if err := writeBehaviour(os.Stdout, *md); err != nil {
		log.Fatal(err)
	}
}

func ns(r testing.BenchmarkResult) float64 {
	if r.N == 0 {
		return 0
	}
	return float64(r.T.Nanoseconds()) / float64(r.N)
}

func dur(v float64) string {
	switch {
	case v >= 1e6:
		return fmt.Sprintf("%.2f ms", v/1e6)
	case v >= 1e3:
		return fmt.Sprintf("%.2f µs", v/1e3)
	}
	return fmt.Sprintf("%.1f ns", v)
}

func writeTable(w *os.File, rs []result, md bool) error {
	head := []string{"workload", "rtpmix", "allocs", "peer", "peer time", "allocs", "peer ÷ rtpmix", "note"}
	rows := [][]string{}
	for _, r := range rs {
		row := []string{r.workload, dur(ns(r.ours)), fmt.Sprint(r.ours.AllocsPerOp()), r.peerName}
		if r.missing {
			row = append(row, "—", "—", "n/a", r.note)
		} else {
			ratio := ns(r.peer) / ns(r.ours)
			row = append(row, dur(ns(r.peer)), fmt.Sprint(r.peer.AllocsPerOp()), fmt.Sprintf("%.2f×", ratio), r.note)
		}
		rows = append(rows, row)
	}
	return printRows(w, head, rows, md)
}

func printRows(w *os.File, head []string, rows [][]string, md bool) error {
	if md {
		fmt.Fprintf(w, "| %s |\n|%s\n", strings.Join(head, " | "), strings.Repeat("---|", len(head)))
		for _, r := range rows {
			fmt.Fprintf(w, "| %s |\n", strings.Join(r, " | "))
		}
		return nil
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, strings.Join(head, "\t"))
	for _, r := range rows {
		fmt.Fprintln(tw, strings.Join(r, "\t"))
	}
	return tw.Flush()
}
