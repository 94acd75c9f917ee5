package cli

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v3"
)

// The recipes of docs/scale.md are the files of deploy/, quoted whole, so
// that what people copy is what is tested here.
func TestScaleDocQuotesTheRecipes(t *testing.T) {
	doc, err := os.ReadFile("../../../docs/scale.md")
	require.NoError(t, err)
	for _, f := range []string{"../../../deploy/kubernetes/sweep-job.yaml", "../../../deploy/slurm/sweep.sbatch", "../../../deploy/slurm/submit.sh", "../../../Dockerfile"} {
		b, err := os.ReadFile(f)
		require.NoError(t, err)
		assert.Contains(t, string(doc), string(b), "docs/scale.md must quote %s as it is", f)
	}
}

// TestKubernetesJobCompletes checks the Indexed Job against the rules of
// the Job API (kubernetes.io/docs/concepts/workloads/controllers/job/ and
// tasks/job/pod-failure-policy/), without a cluster: an index whose sweep
// completed, whatever it found, succeeds (exit 0 with --batch), so the Job
// completes; bad input fails the Job instead of retrying forever; a
// disruption is retried without counting. The old recipe ignored exit 1,
// so a pod that found failing seeds was replaced forever.
func TestKubernetesJobCompletes(t *testing.T) {
	b, err := os.ReadFile("../../../deploy/kubernetes/sweep-job.yaml")
	require.NoError(t, err)
	var job struct {
		APIVersion string `yaml:"apiVersion"`
		Kind       string `yaml:"kind"`
		Spec       struct {
			CompletionMode       string `yaml:"completionMode"`
			Completions          int    `yaml:"completions"`
			Parallelism          int    `yaml:"parallelism"`
			BackoffLimitPerIndex *int   `yaml:"backoffLimitPerIndex"`
			PodFailurePolicy     struct {
				Rules []struct {
					Action      string `yaml:"action"`
					OnExitCodes *struct {
						ContainerName string `yaml:"containerName"`
						Operator      string `yaml:"operator"`
						Values        []int  `yaml:"values"`
					} `yaml:"onExitCodes"`
					OnPodConditions []struct {
						Type string `yaml:"type"`
					} `yaml:"onPodConditions"`
				} `yaml:"rules"`
			} `yaml:"podFailurePolicy"`
			Template struct {
				Spec struct {
					RestartPolicy   string `yaml:"restartPolicy"`
					SecurityContext struct {
						RunAsNonRoot bool `yaml:"runAsNonRoot"`
						RunAsUser    int  `yaml:"runAsUser"`
					} `yaml:"securityContext"`
					Containers []struct {
						Name string   `yaml:"name"`
						Args []string `yaml:"args"`
					} `yaml:"containers"`
				} `yaml:"spec"`
			} `yaml:"template"`
		} `yaml:"spec"`
	}
	require.NoError(t, yaml.Unmarshal(b, &job))
	s := job.Spec
	assert.Equal(t, "batch/v1", job.APIVersion)
	assert.Equal(t, "Job", job.Kind)
	assert.Equal(t, "Indexed", s.CompletionMode, "JOB_COMPLETION_INDEX is set in Indexed mode only")
	require.NotNil(t, s.BackoffLimitPerIndex, "a failed shard is retried on its own")
	assert.Equal(t, "Never", s.Template.Spec.RestartPolicy, "podFailurePolicy requires restartPolicy Never")
	assert.LessOrEqual(t, s.Parallelism, s.Completions)
	assert.True(t, s.Template.Spec.SecurityContext.RunAsNonRoot)
	assert.Equal(t, 65532, s.Template.Spec.SecurityContext.RunAsUser, "the Dockerfile's USER")

	require.Len(t, s.Template.Spec.Containers, 1)
	c := s.Template.Spec.Containers[0]
	args := c.Args
	require.NotEmpty(t, args)
	assert.Equal(t, "sweep", args[0])
	assert.Contains(t, args, "--batch", "a complete shard must exit 0 for its index to succeed")
	i := slices.Index(args, "--shards")
	require.GreaterOrEqual(t, i, 0)
	n, err := strconv.Atoi(args[i+1])
	require.NoError(t, err)
	assert.Equal(t, s.Completions, n, "one index per shard")

	var failJob, ignoreDisruption bool
	for _, r := range s.PodFailurePolicy.Rules {
		if e := r.OnExitCodes; e != nil {
			assert.Equal(t, c.Name, e.ContainerName)
			if e.Operator == "In" {
				assert.NotContains(t, e.Values, 0, "the Job API refuses 0 with In")
			}
			if r.Action == "Ignore" {
				t.Errorf("an Ignore rule on exit codes %v restarts the pod forever", e.Values)
			}
			if r.Action == "FailJob" && slices.Equal(e.Values, []int{2}) {
				failJob = true
			}
		}
		for _, pc := range r.OnPodConditions {
			if r.Action == "Ignore" && pc.Type == "DisruptionTarget" {
				ignoreDisruption = true
			}
		}
	}
	assert.True(t, failJob, "exit 2 (bad input) fails the Job: retrying cannot help")
	assert.True(t, ignoreDisruption, "an evicted or preempted pod is retried without counting")
}

// TestSlurmScriptRuns runs the job array script as Slurm would run one
// task, with srun replaced by a plain exec, where SCRATCH is not defined.
func TestSlurmScriptRuns(t *testing.T) {
	bin := synodBinary(t)
	home := t.TempDir()
	fake := filepath.Join(home, "bin")
	require.NoError(t, os.MkdirAll(fake, 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(fake, "srun"), []byte("#!/bin/sh\nexec \"$@\"\n"), 0o755))
	scen := filepath.Join(home, "short.yaml")
	require.NoError(t, os.WriteFile(scen, []byte("# short\nprotocol: raft\nduration: 300ms\n"), 0o644))
	script, err := filepath.Abs("../../../deploy/slurm/sweep.sbatch")
	require.NoError(t, err)
	cmd := exec.Command("bash", script)
	cmd.Dir = home
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "SCRATCH=") && !strings.HasPrefix(kv, "HOME=") && !strings.HasPrefix(kv, "PATH=") {
			env = append(env, kv)
		}
	}
	cmd.Env = append(env, "HOME="+home, "PATH="+fake+":"+os.Getenv("PATH"), "SYNOD="+bin,
		"SEEDS=0:4", "SHARDS=2", "SCENARIO="+scen, "SLURM_ARRAY_TASK_ID=1", "SLURM_CPUS_PER_TASK=1")
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "%s", out)
	res, err := os.ReadFile(filepath.Join(home, "scratch/synod/raft-chaos5/shard-1-of-2.jsonl"))
	require.NoError(t, err, "%s", out)
	assert.Equal(t, 3, strings.Count(string(res), "\n"), "a header and seeds 2 and 3")

	submit, err := os.ReadFile("../../../deploy/slurm/submit.sh")
	require.NoError(t, err)
	assert.Contains(t, string(submit), "mkdir -p logs", "Slurm needs the --output folder at submission")
}
