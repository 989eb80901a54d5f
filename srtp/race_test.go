//go:build race

package srtp

// raceEnabled: under the race detector sync.Pool drops items at random
// (the compact backend pools its AES-CM scratch, pion its buffers) and
// what escapes changes, so allocation counts are checked only without it
// (make allocs).
const raceEnabled = true
