// Package check decodes the repository's Kubernetes recipe with the Job
// API's own Go types, strictly: a misspelt field, a field at the wrong
// level or a value of the wrong type (a quantity, a number as a string)
// fails here, as the API server would refuse it. It is a module of its
// own so that synod's go.mod does not carry the Kubernetes API.
//
// kubectl apply --dry-run=client cannot stand in for it: even a client
// dry run asks an API server for discovery, and CI has none. The Job's
// semantics (completes once every shard is done, bad input fails it)
// are checked in cmd/synod's deploy_test.go.
package check

import (
	"os"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/yaml"
)

const recipe = "../sweep-job.yaml"

func TestRecipeIsAValidJob(t *testing.T) {
	b, err := os.ReadFile(recipe)
	require.NoError(t, err)
	var job batchv1.Job
	require.NoError(t, yaml.UnmarshalStrict(b, &job), "%s does not decode as a batch/v1 Job", recipe)
	assert.Equal(t, "batch/v1", job.APIVersion)
	assert.Equal(t, "Job", job.Kind)
	s := job.Spec
	require.NotNil(t, s.CompletionMode)
	assert.Equal(t, batchv1.IndexedCompletion, *s.CompletionMode)
	require.NotNil(t, s.Completions)
	require.NotNil(t, s.Parallelism)
	assert.LessOrEqual(t, *s.Parallelism, *s.Completions)
	// backoffLimitPerIndex needs Indexed mode and restartPolicy Never, and
	// podFailurePolicy needs restartPolicy Never (API validation rules).
	require.NotNil(t, s.BackoffLimitPerIndex)
	assert.Equal(t, corev1.RestartPolicyNever, s.Template.Spec.RestartPolicy)
	require.NotNil(t, s.PodFailurePolicy)
	containers := map[string]bool{}
	for _, c := range s.Template.Spec.Containers {
		containers[c.Name] = true
		// Requests within limits, as the API server requires.
		for name, req := range c.Resources.Requests {
			if lim, ok := c.Resources.Limits[name]; ok {
				assert.LessOrEqual(t, req.Cmp(lim), 0, "container %s: %s request above its limit", c.Name, name)
			}
		}
		for _, m := range c.VolumeMounts {
			found := false
			for _, v := range s.Template.Spec.Volumes {
				found = found || v.Name == m.Name
			}
			assert.True(t, found, "container %s mounts volume %q, which the pod does not define", c.Name, m.Name)
		}
	}
	for i, r := range s.PodFailurePolicy.Rules {
		// Exactly one of onExitCodes and onPodConditions per rule.
		assert.True(t, (r.OnExitCodes == nil) != (len(r.OnPodConditions) == 0), "podFailurePolicy rule %d", i)
		if r.OnExitCodes != nil && r.OnExitCodes.ContainerName != nil {
			assert.True(t, containers[*r.OnExitCodes.ContainerName], "podFailurePolicy rule %d names container %q, which the pod does not have", i, *r.OnExitCodes.ContainerName)
		}
		if r.OnExitCodes != nil {
			assert.NotContains(t, r.OnExitCodes.Values, int32(0), "podFailurePolicy rule %d: exit code 0 cannot be matched (API rule)", i)
		}
	}
}

// The check is proven by the mistakes it exists for: each of these
// recipes is refused.
func TestStrictDecodingRefusesMistakes(t *testing.T) {
	for name, y := range map[string]string{
		"misspelt field":           "apiVersion: batch/v1\nkind: Job\nspec:\n  completionsMode: Indexed\n",
		"field at the wrong level": "apiVersion: batch/v1\nkind: Job\nspec:\n  restartPolicy: Never\n",
		"bad quantity":             "apiVersion: batch/v1\nkind: Job\nspec:\n  template:\n    spec:\n      containers:\n        - name: x\n          resources: {requests: {cpu: two}}\n",
		"number as a string":       "apiVersion: batch/v1\nkind: Job\nspec:\n  completions: \"100\"\n",
	} {
		var job batchv1.Job
		assert.Error(t, yaml.UnmarshalStrict([]byte(y), &job), name)
	}
}
