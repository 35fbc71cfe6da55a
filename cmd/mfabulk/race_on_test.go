//go:build race

package main

// The race detector keeps shadow memory for the heap and needs terabytes
// of address space, so memory bounds are scaled and rlimits left off.
const (
	raceEnabled      = true
	raceMemoryFactor = 4
)
