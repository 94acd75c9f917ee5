package explore

// SetClaimsMax sets the bound on claims for a test and returns what
// restores it.
func SetClaimsMax(n int) (restore func()) {
	old := claimsMax
	claimsMax = n
	return func() { claimsMax = old }
}
