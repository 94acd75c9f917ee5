package protocols

import (
	"testing"

	"github.com/stretchr/testify/require"
)

// TestOpLogCopiesAreIndependent: copies share finished chunks but not the
// tail; changing the last record or appending in one (across chunk
// boundaries) leaves the other as it was.
func TestOpLogCopiesAreIndependent(t *testing.T) {
	var l OpLog
	for n := 0; n < 3*opChunk+5; n++ {
		c := l.clone()
		before := l.AppendTo(nil)
		c.Append(OpRecord{Seq: int64(n), Status: OpPending})
		c.At(c.Len() - 1).Status = OpOK
		require.Equal(t, before, l.AppendTo(nil), "the original changed after %d appends to a copy", n)
		require.Equal(t, n+1, c.Len())
		for i := 0; i < c.Len(); i++ {
			require.Equal(t, int64(i), c.At(i).Seq, "record %d of %d", i, c.Len())
		}
		l = c
	}
	require.Panics(t, func() { l.At(l.Len()) })
}
