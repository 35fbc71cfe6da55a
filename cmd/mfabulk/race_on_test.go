//go:build unix && race

package main

// The race detector keeps shadow memory for the heap and needs terabytes
// of address space, so memory bounds are scaled and rlimits left off (in
// the unix-only hostile manifest tests).
const (
	raceEnabled      = true
	raceMemoryFactor = 4
)
