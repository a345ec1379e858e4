package ops

import (
	"context"
	"net/http"
	"net/url"

	"github.com/tokenflow/tokenflow/sdk"
)

type apiClient struct {
	ClientID          string           `json:"clientId"`
	ClientUUID        string           `json:"clientUuid"`
	ClientName        string           `json:"clientName"`
	ClientDescription string           `json:"clientDescription"`
	Roles             []roleAssignment `json:"roles,omitempty"`
}

func (a apiClient) result() map[string]any {
	return map[string]any{
		"client_id": a.ClientID, "client_uuid": a.ClientUUID, "client_name": a.ClientName,
		"client_description": a.ClientDescription, "roles": rolesResult(a.Roles),
	}
}

var clientFields = []sdk.Field{
	{Name: "client_id", Type: sdk.String, Doc: "the string id used in paths and as the token's api_client_id"},
	{Name: "client_uuid", Type: sdk.String, Doc: "the principal id used for role assignment"},
	{Name: "client_name", Type: sdk.String},
	{Name: "client_description", Type: sdk.String},
	{Name: "roles", Type: sdk.List, Elem: sdk.Object},
}

func createAPIClientOp() sdk.Op {
	return sdk.Op{
		Name:   "create_api_client",
		Doc:    "Create an API client in a realm (409 conflict when the client id exists)",
		Effect: sdk.Write,
		Params: []sdk.Field{
			realmParam,
			{Name: "client_id", Type: sdk.String, Required: true},
			{Name: "client_name", Type: sdk.String, Required: true},
			{Name: "client_description", Type: sdk.String, Default: ""},
		},
		Results: clientFields,
		Handler: func(ctx context.Context, c *sdk.Call) (any, error) {
			body := map[string]string{
				"clientId":   c.Args.String("client_id"),
				"clientName": c.Args.String("client_name"),
			}
			if d := c.Args.String("client_description"); d != "" {
				body["clientDescription"] = d
			}
			var out apiClient
			if err := do(ctx, c, "create API client", http.MethodPost, realmPath(c)+"/api-clients", body, &out, http.StatusCreated); err != nil {
				return nil, err
			}
			return out.result(), nil
		},
		// An interrupted create took effect when the client exists.
		Reconcile: func(ctx context.Context, c *sdk.Call) (any, bool, error) {
			out, err := getClient(ctx, c)
			if sdk.IsCode(err, sdk.CodeNotFound) {
				return nil, false, nil
			}
			if err != nil {
				return nil, false, err
			}
			return out.result(), true, nil
		},
	}
}

func getClient(ctx context.Context, c *sdk.Call) (*apiClient, error) {
	var out apiClient
	path := realmPath(c) + "/api-clients/" + url.PathEscape(c.Args.String("client_id"))
	if err := do(ctx, c, "get API client", http.MethodGet, path, nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

func getAPIClientOp() sdk.Op {
	return sdk.Op{
		Name:    "get_api_client",
		Doc:     "Get an API client with its role assignments",
		Effect:  sdk.Read,
		Params:  []sdk.Field{realmParam, {Name: "client_id", Type: sdk.String, Required: true}},
		Results: clientFields,
		Handler: func(ctx context.Context, c *sdk.Call) (any, error) {
			out, err := getClient(ctx, c)
			if err != nil {
				return nil, err
			}
			return out.result(), nil
		},
	}
}

// findAPIClientOp looks a client up without failing when it is absent, so a
// flow can find-or-create. It uses the query (POST .../api-clients/query with
// CLIENT_ID EQUALS) rather than GET .../api-clients/{clientId}: the answer
// carries the roles too, and an absent client is an empty page, not a 404
// that could also mean a wrong realm.
func findAPIClientOp() sdk.Op {
	return sdk.Op{
		Name:   "find_api_client",
		Doc:    "Find an API client by client_id, with its role assignments; found = False when there is none",
		Effect: sdk.Read, // a POST, but it changes nothing
		Params: []sdk.Field{realmParam, {Name: "client_id", Type: sdk.String, Required: true}},
		Results: append([]sdk.Field{
			{Name: "found", Type: sdk.Bool, Doc: "False when the realm has no client with this client_id (the other fields are then None)"},
		}, clientFields...),
		Handler: func(ctx context.Context, c *sdk.Call) (any, error) {
			id := c.Args.String("client_id")
			if id == "" {
				return nil, sdk.InvalidArgument("client_id", "empty client_id")
			}
			query := map[string]any{"searchTerms": map[string]any{
				"allOf": []searchTerm{{Field: "CLIENT_ID", Operator: "EQUALS", Terms: []string{id}}},
			}}
			var out struct {
				APIClients []apiClient `json:"apiClients"`
			}
			path := realmPath(c) + "/api-clients/query?page=0&pageSize=50"
			if err := do(ctx, c, "query API clients", http.MethodPost, path, query, &out, http.StatusOK); err != nil {
				return nil, err
			}
			// Match exactly here too: the vendor's EQUALS may ignore case.
			for _, a := range out.APIClients {
				if a.ClientID == id {
					r := a.result()
					r["found"] = true
					return r, nil
				}
			}
			return map[string]any{"found": false}, nil
		},
	}
}

func deleteAPIClientOp() sdk.Op {
	return sdk.Op{
		Name:   "delete_api_client",
		Doc:    "Delete an API client and its tokens",
		Effect: sdk.Write,
		Params: []sdk.Field{realmParam, {Name: "client_id", Type: sdk.String, Required: true},
			{Name: "missing_ok", Type: sdk.Bool, Default: false, Doc: "a client that is already gone counts as deleted"}},
		Results: []sdk.Field{{Name: "deleted", Type: sdk.Bool, Doc: "False when missing_ok and the client was already gone"}},
		Handler: func(ctx context.Context, c *sdk.Call) (any, error) {
			path := realmPath(c) + "/api-clients/" + url.PathEscape(c.Args.String("client_id"))
			err := do(ctx, c, "delete API client", http.MethodDelete, path, nil, nil, http.StatusNoContent, http.StatusOK)
			if sdk.IsCode(err, sdk.CodeNotFound) && c.Args.Bool("missing_ok") {
				return map[string]any{"deleted": false}, nil
			}
			if err != nil {
				return nil, err
			}
			return map[string]any{"deleted": true}, nil
		},
		// An interrupted delete took effect when the client is gone.
		Reconcile: func(ctx context.Context, c *sdk.Call) (any, bool, error) {
			_, err := getClient(ctx, c)
			if sdk.IsCode(err, sdk.CodeNotFound) {
				return map[string]any{"deleted": true}, true, nil
			}
			return nil, false, err
		},
	}
}
