//go:build !race

package store

// raceEnabled reports that the tests run under the race detector.
const raceEnabled = false
