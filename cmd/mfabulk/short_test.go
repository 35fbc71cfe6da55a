package main

import "testing"

// sample is how many trials, seeds or devices a long matrix runs: full
// by default (make test FULL=1, as .ci/run runs it), short with -short
// (make test), which must stay under 10 minutes on a 2-core machine. A
// short sample still runs the matrix's every check, on fewer cases, so
// make test exercises each path a matrix covers instead of skipping it.
func sample(full, short int) int {
	if testing.Short() {
		return short
	}
	return full
}
