package cli

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"
	"github.com/tokenflow/tokenflow/engine/distributed"
	"github.com/tokenflow/tokenflow/engine/state"
	"go.temporal.io/sdk/converter"
)

// temporalConverters encrypt every payload a client or worker sends to
// Temporal with a key derived from the shared state key: workflow inputs
// (flow bundles, variables, targets), activity arguments and results,
// schedule actions and failure messages. Secrets are already references;
// this is the second layer. The key is loaded, never created: a submitting
// machine with a fresh key would encrypt for no worker.
func (f *Factory) temporalConverters() (converter.DataConverter, converter.FailureConverter, error) {
	keyPath, _ := f.Getenv("TOKENFLOW_STATE_KEY")
	if keyPath == "" {
		dir, err := state.DefaultDir()
		if err != nil {
			return nil, nil, err
		}
		keyPath = filepath.Join(dir, "key.txt")
	}
	if _, err := os.Stat(keyPath); errors.Is(err, fs.ErrNotExist) {
		return nil, nil, fmt.Errorf("no shared state key at %s: Temporal payloads are encrypted with it; set TOKENFLOW_STATE_KEY to the key file the workers share", keyPath)
	}
	keys, err := state.LoadKeyring(keyPath, false)
	if err != nil {
		return nil, nil, fmt.Errorf("%w (the shared state key encrypts Temporal payloads: set TOKENFLOW_STATE_KEY to the key file the workers share)", err)
	}
	dc, err := distributed.DataConverterFor(keys)
	if err != nil {
		return nil, nil, err
	}
	return dc, distributed.FailureConverterFor(dc), nil
}

// workerQueues are `tokenflow worker`'s --sites and --rate.
type workerQueues struct {
	sites []string
	rates []string
}

func (q *workerQueues) flags(cmd *cobra.Command) {
	cmd.Flags().StringSliceVar(&q.sites, "sites", nil, "poll the vendor queues of these `SITES` (a target's site label) instead of those of targets without one")
	cmd.Flags().StringArrayVar(&q.rates, "rate", nil, "limit a vendor's calls across all workers, `VENDOR=N/s` (or /m, /h; repeatable)")
}

// config applies --sites and --rate to a worker's configuration.
func (q *workerQueues) config(cfg *distributed.WorkerConfig) error {
	for _, s := range q.sites {
		if s = strings.TrimSpace(s); s == "" || strings.ContainsAny(s, " /") {
			return fmt.Errorf("--sites %q: want site names separated by commas, for example --sites dc1,dc2", strings.Join(q.sites, ","))
		}
		cfg.Sites = append(cfg.Sites, s)
	}
	for _, r := range q.rates {
		vendor, perSecond, err := distributed.ParseRate(r)
		if err != nil {
			return fmt.Errorf("--rate %q: %w", r, err)
		}
		if cfg.Rates == nil {
			cfg.Rates = map[string]float64{}
		}
		cfg.Rates[vendor] = perSecond
	}
	return nil
}
