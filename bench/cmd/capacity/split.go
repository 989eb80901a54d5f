package main

import (
	"fmt"
	"log"
	"os"
	"runtime"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/rtpmix/rtpmix/bench"
	"github.com/rtpmix/rtpmix/mixer"
)

// splitRoom measures one Opus room of n with 3 talkers on an Engine of 1
// worker and of runtime.NumCPU() workers splitting it, rounds times each,
// interleaved, and prints each run and the ratios of the medians.
func splitRoom(clips *bench.Clips, n, rounds, ticks int, md, verbose bool) error {
	cores := runtime.NumCPU()
	prev := runtime.GOMAXPROCS(cores)
	defer runtime.GOMAXPROCS(prev)
	type mode struct{ workers, splitAt int }
	modes := []mode{{1, 0}}
	if cores > 1 {
		modes = append(modes, mode{cores, mixer.SuggestedSplitAt})
	}
	runs := make([][]bench.SplitPoint, len(modes))
	for round := range max(1, rounds) {
		for i, m := range modes {
			p, err := bench.MeasureSplit(bench.SplitConfig{N: n, Codec: bench.CodecOpus, Scenario: bench.Talk3, Clips: clips,
				Workers: m.workers, SplitAt: m.splitAt, Ticks: ticks})
			if err != nil {
				return err
			}
			if verbose {
				log.Printf("split round %d: workers=%d splitAt=%d mean=%v p99=%v cpu=%v feed=%v packets/tick=%.0f overruns=%d",
					round+1, p.Workers, p.SplitAt, p.Mean, p.P99, p.CPU, p.Feed, p.Packets, p.Overruns)
			}
			runs[i] = append(runs[i], p)
			runtime.GC()
		}
	}
	load := "?"
	if b, err := os.ReadFile("/proc/loadavg"); err == nil && len(b) > 0 {
		load = string(b[:len(b)-1])
	}
	ms := func(d time.Duration) string { return fmt.Sprintf("%.2f", float64(d.Microseconds())/1000) }
	title := fmt.Sprintf("Split room: one Opus room of %d, 3 talkers, SRTP both ways, run by a mixer.Engine (inbound packets written between ticks); "+
		"1 worker against %d workers with SplitAt %d, %d rounds interleaved, %d ticks each (load average %s).",
		n, cores, mixer.SuggestedSplitAt, max(1, rounds), ticks, load)
	head := []string{"workers", "SplitAt", "round", "ms/tick mean", "p99", "CPU ms/tick", "packets/tick", "overruns"}
	if md {
		fmt.Printf("\n%s\n\n", title)
		fmt.Println("| " + strings.Join(head, " | ") + " |")
		fmt.Println("|---:|---:|---:|---:|---:|---:|---:|---:|")
	} else {
		fmt.Printf("\n%s\n", title)
	}
	tw := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
	if !md {
		fmt.Fprintln(tw, strings.Join(head, "\t")+"\t")
	}
	for round := range max(1, rounds) {
		for i := range modes {
			p := runs[i][round]
			f := []string{fmt.Sprint(p.Workers), fmt.Sprint(p.SplitAt), fmt.Sprint(round + 1), ms(p.Mean), ms(p.P99), ms(p.CPU),
				fmt.Sprintf("%.0f", p.Packets), fmt.Sprint(p.Overruns)}
			if md {
				fmt.Println("| " + strings.Join(f, " | ") + " |")
			} else {
				fmt.Fprintln(tw, strings.Join(f, "\t")+"\t")
			}
		}
	}
	tw.Flush()
	if len(modes) > 1 {
		med := func(ps []bench.SplitPoint, f func(bench.SplitPoint) time.Duration) time.Duration {
			v := make([]time.Duration, len(ps))
			for i, p := range ps {
				v[i] = f(p)
			}
			return median(v)
		}
		mean := func(p bench.SplitPoint) time.Duration { return p.Mean }
		p99 := func(p bench.SplitPoint) time.Duration { return p.P99 }
		cpu := func(p bench.SplitPoint) time.Duration { return p.CPU }
		one, all := runs[0], runs[1]
		fmt.Printf("\nMedians: 1 worker %s ms/tick (p99 %s, CPU %s), %d workers %s ms/tick (p99 %s, CPU %s): "+
			"speed-up %.2f× (mean), %.2f× (p99); CPU split/unsplit %.2f.\n",
			ms(med(one, mean)), ms(med(one, p99)), ms(med(one, cpu)), cores, ms(med(all, mean)), ms(med(all, p99)), ms(med(all, cpu)),
			ratio(med(one, mean), med(all, mean)), ratio(med(one, p99), med(all, p99)), ratio(med(all, cpu), med(one, cpu)))
	}
	return nil
}

func median(v []time.Duration) time.Duration {
	if len(v) == 0 {
		return 0
	}
	s := slices.Clone(v)
	slices.Sort(s)
	return s[len(s)/2]
}

func ratio(a, b time.Duration) float64 {
	if b == 0 {
		return 0
	}
	return float64(a) / float64(b)
}
