// Command capacity finds, for each codec mix and speaking scenario, the
// largest conference that stays within a share of real time (default 50%)
// on one core and on all cores, and prints a table with the p99 tick time.
// It writes every measured point to a CSV file and draws µs per tick
// against N as an SVG chart.
//
// One core: one conference, ticked by one goroutine with GOMAXPROCS(1) —
// what one Engine worker carries. All cores: as many conferences as cores,
// N/cores participants each, each ticked by its own goroutine with
// GOMAXPROCS(cores), as an Engine's workers tick them; N is the total.
// Every room runs SRTP both ways; the senders' work (encoding is done
// beforehand, SRTP protect per packet) is outside the timed tick.
//
// Split room (-split N, default 4000; 0 skips it): one Opus room of N
// with 3 talkers run by a real mixer.Engine (one tick per ptime, the inbound
// packets written between ticks), on 1 worker and
// on all cores' workers with EngineConfig.SplitAt (mixer.SuggestedSplitAt),
// the two interleaved over -splitrounds rounds; it reports each one's mean
// and p99 tick, its CPU time per tick, and the ratios of 1 worker to all.
//
//	go run ./bench/cmd/capacity -csv bench/results/capacity.csv -svg bench/results/capacity.svg
package main

import (
	"encoding/csv"
	"flag"
	"fmt"
	"io"
	"log"
	"os"
	"runtime"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/rtpmix/rtpmix/bench"
)

