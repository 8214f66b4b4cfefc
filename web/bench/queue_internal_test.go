//go:build !js

package bench

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A variant of the queue's options is a row of the small scenario only, after the defaults' queue, named
// by its options.
func TestQueueVariant(t *testing.T) {
	cfg := QueueConfig{SmallVariant: map[string]any{"files": 32, "concurrency": 8}}
	cs := queueContestants(cfg, ScenarioSmall)
	require.Len(t, cs, 3)
	assert.Equal(t, []string{"queue", "queue-variant", "cos-files"}, []string{cs[0].ID, cs[1].ID, cs[2].ID})
	assert.Equal(t, `smh-upload queue() ({"concurrency":8,"files":32})`, cs[1].Name)
	assert.Equal(t, cfg.SmallVariant, cs[1].Options)
	assert.Nil(t, cs[0].Options)
	assert.Equal(t, QueueContestants(ScenarioLarge, false), queueContestants(cfg, ScenarioLarge))
	assert.Equal(t, QueueContestants(ScenarioSmall, false), queueContestants(QueueConfig{}, ScenarioSmall))
}
