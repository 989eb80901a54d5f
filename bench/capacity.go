package bench

import (
	"fmt"
	"runtime"
	"slices"
	"sync"
	"time"
)

// Point is one measured room size: tick times over a run.
type Point struct {
	Codec, Scenario string
	Cores           int // goroutines ticking rooms in parallel (GOMAXPROCS)
	N               int // participants in all rooms together
	Rooms           int
	Ticks           int // measured ticks per room
	Mean, P50, P99  time.Duration
	Max             time.Duration
	Fits            bool
}

// Share returns the mean tick as a share of real time.
func (p Point) Share() float64 { return float64(p.Mean) / float64(Ptime) }

// CapacityConfig says what to measure and what fits.
type CapacityConfig struct {
	Codec, Scenario string
	Clips           *Clips
	// Cores: 1 runs one room with GOMAXPROCS(1); more runs that many rooms
	// of N/Cores participants, each ticked by its own goroutine, with
	// GOMAXPROCS(Cores), as an Engine's workers would run them.
	Cores int
	// Share of real time the mean tick may take; default 0.5. A size fits
	// when the mean tick of every room is within Share·ptime and its p99
	// within ptime (no tick misses its deadline).
	Share  float64
	Ticks  int // measured ticks per size; default 100
	Warmup int // ticks before measuring; default 50
	MaxN   int // largest N tried; default 20000
	// Grid holds the sizes tried first, in increasing order, until one does
	// not fit; then the search bisects down to a 5% step. Default 10, 30,
	// 100, 300, 1000, 3000, 10000, 20000.
	Grid []int
	// Log, when set, receives each point as it is measured.
	Log func(Point)
}

func (c *CapacityConfig) defaults() {
	if c.Cores <= 0 {
		c.Cores = 1
	}
	if c.Share <= 0 {
		c.Share = 0.5
	}
	if c.Ticks <= 0 {
		c.Ticks = 100
	}
	if c.Warmup <= 0 {
		c.Warmup = 50
	}
	if c.MaxN <= 0 {
		c.MaxN = 20000
	}
	if len(c.Grid) == 0 {
		c.Grid = []int{10, 30, 100, 300, 1000, 3000, 10000, 20000}
	}
}

// FindCapacity returns the largest N that fits (0 if none does) and every
// point it measured, in order of N.
func FindCapacity(cfg CapacityConfig) (Point, []Point, error) {
	cfg.defaults()
	prev := runtime.GOMAXPROCS(cfg.Cores)
	defer runtime.GOMAXPROCS(prev)

	var pts []Point
	measure := func(n int) (Point, error) {
		p, err := Measure(cfg, n)
		if err != nil {
			return p, err
		}
		pts = append(pts, p)
		if cfg.Log != nil {
			cfg.Log(p)
		}
		return p, nil
	}
	var best Point
	lo, hi := 0, 0
	for _, n := range cfg.Grid {
		if n > cfg.MaxN || n < cfg.Cores {
			continue
		}
		p, err := measure(n)
		if err != nil {
			return best, pts, err
		}
		if !p.Fits {
			hi = n
			break
		}
		best, lo = p, n
	}
	for hi > 0 && hi-lo > max(lo/20, cfg.Cores) {
		n := (lo + hi) / 2
		p, err := measure(n)
		if err != nil {
			return best, pts, err
		}
		if p.Fits {
			best, lo = p, n
		} else {
			hi = n
		}
	}
	slices.SortFunc(pts, func(a, b Point) int { return a.N - b.N })
	return best, pts, nil
}

// Measure builds cfg.Cores rooms of n participants in all (for the
// small-room scenarios, cfg.Cores sets of rooms of four), ticks them in
// parallel and returns the tick times of all rooms (sets) together.
func Measure(cfg CapacityConfig, n int) (Point, error) {
	cfg.defaults()
	rooms := make([]ticker, cfg.Cores)
	defer func() {
		for _, r := range rooms {
			if r != nil {
				r.Close()
			}
		}
		runtime.GC() // the next size starts without this one's garbage
	}()
	for i := range rooms {
		size := n / cfg.Cores
		if i < n%cfg.Cores {
			size++
		}
		r, err := newTicker(RoomConfig{N: size, Codec: cfg.Codec, Scenario: cfg.Scenario, Clips: cfg.Clips, Warmup: cfg.Warmup,
			Seed: uint64(i) * 1000})
		if err != nil {
			return Point{}, fmt.Errorf("bench: room of %d: %w", size, err)
		}
		rooms[i] = r
	}
	runtime.GC()
	times := make([][]time.Duration, len(rooms))
	var wg sync.WaitGroup
	for i, r := range rooms {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ts := make([]time.Duration, cfg.Ticks)
			for k := range ts {
				r.Prepare()
				t0 := time.Now()
				r.Tick()
				ts[k] = time.Since(t0)
			}
			times[i] = ts
		}()
	}
	wg.Wait()

	nrooms := 0
	for _, r := range rooms {
		if s, ok := r.(*RoomSet); ok {
			nrooms += len(s.Rooms)
		} else {
			nrooms++
		}
	}
	p := Point{Codec: cfg.Codec, Scenario: cfg.Scenario, Cores: cfg.Cores, N: n, Rooms: nrooms, Ticks: cfg.Ticks, Fits: true}
	var all []time.Duration
	for _, ts := range times {
		st := summarise(ts)
		if st.Mean > time.Duration(cfg.Share*float64(Ptime)) || st.P99 > Ptime {
			p.Fits = false
		}
		all = append(all, ts...)
	}
	st := summarise(all)
	p.Mean, p.P50, p.P99, p.Max = st.Mean, st.P50, st.P99, st.Max
	return p, nil
}

type summary struct{ Mean, P50, P99, Max time.Duration }

func summarise(ts []time.Duration) summary {
	if len(ts) == 0 {
		return summary{}
	}
	s := slices.Clone(ts)
	slices.Sort(s)
	var sum time.Duration
	for _, t := range s {
		sum += t
	}
	return summary{
		Mean: sum / time.Duration(len(s)),
		P50:  s[len(s)/2],
		P99:  s[max(0, (len(s)*99+99)/100-1)], // nearest rank
		Max:  s[len(s)-1],
	}
}
