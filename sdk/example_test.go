package sdk_test

import (
	"context"
	"encoding/json"
	"fmt"
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
// a simulator built with simkit.
func Example() {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /widgets/{id}", func(w http.ResponseWriter, r *http.Request) {
		if r.PathValue("id") != "w1" {
			simkit.WriteJSON(w, http.StatusNotFound, map[string]string{"message": "no such widget"})
			return
		}
		simkit.WriteJSON(w, http.StatusOK, map[string]string{"name": "sprocket"})
	})
	srv, _ := simkit.Serve(mux, simkit.ServerOptions{})
	defer srv.Close()

	t := &testing.T{} // in a real test, the test's *testing.T
	h := sdktest.New(t, widgetPlugin(), srv.Client().Transport)
	conn := map[string]any{"url": srv.URL}

	out, err := h.Call("get_widget", conn, map[string]any{"id": "w1"})
	fmt.Println(out["name"], err)
	_, err = h.Call("get_widget", conn, map[string]any{"id": "w2"})
	fmt.Println(err)
	// Output:
	// sprocket <nil>
	// not_found: get widget: HTTP 404: no such widget
}