func main() {
	codecs := flag.String("codec", strings.Join(bench.Codecs, ","), "codec mixes: PCMU, Opus, mix")
	scenarios := flag.String("scenario", strings.Join(bench.Scenarios, ","), "speaking scenarios: 3talk, all")
	small := flag.String("small", bench.CodecOpus, "codec mixes to run the small-room scenarios (turns4, all4: rooms of four taking turns, and all talking) for; empty for none")
	share := flag.Float64("share", 0.5, "share of real time the mean tick may take")
	ticks := flag.Int("ticks", 100, "measured ticks per size")
	warmup := flag.Int("warmup", 50, "ticks before measuring")
	maxN := flag.Int("max", 20000, "largest N tried")
	allCores := flag.Bool("allcores", true, "also measure on all cores (skipped when there is only one)")
	testdata := flag.String("testdata", "", "directory of the speech clips (default: the nearest testdata/ above the working directory)")
	csvPath := flag.String("csv", "", "write every measured point to this CSV file")
	svgPath := flag.String("svg", "", "write the chart of µs per tick against N to this SVG file")
	md := flag.Bool("md", false, "print the table as Markdown")
	verbose := flag.Bool("v", false, "log each point as it is measured")
	splitN := flag.Int("split", 4000, "participants of the split-room scenario (one Opus room, 3 talkers, 1 worker against all cores' workers splitting it); 0 skips it")
	splitRounds := flag.Int("splitrounds", 3, "rounds of the split-room scenario, 1 worker and all workers interleaved")
	splitTicks := flag.Int("splitticks", 250, "measured ticks of each split-room run")
	flag.Parse()

	clips, err := bench.LoadClips(*testdata, 250)
	if err != nil {
		log.Fatal(err)
	}
	coreSets := []int{1}
	if n := runtime.NumCPU(); *allCores && n > 1 {
		coreSets = append(coreSets, n)
	}
	type row struct {
		codec, scenario string
		best            map[int]bench.Point
	}
	var rows []row
	var points []bench.Point
	start := time.Now()
	type pair struct{ codec, scenario string }
	var pairs []pair
	for _, c := range split(*codecs) {
		for _, sc := range split(*scenarios) {
			pairs = append(pairs, pair{c, sc})
		}
	}
	for _, c := range split(*small) {
		for _, sc := range bench.SmallScenarios {
			pairs = append(pairs, pair{c, sc})
		}
	}
	for _, pr := range pairs {
		c, sc := pr.codec, pr.scenario
		r := row{codec: c, scenario: sc, best: map[int]bench.Point{}}
		for _, cores := range coreSets {
			cfg := bench.CapacityConfig{Codec: c, Scenario: sc, Clips: clips, Cores: cores,
				Share: *share, Ticks: *ticks, Warmup: *warmup, MaxN: *maxN}
			if *verbose {
				cfg.Log = func(p bench.Point) {
					log.Printf("%s/%s cores=%d N=%d mean=%v p99=%v fits=%v", p.Codec, p.Scenario, p.Cores, p.N, p.Mean, p.P99, p.Fits)
				}
			}
			best, pts, err := bench.FindCapacity(cfg)
			if err != nil {
				log.Fatal(err)
			}
			r.best[cores] = best
			points = append(points, pts...)
		}
		rows = append(rows, r)
	}

	// The table.
	budget := time.Duration(*share * float64(bench.Ptime))
	if len(rows) == 0 {
		// -codec '' -small '': the split room alone.
	} else if *md {
		fmt.Printf("Largest N with mean tick ≤ %v (%.0f%% of %v) and p99 ≤ %v; SRTP both ways.\n\n", budget, *share*100, bench.Ptime, bench.Ptime)
		head := "| codec | speakers | 1 core: N | mean | p99 | µs/participant |"
		sep := "|---|---|---:|---:|---:|---:|"
		if len(coreSets) > 1 {
			head += fmt.Sprintf(" %d cores: N | mean | p99 |", coreSets[1])
			sep += "---:|---:|---:|"
		}
		fmt.Println(head)
		fmt.Println(sep)
		for _, r := range rows {
			b := r.best[1]
			fmt.Printf("| %s | %s | %d | %s | %s | %s |", r.codec, r.scenario, b.N, us(b.Mean), us(b.P99), perPart(b))
			if len(coreSets) > 1 {
				a := r.best[coreSets[1]]
				fmt.Printf(" %d | %s | %s |", a.N, us(a.Mean), us(a.P99))
			}
			fmt.Println()
		}
	} else {
		tw := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
		head := "codec\tspeakers\t1 core: N\tmean\tp99\tµs/participant\t"
		if len(coreSets) > 1 {
			head += fmt.Sprintf("%d cores: N\tmean\tp99\t", coreSets[1])
		}
		fmt.Fprintln(tw, head)
		for _, r := range rows {
			b := r.best[1]
			fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%s\t%s\t", r.codec, r.scenario, b.N, us(b.Mean), us(b.P99), perPart(b))
			if len(coreSets) > 1 {
				a := r.best[coreSets[1]]
				fmt.Fprintf(tw, "%d\t%s\t%s\t", a.N, us(a.Mean), us(a.P99))
			}
			fmt.Fprintln(tw)
		}
		tw.Flush()
	}
	if *splitN > 0 {
		if err := splitRoom(clips, *splitN, *splitRounds, *splitTicks, *md, *verbose); err != nil {
			log.Fatal(err)
		}
	}
	fmt.Fprintf(os.Stderr, "capacity: %d points in %v\n", len(points), time.Since(start).Round(time.Second))

	if *csvPath != "" {
		if err := writeFile(*csvPath, func(w io.Writer) error { return writeCSV(w, points) }); err != nil {
			log.Fatal(err)
		}
	}
	if *svgPath != "" {
		ch := &bench.Chart{
			Title:  "rtpmix: µs per 20 ms tick against participants (SRTP both ways, one core)",
			XLabel: "participants in the conference (N)",
			YLabel: "µs per tick (mean)",
			HLines: map[string]float64{fmt.Sprintf("%.0f%% of real time", *share*100): float64(budget.Microseconds())},
		}
		for _, r := range rows {
			s := bench.Series{Name: r.codec + " " + r.scenario, Dashed: r.scenario == bench.TalkAll || r.scenario == bench.All4}
			for _, p := range points {
				if p.Codec == r.codec && p.Scenario == r.scenario && p.Cores == 1 {
					s.X = append(s.X, float64(p.N))
					s.Y = append(s.Y, float64(p.Mean.Nanoseconds())/1000)
				}
			}
			ch.Series = append(ch.Series, s)
		}
		if err := writeFile(*svgPath, ch.WriteSVG); err != nil {
			log.Fatal(err)
		}
	}
}

func split(s string) []string {
	var out []string
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}

func us(d time.Duration) string { return fmt.Sprintf("%.0f µs", float64(d.Nanoseconds())/1000) }

func perPart(p bench.Point) string {
	if p.N == 0 {
		return "-"
	}
	return fmt.Sprintf("%.2f", float64(p.Mean.Nanoseconds())/1000/float64(p.N))
}

func writeCSV(w io.Writer, pts []bench.Point) error {
	cw := csv.NewWriter(w)
	_ = cw.Write([]string{"codec", "scenario", "cores", "rooms", "n", "ticks", "mean_us", "p50_us", "p99_us", "max_us", "share", "fits"})
	f := func(d time.Duration) string { return strconv.FormatFloat(float64(d.Nanoseconds())/1000, 'f', 1, 64) }
	for _, p := range pts {
		_ = cw.Write([]string{p.Codec, p.Scenario, strconv.Itoa(p.Cores), strconv.Itoa(p.Rooms), strconv.Itoa(p.N), strconv.Itoa(p.Ticks),
			f(p.Mean), f(p.P50), f(p.P99), f(p.Max), strconv.FormatFloat(p.Share(), 'f', 3, 64), strconv.FormatBool(p.Fits)})
	}
	cw.Flush()
	return cw.Error()
}

func writeFile(path string, write func(io.Writer) error) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := write(f); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
