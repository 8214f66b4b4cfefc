//go:build !js

package bench

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A variant of the queue's options is a row of the small and large scenarios, after the defaults' queue,
// named by its options; the many scenario has none.
func TestQueueVariant(t *testing.T) {
	cfg := QueueConfig{Variant: map[string]any{"files": 32, "concurrency": 8}}
	cs := queueContestants(cfg, ScenarioSmall)
	require.Len(t, cs, 3)
	assert.Equal(t, []string{"queue", "queue-variant", "cos-files"}, []string{cs[0].ID, cs[1].ID, cs[2].ID})
	assert.Equal(t, `smh-upload queue() ({"concurrency":8,"files":32})`, cs[1].Name)
	assert.Equal(t, cfg.Variant, cs[1].Options)
	assert.Nil(t, cs[0].Options)
	assert.Equal(t, []string{"queue", "queue-variant", "single", "sequential"}, ids(queueContestants(cfg, ScenarioLarge)))
	assert.Equal(t, QueueContestants(ScenarioMany, false), queueContestants(cfg, ScenarioMany))
	assert.Equal(t, QueueContestants(ScenarioSmall, false), queueContestants(QueueConfig{}, ScenarioSmall))
}

func ids(cs []QueueContestant) []string {
	var out []string
	for _, c := range cs {
		out = append(out, c.ID)
	}
	return out
}
