package store_test

import (
	"testing"

	"github.com/tokenflow/tokenflow/engine/store"
	"github.com/tokenflow/tokenflow/engine/store/storetest"
)

func TestMemoryConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store { return store.NewMemory(nil) })
}
