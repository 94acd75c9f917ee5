package raft

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The Figure 8 bug is a named option a scenario or the CLI can switch on
// (--option bug=figure8); TestFigure8 shows what it breaks.
func TestBugOption(t *testing.T) {
	o := DefaultOptions()
	require.NoError(t, o.Validate(5, nil))
	assert.False(t, o.commitsOldTerms())
	o.Bug = BugFigure8
	require.NoError(t, o.Validate(5, nil))
	assert.True(t, o.commitsOldTerms())
	o.Bug = "off-by-one"
	assert.ErrorContains(t, o.Validate(5, nil), "options.bug")
}
