package resample

import (
	"bytes"
	"flag"
	"fmt"
	"go/format"
	"math"
	"os"
	"sort"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var update = flag.Bool("update", false, "rewrite filters_table.go from the filter design")

// designSpec is what each prototype is designed to: an odd length (type I,
// so the group delay is a whole number of intermediate samples) and the
// stopband weight of the minimax design. The passband may ripple by up to
// 0.1 dB but the stopband must reach 80 dB, so the stopband error is weighted
// about 50 times the passband error: that buys roughly 30% fewer taps than a
// Kaiser window of the same attenuation, which spends its error equally.
type designSpec struct {
	p      *prototype
	n      int
	weight float64
}

var designs = []designSpec{
	// 159 taps = 80 per phase at ×2, ten 8-wide vectors.
	{&sharp2, 159, 50},
	{&sharp3, 239, 50},
	{&sharp4, 319, 50},
	// 23 taps = 8 per phase at ×3: one vector per output.
	{&relax3, 23, 40},
}

// designPrototype runs the Parks–McClellan (Remez exchange) design for a
// type I lowpass of odd length n with band edges e (cycles per sample) and
// returns taps normalised to unit DC gain.
func designPrototype(n int, e bandEdges, ws float64) ([]float64, error) {
	m := (n - 1) / 2 // A(ω) = Σ_{k=0..m} a_k cos kω
	r := m + 2       // extremal points
	ng := 16 * r
	wp, wsb := 2*math.Pi*e.pass, 2*math.Pi*e.stop
	np := int(float64(ng) * wp / (wp + math.Pi - wsb))
	np = max(np, r/4)
	ns := ng - np
	var grid, des, wt []float64
	for i := 0; i < np; i++ {
		grid = append(grid, wp*float64(i)/float64(np-1))
		des = append(des, 1)
		wt = append(wt, 1)
	}
	for i := 0; i < ns; i++ {
		grid = append(grid, wsb+(math.Pi-wsb)*float64(i)/float64(ns-1))
		des = append(des, 0)
		wt = append(wt, ws)
	}
	G := len(grid)
	x := make([]float64, G)
	for i, w := range grid {
		x[i] = math.Cos(w)
	}
	// Initial extremals spread over each band in proportion to its share of
	// the grid, both edges of each band included; a single uniform spread
	// can start degenerate when the bands are nearly symmetric (K = 2).
	ext := make([]int, r)
	rp := max(int(math.Round(float64(r)*float64(np)/float64(G))), 2)
	for i := 0; i < rp; i++ {
		ext[i] = int(float64(i) * float64(np-1) / float64(rp-1))
	}
	for i := 0; i < r-rp; i++ {
		ext[rp+i] = np + int(float64(i)*float64(ns-1)/float64(r-rp-1))
	}
	// Barycentric weights in the log domain: the products over 160 points
	// overflow float64 otherwise, and a common factor cancels in every use.
	bary := func(idx []int) []float64 {
		lg := make([]float64, len(idx))
		sg := make([]float64, len(idx))
		mx := math.Inf(-1)
		for i := range idx {
			s, l := 1.0, 0.0
			for j := range idx {
				if j == i {
					continue
				}
				d := x[idx[i]] - x[idx[j]]
				if d < 0 {
					s = -s
				}
				l -= math.Log(math.Abs(d))
			}
			lg[i], sg[i] = l, s
			mx = math.Max(mx, l)
		}
		b := make([]float64, len(idx))
		for i := range b {
			b[i] = sg[i] * math.Exp(lg[i]-mx)
		}
		return b
	}
	sgn := func(i int) float64 { return 1 - 2*float64(i%2) }
	var delta float64
	var sub, c, bs []float64
	interp := func(xx float64) float64 {
		nn, dd := 0.0, 0.0
		for i := range sub {
			d := xx - sub[i]
			if d == 0 {
				return c[i]
			}
			t := bs[i] / d
			nn += t * c[i]
			dd += t
		}
		return nn / dd
	}
	E := make([]float64, G)
	converged := false
	for iter := 0; iter < 200; iter++ {
		b := bary(ext)
		num, den := 0.0, 0.0
		for i, g := range ext {
			num += b[i] * des[g]
			den += sgn(i) * b[i] / wt[g]
		}
		delta = num / den
		bs = bary(ext[:r-1])
		sub = sub[:0]
		c = c[:0]
		for i, g := range ext[:r-1] {
			sub = append(sub, x[g])
			c = append(c, des[g]-sgn(i)*delta/wt[g])
		}
		mxe := 0.0
		for gi := range grid {
			E[gi] = wt[gi] * (des[gi] - interp(x[gi]))
			mxe = math.Max(mxe, math.Abs(E[gi]))
		}
		if (mxe-math.Abs(delta))/math.Abs(delta) < 1e-6 {
			converged = true
			break
		}
		var alt []int
		for gi := range grid {
			e := E[gi]
			ge := func(j int) bool { return (e > 0 && e >= E[j]) || (e < 0 && e <= E[j]) }
			first := gi == 0 || gi == np
			last := gi == G-1 || gi == np-1
			ok := (first || ge(gi-1)) && (last || ge(gi+1))
			if !ok || math.Abs(e) < math.Abs(delta)*(1-1e-6) {
				continue
			}
			if len(alt) > 0 && (E[alt[len(alt)-1]] > 0) == (e > 0) {
				if math.Abs(e) > math.Abs(E[alt[len(alt)-1]]) {
					alt[len(alt)-1] = gi
				}
				continue
			}
			alt = append(alt, gi)
		}
		for len(alt) > r {
			if math.Abs(E[alt[0]]) < math.Abs(E[alt[len(alt)-1]]) {
				alt = alt[1:]
			} else {
				alt = alt[:len(alt)-1]
			}
		}
		if len(alt) < r {
			return nil, fmt.Errorf("remez: only %d alternations of %d at iteration %d", len(alt), r, iter)
		}
		sort.Ints(alt)
		ext = alt
	}
	if !converged {
		return nil, fmt.Errorf("remez: no convergence for n=%d", n)
	}
	// Sample A(ω) on the DFT grid and invert the cosine series.
	A := make([]float64, m+1)
	for k := range A {
		A[k] = interp(math.Cos(2 * math.Pi * float64(k) / float64(n)))
	}
	h := make([]float64, n)
	sum := 0.0
	for j := range h {
		s := A[0]
		for k := 1; k <= m; k++ {
			s += 2 * A[k] * math.Cos(2*math.Pi*float64(k)*float64(j-m)/float64(n))
		}
		h[j] = s / float64(n)
	}
	// Exact symmetry keeps the phase exactly linear after rounding.
	for j := 0; j < m; j++ {
		v := (h[j] + h[n-1-j]) / 2
		h[j], h[n-1-j] = v, v
	}
	for _, v := range h {
		sum += v
	}
	for j := range h {
		h[j] /= sum
	}
	return h, nil
}

// TestDesign re-runs the design and checks that filters_table.go holds its
// result (to float32 rounding, allowing for last-bit differences of
// floating point on other platforms). With -update it rewrites the table.
func TestDesign(t *testing.T) {
	var buf bytes.Buffer
	buf.WriteString("// Code generated by go test -run TestDesign -update; DO NOT EDIT.\n\npackage resample\n")
	for _, d := range designs {
		h, err := designPrototype(d.n, d.p.edges(), d.weight)
		require.NoError(t, err, d.p.name)
		fmt.Fprintf(&buf, "\n// %s: %d taps, passband %.4f, stopband %.4f cycles/sample, stopband weight %g.\nvar %sTaps = [%d]float32{\n",
			d.p.name, d.n, d.p.edges().pass, d.p.edges().stop, d.weight, d.p.name, d.n)
		for i, v := range h {
			fmt.Fprintf(&buf, "%s,", fmt32(v))
			if i%6 == 5 {
				buf.WriteString("\n")
			}
		}
		buf.WriteString("\n}\n")
		if !*update {
			require.Len(t, d.p.taps, d.n, d.p.name)
			for i, v := range h {
				assert.InDelta(t, v, float64(d.p.taps[i]), 1e-7, "%s tap %d", d.p.name, i)
			}
		}
	}
	if *update {
		src, err := format.Source(buf.Bytes())
		require.NoError(t, err)
		require.NoError(t, os.WriteFile("filters_table.go", src, 0o644))
	}
}

func fmt32(v float64) string {
	return fmt.Sprint(float32(v))
}
