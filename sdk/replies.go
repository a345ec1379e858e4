package sdk

import (
	"context"
	"errors"

	pb "github.com/tokenflow/tokenflow/sdk/proto/tokenflow/plugin/v1"
)

// errHostClosed fails the exchanges in flight when the host stream or the
// call socket breaks.
var errHostClosed = errors.New("host transport closed during the exchange")

// replies pairs the host's replies with the exchanges waiting for them on
// one host stream or call socket: its reader delivers each reply, and when
// it breaks every exchange still waiting fails.
type replies struct {
	pb.Pending[*pb.HTTPResponse]
}

// fail ends every exchange waiting, and every later one.
func (r *replies) fail() { r.Fail(errHostClosed) }

// await waits for exchange id's reply until ctx ends. An exchange given up
// on is forgotten; the transport stays open for the others.
func (r *replies) await(ctx context.Context, id uint64, ch chan *pb.HTTPResponse) (*pb.HTTPResponse, error) {
	select {
	case resp, ok := <-ch:
		if !ok {
			return nil, errHostClosed
		}
		return resp, nil
	case <-ctx.Done():
		r.Forget(id)
		return nil, ctx.Err()
	}
}
