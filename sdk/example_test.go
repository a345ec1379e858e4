package sdk_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"testing"

	"github.com/tokenflow/tokenflow/sdk"
	"github.com/tokenflow/tokenflow/sdk/sdktest"
	"github.com/tokenflow/tokenflow/sdk/simkit"
)

// A whole plugin: one connection schema, one op. main() would be
// sdk.Serve(widgetPlugin()).
func widgetPlugin() *sdk.Plugin {
	return &sdk.Plugin{
		Name:       "widgets",
		Version:    "1.0.0",
		Connection: []sdk.Field{{Name: "url", Type: sdk.String, Required: true}},
		Ops: []sdk.Op{{
			Name:    "get_widget",
			Doc:     "Get a widget by id",
			Effect:  sdk.Read,
			Params:  []sdk.Field{{Name: "id", Type: sdk.String, Required: true}},
			Results: []sdk.Field{{Name: "name", Type: sdk.String}},
			Handler: func(ctx context.Context, c *sdk.Call) (any, error) {
				req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.Conn.String("url")+"/widgets/"+c.Args.String("id"), nil)
				if err != nil {
					return nil, err
				}
				resp, err := c.HTTP.Do(req) // goes through the engine's host transport
				if err != nil {
					return nil, err
				}
				defer resp.Body.Close()
				body, _ := io.ReadAll(resp.Body)
				if resp.StatusCode != http.StatusOK {
					return nil, sdk.FromResponse("get widget", resp, body)
				}
				var w struct {
					Name string `json:"name"`
				}
				if err := json.Unmarshal(body, &w); err != nil {
					return nil, sdk.Errorf(sdk.CodeInternal, "decode widget: %v", err)
				}
				return map[string]any{"name": w.Name}, nil
			},
		}},
	}
}

// Testing the plugin's ops in-process, over the real gRPC contract, against
// a simulator built with simkit: a plugin's tests look like this. The
// harness belongs to the test's *testing.T, which stops it at the end (a
// testing.T made by hand would never run its cleanups, nor stop the test on
// a failure).
func TestWidgetPlugin(t *testing.T) {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /widgets/{id}", func(w http.ResponseWriter, r *http.Request) {
		if r.PathValue("id") != "w1" {
			simkit.WriteJSON(w, http.StatusNotFound, map[string]string{"message": "no such widget"})
			return
		}
		simkit.WriteJSON(w, http.StatusOK, map[string]string{"name": "sprocket"})
	})
	srv, err := simkit.Serve(mux, simkit.ServerOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	conn := map[string]any{"url": srv.URL}

	var h *sdktest.Harness
	t.Run("get_widget", func(t *testing.T) {
		h = sdktest.New(t, widgetPlugin(), srv.Client().Transport)
		out, err := h.Call("get_widget", conn, map[string]any{"id": "w1"})
		if err != nil || out["name"] != "sprocket" {
			t.Fatalf("get_widget w1 = %v, %v; want sprocket", out, err)
		}
		_, err = h.Call("get_widget", conn, map[string]any{"id": "w2"})
		var serr *sdk.Error
		if !errors.As(err, &serr) || serr.Code != sdk.CodeNotFound || err.Error() != "not_found: get widget: HTTP 404: no such widget" {
			t.Fatalf("get_widget w2: %v; want not_found with the vendor's message", err)
		}
	})
	// The test that made the harness has ended: its cleanup stopped the
	// plugin, so nothing is left running.
	if _, err := h.Call("get_widget", conn, map[string]any{"id": "w1"}); err == nil {
		t.Fatal("the harness still answers after its test ended: it was not stopped")
	}
}
