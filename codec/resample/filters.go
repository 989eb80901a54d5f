package resample

// A prototype is a linear-phase lowpass designed at the intermediate rate
// L·inRate = M·outRate of a conversion (see design_test.go, which writes
// filters_table.go). Its taps sum to 1; New scales them by L.
type prototype struct {
	name string
	k    int // the largest of L and M the prototype serves
	taps []float32
}

// The sharp prototypes carry the band edges the package promises: flat to
// 0.9 and at least 80 dB down from 1.0 of the lower rate's Nyquist. The
// relaxed one follows a sharp ×2 stage (8↔16 kHz) in the 8↔48 kHz chain, where
// the signal is already band-limited to 4 kHz, so it only has to pass 3.6 kHz
// and stop from 12 kHz: 23 taps instead of 239.
var (
	sharp2  = prototype{"sharp2", 2, sharp2Taps[:]}
	sharp3  = prototype{"sharp3", 3, sharp3Taps[:]}
	sharp4  = prototype{"sharp4", 4, sharp4Taps[:]}
	relax3  = prototype{"relax3", 3, relax3Taps[:]}
	allProt = []*prototype{&sharp2, &sharp3, &sharp4, &relax3}
)

// Band edges of the prototypes, in cycles per sample at the intermediate
// rate. design_test.go designs to them and quality_test.go checks them.
type bandEdges struct{ pass, stop float64 }

func (p *prototype) edges() bandEdges {
	if p == &relax3 {
		// 3.6 kHz and 12 kHz at 48 kHz.
		return bandEdges{pass: 0.075, stop: 0.25}
	}
	k := float64(p.k)
	return bandEdges{pass: 0.9 / (2 * k), stop: 1 / (2 * k)}
}
