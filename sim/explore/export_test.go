package explore

// SetClaimsMax sets the bound on claims for a test and returns what
// restores it.
func SetClaimsMax(n int) (restore func()) {
	old := claimsMax
	claimsMax = n
	return func() { claimsMax = old }
}

// SetQuietSteps turns quiet steps on or off for a test and returns what
// restores them.
func SetQuietSteps(on bool) (restore func()) {
	old := quietSteps
	quietSteps = on
	return func() { quietSteps = old }
}

// SetSymmetryKeyMistake keys the nodes' parts by their plain fingerprints
// (which name the node) for a test and returns what restores it.
func SetSymmetryKeyMistake(on bool) (restore func()) {
	old := symmetryKeyMistake
	symmetryKeyMistake = on
	return func() { symmetryKeyMistake = old }
}

// SetMergeWorkerKidsMin sets how many kids a level needs per merge worker
// for a test and returns what restores it.
func SetMergeWorkerKidsMin(n int) (restore func()) {
	old := mergeWorkerKidsMin
	mergeWorkerKidsMin = n
	return func() { mergeWorkerKidsMin = old }
}
