package netsim

import "math"

// Rand is a small deterministic generator (SplitMix64), good enough for
// simulation and stable forever, unlike math/rand's distributions, whose
// algorithms may change between Go releases.
type Rand struct {
	s     uint64
	spare float64
	has   bool
}

// NewRand returns a generator seeded with seed.
func NewRand(seed uint64) *Rand { return &Rand{s: seed} }

// Uint64 returns 64 random bits.
func (r *Rand) Uint64() uint64 {
	r.s += 0x9e3779b97f4a7c15
	z := r.s
	z = (z ^ z>>30) * 0xbf58476d1ce4e5b9
	z = (z ^ z>>27) * 0x94d049bb133111eb
	return z ^ z>>31
}

// Float64 returns a uniform number in [0, 1).
func (r *Rand) Float64() float64 { return float64(r.Uint64()>>11) / (1 << 53) }

// Norm returns a standard normal number (Box–Muller).
func (r *Rand) Norm() float64 {
	if r.has {
		r.has = false
		return r.spare
	}
	u := 1 - r.Float64() // (0, 1]
	v := r.Float64()
	m := math.Sqrt(-2 * math.Log(u))
	r.spare, r.has = m*math.Sin(2*math.Pi*v), true
	return m * math.Cos(2*math.Pi*v)
}

// Exp returns an exponential number with the given mean.
func (r *Rand) Exp(mean float64) float64 { return -mean * math.Log(1-r.Float64()) }

// Pareto returns a Pareto number with minimum xm and shape alpha.
func (r *Rand) Pareto(xm, alpha float64) float64 {
	return xm / math.Pow(1-r.Float64(), 1/alpha)
}
