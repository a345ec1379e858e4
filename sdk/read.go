package sdk

import (
	"context"
	"fmt"
	"net/http"
	"strings"

	pb "github.com/tokenflow/tokenflow/sdk/proto/tokenflow/plugin/v1"
)

// validateGet checks an op declared with Get (and that Wire is used only
// there).
func (op *Op) validateGet() error {
	if op.Get == "" {
		for _, f := range op.Results {
			if f.Wire != "" {
				return fmt.Errorf("op %q: result %s has a Wire name, which only an op declared with Get reads", op.Name, f.Name)
			}
		}
		return nil
	}
	switch {
	case op.Handler != nil:
		return fmt.Errorf("op %q has both Get and a Handler: Get is the whole op", op.Name)
	case op.Effect != Read:
		return fmt.Errorf("op %q: Get declares a read; a write needs a Handler", op.Name)
	case op.Reconcile != nil:
		return fmt.Errorf("op %q: a read declared with Get has nothing to reconcile", op.Name)
	}
	var names []string
	for _, f := range op.Params {
		if f.IsSecret() {
			return fmt.Errorf("op %q: parameter %s is a secret, which must not go in a URL", op.Name, f.Name)
		}
		switch f.Type {
		case String, Int, Float, Bool:
		default:
			return fmt.Errorf("op %q: parameter %s is a %s, which cannot go in Get's path", op.Name, f.Name, f.Type)
		}
		if !f.Required && f.Default == nil {
			return fmt.Errorf("op %q: parameter %s of Get's path needs Required or a Default", op.Name, f.Name)
		}
		names = append(names, f.Name)
	}
	if err := pb.CheckGet(op.Get, names); err != nil {
		return fmt.Errorf("op %q: %w", op.Name, err)
	}
	return nil
}

// read runs an op declared with Get. answer, when the engine sent the GET
// itself and got no 2xx, is the answer to the first request, which is then
// not sent again. On a 2xx it returns how the request was made, so the
// engine can send the connection's next declared reads itself.
func (s *server) read(ctx context.Context, c *Call, op *Op, argsJSON []byte, answer *pb.HTTPResponse) ([]byte, *pb.ReadSession, error) {
	path, err := pb.FillPath(op.Get, argsJSON)
	if err != nil {
		return nil, nil, Errorf(CodeInternal, "%s: %v", op.Name, err)
	}
	base := strings.TrimRight(c.Conn.String("url"), "/")
	req, resp, data, err := s.plugin.Auth.exchange(ctx, c, func() (*http.Request, error) {
		return NewJSONRequest(ctx, http.MethodGet, base, path, nil)
	}, answer)
	if err != nil {
		return nil, nil, err
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return nil, nil, FromResponse(op.Name, resp, data)
	}
	result, err := pb.ProjectAnswer(data, s.readResults(op))
	if err != nil {
		return nil, nil, Errorf(CodeInternal, "%s: GET %s: %v", op.Name, path, err)
	}
	return result, &pb.ReadSession{BaseUrl: base, Headers: headersToProto(req.Header)}, nil
}

// readResults is op's result fields in the contract's form, which
// ProjectAnswer reads (made once per op).
func (s *server) readResults(op *Op) []*pb.Field {
	s.mu.Lock()
	defer s.mu.Unlock()
	fields, ok := s.reads[op.Name]
	if !ok {
		fields, _ = fieldsToProto(op.Results) // Validate encoded them once already
		s.reads[op.Name] = fields
	}
	return fields
}
