//go:build race

package srtp

// raceEnabled: the race detector changes what escapes, so allocation
// bounds on pion's error paths are checked only without it.
const raceEnabled = true
