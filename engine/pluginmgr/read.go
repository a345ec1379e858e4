package pluginmgr

import (
	"context"
	"net/http"
	"net/url"

	pb "github.com/tokenflow/tokenflow/sdk/proto/tokenflow/plugin/v1"
)

// Declared reads. A plugin may declare a read op as one GET of a path
// (pb.Op.get) whose answer's members are the results. The first call of
// such an op on a connection goes to the plugin, which logs in, sends the
// GET and answers with the result and a ReadSession: how it made the
// request (base URL and headers, the credential among them). The
// connection's next declared reads are then sent by the engine itself,
// through the same host transport a plugin's exchanges go through (the
// step's allowlist, dry-run, cassette, redaction and retries apply
// alike), with no call to the plugin: an op costs about what its request
// does instead of four crossings between two processes.
//
// Only a 2xx answer is read here. Anything else (an expired login, a
// missing object, a network failure, an answer that is not an object) is
// handed to the plugin with the call as read_answer, and the plugin makes
// the op's answer from it exactly as if it had sent the request (without
// sending it again): errors, re-logins and their wording stay the
// plugin's. The ReadSession lives in this process's memory only, for
// this plugin process and connection; it is dropped when the connection
// closes, when a read sent with it is not a plain success, and with the
// process.

// declaredReads returns the schema's read ops declared with a GET whose
// declaration holds together; any other op is called as usual.
func declaredReads(s *pb.Schema) map[string]*pb.Op {
	reads := map[string]*pb.Op{}
	for _, op := range s.GetOps() {
		if op.Get == "" || op.Effect != pb.Effect_EFFECT_READ {
			continue
		}
		names := make([]string, len(op.Params))
		for i, f := range op.Params {
			names[i] = f.Name
		}
		if pb.CheckGet(op.Get, names) == nil {
			reads[op.Name] = op
		}
	}
	return reads
}

// sendRead sends op's GET for req when the plugin has said how for req's
// connection. It returns the op's result (a 2xx answer read into it), or
// the answer the plugin must make the op's answer from (read_answer), or
// neither when the plugin is to do it all.
func (p *grpcPlugin) sendRead(ctx context.Context, op *pb.Op, req *CallRequest) ([]byte, *pb.HTTPResponse) {
	if p.host == nil {
		return nil, nil
	}
	p.readMu.Lock()
	sess := p.readSessions[req.ConnectionID]
	p.readMu.Unlock()
	if sess == nil {
		return nil, nil
	}
	path, err := pb.FillPath(op.Get, req.Args)
	if err != nil {
		return nil, nil // the plugin says what is wrong
	}
	u, err := url.Parse(sess.BaseUrl + path)
	if err != nil {
		return nil, nil
	}
	// The URL as the plugin's net/http request would carry it.
	resp := p.host.Do(ctx, &pb.HTTPRequest{StepId: req.StepID, Method: http.MethodGet, Url: u.String(), Headers: sess.Headers})
	if resp.Error == nil && !resp.Held && resp.Status >= 200 && resp.Status <= 299 {
		if result, err := pb.ProjectAnswer(resp.Body, op.Results); err == nil {
			return result, nil
		}
	}
	p.readMu.Lock()
	if p.readSessions[req.ConnectionID] == sess {
		delete(p.readSessions, req.ConnectionID)
	}
	p.readMu.Unlock()
	return nil, resp
}
