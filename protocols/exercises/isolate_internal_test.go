package exercises

import (
	"os/exec"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// shortNets makes the parent's nets short for one test.
func shortNets(t *testing.T, cpu, wall time.Duration) {
	oldCPU, oldWall, oldPoll := childCPUMax, childWallMax, childPollEvery
	childCPUMax, childWallMax, childPollEvery = cpu, wall, 50*time.Millisecond
	t.Cleanup(func() { childCPUMax, childWallMax, childPollEvery = oldCPU, oldWall, oldPoll })
}

// A child that spins outside any handler is stopped by its CPU time.
func TestChildStoppedByCPUTime(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("reads /proc")
	}
	shortNets(t, 500*time.Millisecond, time.Minute)
	cmd := exec.Command("sh", "-c", "while :; do :; done")
	require.NoError(t, cmd.Start())
	kind, why, _ := watchChild(cmd)
	require.Equal(t, "time-limit", kind, why)
	require.Contains(t, why, "of CPU time without finishing")
}

// A child that uses no CPU (a correct solution starved by a loaded
// machine looks like this to the clock) is not stopped by the CPU bound,
// however long it waits: the wall-clock bound is far above it.
func TestStarvedChildNotStoppedByTheClock(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("reads /proc")
	}
	shortNets(t, 300*time.Millisecond, time.Minute)
	cmd := exec.Command("sleep", "1.5")
	require.NoError(t, cmd.Start())
	kind, why, err := watchChild(cmd)
	require.Empty(t, kind, why)
	require.NoError(t, err)
}

// A child that never ends and uses no CPU is stopped by the wall-clock
// bound, as stuck outside the simulation.
func TestBlockedChildStoppedByTheClock(t *testing.T) {
	shortNets(t, time.Minute, 500*time.Millisecond)
	cmd := exec.Command("sleep", "60")
	require.NoError(t, cmd.Start())
	kind, why, _ := watchChild(cmd)
	require.Equal(t, "infinite-loop", kind, why)
	require.True(t, strings.Contains(why, "stuck outside the simulation"), why)
}

// childCPUTime reads a process's CPU time from /proc: a spinning child's
// grows.
func TestChildCPUTimeGrows(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("reads /proc")
	}
	cmd := exec.Command("sh", "-c", "while :; do :; done")
	require.NoError(t, cmd.Start())
	defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()
	var used time.Duration
	for deadline := time.Now().Add(20 * time.Second); used < 100*time.Millisecond && time.Now().Before(deadline); {
		time.Sleep(50 * time.Millisecond)
		var ok bool
		used, ok = childCPUTime(cmd.Process.Pid)
		require.True(t, ok)
	}
	require.GreaterOrEqual(t, used, 100*time.Millisecond)
}
