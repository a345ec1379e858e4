// Command testkit is a plugin for the engine's own tests: ops that echo,
// fetch arbitrary URLs (to probe the allowlist), write, log a secret (to
// probe redaction of plugin stderr), hang and crash. Tests build it as
// tokenflow-plugin-testkit; it is not shipped.
//
// Built under another name, tokenflow-plugin-<name>, it describes itself as
// <name> (so a test can run it where a pgrep for "testkit" would not see
// it), and a name holding "silent" or "stall" picks a misbehaving mode for
// the plugin manager's tests: "silent" never completes the go-plugin
// handshake; "stall" completes it but never answers a gRPC call.
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"time"

	"github.com/tokenflow/tokenflow/sdk"
	pb "github.com/tokenflow/tokenflow/sdk/proto/tokenflow/plugin/v1"
)

func main() {
	name := strings.TrimPrefix(filepath.Base(os.Args[0]), "tokenflow-plugin-")
	switch {
	case strings.Contains(name, "silent"):
		time.Sleep(time.Hour)
		return
	case strings.Contains(name, "stall"):
		stall()
		return
	}
	sdk.Serve(plugin(name), sdk.WithRuntimeTuning())
}

// stall announces a listener that accepts connections and never says a
// word on them, not even TLS.
func stall() {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		os.Exit(1)
	}
	fmt.Printf("1|%d|tcp|%s|grpc\n", pb.ProtocolVersion, ln.Addr())
	var held []net.Conn // kept reachable: a collected conn would be closed
	for {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		held = append(held, c)
	}
}

func plugin(name string) *sdk.Plugin {
	return &sdk.Plugin{
		Name:    name,
		Version: "0.0.1",
		Doc:     "engine test plugin",
		Connection: []sdk.Field{
			{Name: "url", Type: sdk.String, Required: true},
			{Name: "password", Type: sdk.Secret},
		},
		Auth: auth,
		Ops: []sdk.Op{
			{
				Name: "echo", Doc: "return the arguments", Effect: sdk.Read,
				Params: []sdk.Field{
					{Name: "text", Type: sdk.String, Required: true},
					{Name: "count", Type: sdk.Int, Default: 1},
					{Name: "key", Type: sdk.Secret},
				},
				Results: []sdk.Field{{Name: "text", Type: sdk.String}, {Name: "count", Type: sdk.Int}, {Name: "key", Type: sdk.Secret}},
				Handler: func(ctx context.Context, c *sdk.Call) (any, error) {
					return map[string]any{"text": strings.Repeat(c.Args.String("text"), int(c.Args.Int("count"))), "count": c.Args.Int("count"), "key": c.Args.String("key")}, nil
				},
			},
			{
				Name: "fetch", Doc: "GET any URL", Effect: sdk.Read,
				Params:  []sdk.Field{{Name: "url", Type: sdk.String, Required: true}},
				Results: []sdk.Field{{Name: "status", Type: sdk.Int}, {Name: "body", Type: sdk.String}},
				Handler: func(ctx context.Context, c *sdk.Call) (any, error) {
					req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.Args.String("url"), nil)
					if err != nil {
						return nil, sdk.InvalidArgument("url", "%v", err)
					}
					if p := c.Conn.String("password"); p != "" {
						req.Header.Set("Authorization", "Bearer "+p)
					}
					resp, err := c.HTTP.Do(req)
					if err != nil {
						return nil, err
					}
					defer resp.Body.Close()
					b, _ := io.ReadAll(resp.Body)
					return map[string]any{"status": resp.StatusCode, "body": string(b)}, nil
				},
			},
			{
				Name: "create", Doc: "POST to the connection's /items", Effect: sdk.Write,
				Params:  []sdk.Field{{Name: "name", Type: sdk.String, Required: true}},
				Results: []sdk.Field{{Name: "id", Type: sdk.String}},
				Handler: func(ctx context.Context, c *sdk.Call) (any, error) {
					req, _ := http.NewRequestWithContext(ctx, http.MethodPost, c.Conn.String("url")+"/items", strings.NewReader(`{"name":"`+c.Args.String("name")+`"}`))
					resp, err := c.HTTP.Do(req)
					if err != nil {
						return nil, err
					}
					defer resp.Body.Close()
					b, _ := io.ReadAll(resp.Body)
					if resp.StatusCode >= 300 {
						return nil, sdk.FromResponse("create", resp, b)
					}
					return map[string]any{"id": strings.TrimSpace(string(b))}, nil
				},
			},
			{
				// A declared read: after its first call on a connection
				// the engine sends it itself (engine/pluginmgr/read.go).
				Name: "item", Doc: "GET the connection's /items/{id}", Effect: sdk.Read,
				Params:  []sdk.Field{{Name: "id", Type: sdk.String, Required: true}},
				Results: []sdk.Field{{Name: "name", Type: sdk.String, Wire: "data.name"}, {Name: "size", Type: sdk.Int}},
				Get:     "/items/{id}",
			},
			{
				Name: "applied", Doc: "how many requests the plugin has authenticated", Effect: sdk.Read,
				Results: []sdk.Field{{Name: "count", Type: sdk.Int}},
				Handler: func(ctx context.Context, c *sdk.Call) (any, error) {
					return map[string]any{"count": applied.Load()}, nil
				},
			},
			{
				Name: "log_secret", Doc: "log the connection password to stderr", Effect: sdk.Read,
				Handler: func(ctx context.Context, c *sdk.Call) (any, error) {
					c.Logger.Error("leaking on purpose", "password", c.Conn.String("password"))
					os.Stderr.WriteString("raw stderr: " + c.Conn.String("password") + "\n")
					return map[string]any{}, nil
				},
			},
			{
				Name: "hang", Doc: "block until cancelled", Effect: sdk.Read,
				Handler: func(ctx context.Context, c *sdk.Call) (any, error) {
					<-ctx.Done()
					return nil, ctx.Err()
				},
			},
			{
				Name: "crash", Doc: "exit the process mid-call", Effect: sdk.Read,
				Handler: func(ctx context.Context, c *sdk.Call) (any, error) {
					os.Exit(3)
					return nil, nil
				},
			},
		},
	}
}

// applied counts the requests the plugin authenticated (for the "applied"
// op): a declared read the engine sends itself authenticates none.
var applied atomic.Int64

// auth logs in with POST url/login (the answer's "token" is the session's
// Bearer token) and logs in again once on a 401.
var auth = &sdk.Auth{
	Apply: func(ctx context.Context, c *sdk.Call, req *http.Request) error {
		applied.Add(1)
		tok, err := c.Session().Once("token", func() (any, error) {
			login, err := sdk.NewJSONRequest(ctx, http.MethodPost, c.Conn.String("url"), "/login", map[string]string{"password": c.Conn.String("password")})
			if err != nil {
				return nil, err
			}
			resp, data, err := c.Send(sdk.MarkSession(login))
			if err != nil {
				return nil, err
			}
			var answer struct{ Token string }
			if resp.StatusCode != http.StatusOK || json.Unmarshal(data, &answer) != nil {
				return nil, sdk.FromResponse("login", resp, data)
			}
			return answer.Token, nil
		})
		if err != nil {
			return err
		}
		req.Header.Set("Authorization", "Bearer "+tok.(string))
		return nil
	},
	Expired: func(c *sdk.Call) bool {
		c.Session().Delete("token")
		return true
	},
}
