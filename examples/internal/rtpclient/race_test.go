//go:build race

package rtpclient

// raceEnabled: under the race detector sync.Pool drops items at random
// (pion/srtp pools its buffers), so allocation tests skip.
const raceEnabled = true
