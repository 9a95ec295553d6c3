//go:build race

package store

// raceEnabled reports that the tests run under the race detector, which
// makes the SQLite engine (pure Go) about a hundred times slower.
const raceEnabled = true
