package jitter_test

import (
	"reflect"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/rtpmix/rtpmix/jitter"
)

// TestConfigMerge: every field set in the override survives Merge, every
// field left zero inherits the base's, and each field lands in itself. The
// fields are found by reflection, so a field added to Config and forgotten
// in Merge fails here (as does one of a kind setField does not know).
func TestConfigMerge(t *testing.T) {
	var base, over jitter.Config
	bv, ov := reflect.ValueOf(&base).Elem(), reflect.ValueOf(&over).Elem()
	n := ov.NumField()
	require.Greater(t, n, 1)
	for i := range n {
		// Distinct values throughout, so a field copied into another
		// shows.
		setField(t, bv, i, 1+i, false)
		setField(t, ov, i, 1+n+i, true)
	}

	assert.Equal(t, over, base.Merge(over), "every field of the override survives")
	assert.Equal(t, base, base.Merge(jitter.Config{}), "a zero override inherits every field")
	assert.Equal(t, over, jitter.Config{}.Merge(over), "over zero defaults")

	for i := range n {
		name := ov.Type().Field(i).Name
		var one jitter.Config
		reflect.ValueOf(&one).Elem().Field(i).Set(ov.Field(i))
		want := base
		reflect.ValueOf(&want).Elem().Field(i).Set(ov.Field(i))
		assert.Equal(t, want, base.Merge(one), "overriding %s alone", name)
	}
}

// setField sets field i of the struct v to a non-zero value derived from
// x (x > 0); for the override (over) a bool is true, for the base false,
// so that a dropped override shows.
func setField(t *testing.T, v reflect.Value, i, x int, over bool) {
	t.Helper()
	f, name := v.Field(i), v.Type().Field(i).Name
	if !f.CanSet() {
		t.Fatalf("Config.%s is unexported: Merge cannot be checked for it", name)
	}
	switch f.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		f.SetInt(int64(x))
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		f.SetUint(uint64(x))
	case reflect.Float32, reflect.Float64:
		f.SetFloat(float64(x) + 0.5)
	case reflect.Bool:
		f.SetBool(over)
	case reflect.String:
		f.SetString(name + string(rune('a'+x%26)))
	default:
		t.Fatalf("Config.%s is a %v: teach setField (and check Merge) about it", name, f.Kind())
	}
	if f.IsZero() && over {
		t.Fatalf("Config.%s: %d gave a zero value", name, x)
	}
}

// TestConfigMergeNew: a merged config is one New accepts as it would the
// parts, the override's fields winning.
func TestConfigMergeNew(t *testing.T) {
	base := jitter.Config{ClockRate: 8000, MaxDelay: 500 * time.Millisecond, Quantile: 0.99, QuietLevel: 50}
	over := jitter.Config{ClockRate: 48000, Quantile: 0.95, ForgetFactor: 0.998, Window: time.Second}
	b, err := jitter.New(base.Merge(over))
	require.NoError(t, err)
	c := b.Config()
	assert.Equal(t, 48000, c.ClockRate)
	assert.Equal(t, 500*time.Millisecond, c.MaxDelay)
	assert.Equal(t, 0.95, c.Quantile)
	assert.Equal(t, 0.998, c.ForgetFactor)
	assert.Equal(t, time.Second, c.Window)
	assert.Equal(t, 50, c.QuietLevel)
}

// TestCapacityFromMaxDelay: a zero Capacity holds MaxDelay of
// FrameDuration packets ahead of the cursor (less the eighth kept for
// reordering before the first packet, and the slots handed back late);
// a bursty source's MaxDelay also moves the resync threshold, so that its
// bursts are not taken for jumps.
func TestCapacityFromMaxDelay(t *testing.T) {
	cases := []struct {
		name     string
		cfg      jitter.Config
		capacity int
		resync   time.Duration
	}{
		{"defaults", jitter.Config{}, jitter.DefaultCapacity, jitter.DefaultResyncThreshold},
		{"10 ms packets", jitter.Config{FrameDuration: 10 * time.Millisecond}, 128, jitter.DefaultResyncThreshold},
		{"60 ms packets", jitter.Config{FrameDuration: 60 * time.Millisecond}, 32, jitter.DefaultResyncThreshold},
		{"6 s of bursts", jitter.Config{MaxDelay: 6 * time.Second}, 512, 8 * time.Second},
		{"a minute", jitter.Config{MaxDelay: time.Minute}, 4096, time.Minute + 2*time.Second},
		{"given", jitter.Config{Capacity: 16, MaxDelay: 6 * time.Second}, 16, 8 * time.Second},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tc.cfg.ClockRate = 48000
			b, err := jitter.New(tc.cfg)
			require.NoError(t, err)
			c := b.Config()
			assert.Equal(t, tc.capacity, c.Capacity)
			assert.Equal(t, tc.resync, c.ResyncThreshold)
			if tc.cfg.Capacity == 0 && c.Capacity < 4096 {
				ahead := c.Capacity - c.Capacity/8 - 4
				assert.GreaterOrEqual(t, time.Duration(ahead)*c.FrameDuration, c.MaxDelay)
			}
		})
	}
}
