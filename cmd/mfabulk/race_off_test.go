//go:build unix && !race

package main

const (
	raceEnabled      = false
	raceMemoryFactor = 1
)
