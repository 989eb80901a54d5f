package g722

import (
	"testing"
)

// TestQuantLowExhaustive: the reciprocal-and-table quantizer gives the
// Recommendation's level-by-level search for every 16-bit difference at
// every scale factor the lower band can reach (NB ≤ 18432, so NB >> 6 ≤ 288).
func TestQuantLowExhaustive(t *testing.T) {
	for ni := range uint32(18432>>6 + 1) {
		det := detLow[ni]
		for el := int32(-32768); el <= 32767; el++ {
			if got, want := quantLow(el, ni), refQuantL(el, det); got != want {
				t.Fatalf("el %d, DET %d: code %d, want %d", el, det, got, want)
			}
		}
	}
}

// TestQuantHighExhaustive does the same for the higher band (NB ≤ 22528).
func TestQuantHighExhaustive(t *testing.T) {
	for ni := range 22528>>6 + 1 {
		det := detHigh[ni]
		for eh := int32(-32768); eh <= 32767; eh++ {
			if got, want := quantHigh(eh, det), refQuantH(eh, det); got != want {
				t.Fatalf("eh %d, DET %d: code %d, want %d", eh, det, got, want)
			}
		}
	}
}

// TestScaleTables: the scale factor tables are SCALEL and SCALEH for every
// log scale factor, and stay below 2¹⁵ (which the products with the
// quantizer levels rely on).
func TestScaleTables(t *testing.T) {
	for nb := int32(0); nb <= 18432; nb++ {
		if got, want := detLow[nb>>6], refScale(nb, 8); got != want || got >= 1<<15 {
			t.Fatalf("NBL %d: DETL %d, want %d", nb, got, want)
		}
	}
	for nb := int32(0); nb <= 22528; nb++ {
		if got, want := detHigh[nb>>6], refScale(nb, 10); got != want || got >= 1<<15 {
			t.Fatalf("NBH %d: DETH %d, want %d", nb, got, want)
		}
	}
	if detLow[0] != detLowReset || detHigh[0] != detHighReset {
		t.Fatalf("reset scale factors %d, %d are not those of NB = 0", detLowReset, detHighReset)
	}
}
