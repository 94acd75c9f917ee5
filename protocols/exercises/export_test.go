package exercises

import "github.com/synod-dev/synod/sim"

// NewLeaderPerTermForTest exposes the election-safety checker to the
// package's external tests.
func NewLeaderPerTermForTest() sim.Checker { return newLeaderPerTerm() }
