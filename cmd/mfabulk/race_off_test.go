//go:build !race

package main

const (
	raceEnabled      = false
	raceMemoryFactor = 1
)
