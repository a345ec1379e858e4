package ops

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/tokenflow/tokenflow/sdk"
)

// userResult is a UserApiDTO in snake_case plus "role": roleName, or the first of roles.
func userResult(m map[string]any) map[string]any {
	out := snakeMap(m)
	delete(out, "password") // never echoed by Turbonomic; never passed on if one did
	role, _ := out["role_name"].(string)
	if role == "" {
		if roles, ok := out["roles"].([]any); ok && len(roles) > 0 {
			if r, ok := roles[0].(map[string]any); ok {
				role, _ = r["name"].(string)
			}
		}
	}
	out["role"] = role
	return out
}

var userFields = []sdk.Field{
	{Name: "uuid", Type: sdk.String},
	{Name: "username", Type: sdk.String},
	{Name: "display_name", Type: sdk.String},
	{Name: "role", Type: sdk.String, Doc: "roleName, or the first of roles"},
	{Name: "login_provider", Type: sdk.String, Doc: `"Local" or "LDAP"`},
	{Name: "type", Type: sdk.String, Doc: `"DedicatedCustomer" or "SharedCustomer"`},
}

func getUsersOp() sdk.Op {
	return sdk.Op{
		Name:   "get_users",
		Doc:    "List the users (GET users); each has uuid, username, role, login_provider, type",
		Effect: sdk.Read,
		Params: pageParams,
		Results: append([]sdk.Field{
			{Name: "users", Type: sdk.List, Elem: sdk.Object},
		}, pageResults...),
		Handler: func(ctx context.Context, c *sdk.Call) (any, error) {
			l, err := list(ctx, c, "list users", http.MethodGet, "users", nil, nil)
			if err != nil {
				return nil, err
			}
			return l.result("users", userResult), nil
		},
	}
}

func createUserOp() sdk.Op {
	return sdk.Op{
		Name:   "create_user",
		Doc:    "Create a local user with a role (POST users); a taken username is a conflict",
		Effect: sdk.Write,
		Params: []sdk.Field{
			{Name: "username", Type: sdk.String, Required: true},
			{Name: "password", Type: sdk.Secret, Required: true},
			{Name: "role", Type: sdk.String, Required: true, Doc: "ADMINISTRATOR, SITE_ADMIN, AUTOMATOR, DEPLOYER, ADVISOR, OBSERVER, ..."},
			{Name: "type", Type: sdk.String, Default: "DedicatedCustomer", Doc: `user type: "DedicatedCustomer" or "SharedCustomer"`},
		},
		Results: userFields,
		// A create cut off in flight is looked up by username: found, it took effect (the
		// engine keeps its result); absent, it is sent again. A user found with another role
		// is not this create's: the resume stops rather than take it over.
		Reconcile: func(ctx context.Context, c *sdk.Call) (any, bool, error) {
			user := strings.TrimSpace(c.Args.String("username"))
			u, err := findUser(ctx, c, user)
			if err != nil || u == nil {
				return nil, false, err
			}
			if role := strings.ToUpper(strings.TrimSpace(c.Args.String("role"))); !strings.EqualFold(u["role"].(string), role) {
				return nil, false, sdk.Errorf(sdk.CodeConflict, "create user %q: a user by that name exists with role %v, not %s; look at it in Turbonomic", user, u["role"], role)
			}
			return u, true, nil
		},
		Handler: func(ctx context.Context, c *sdk.Call) (any, error) {
			user := strings.TrimSpace(c.Args.String("username"))
			role := strings.ToUpper(strings.TrimSpace(c.Args.String("role")))
			switch {
			case user == "":
				return nil, sdk.InvalidArgument("username", "must not be empty")
			case c.Args.String("password") == "":
				return nil, sdk.InvalidArgument("password", "must not be empty")
			case role == "":
				return nil, sdk.InvalidArgument("role", "must not be empty")
			}
			typ := c.Args.String("type")
			if typ == "" {
				typ = "DedicatedCustomer"
			}
			// XL reads roleName (UsersService.validateUserInput); newer releases also roles.
			body := map[string]any{
				"username":      user,
				"password":      c.Args.String("password"),
				"loginProvider": "Local",
				"roleName":      role,
				"roles":         []map[string]string{{"name": role}},
				"type":          typ,
			}
			resp, data, err := do(ctx, c, http.MethodPost, "users", nil, body)
			if err != nil {
				return nil, err
			}
			if resp.StatusCode < 200 || resp.StatusCode >= 300 {
				e := apiError("create user "+strconv.Quote(user), resp, data)
				if resp.StatusCode == http.StatusBadRequest && strings.Contains(strings.ToLower(e.Message), "already exists") {
					e.Code, e.Retryable = sdk.CodeConflict, false
				}
				return nil, e
			}
			items, err := decodeItems(data)
			if err != nil || len(items) == 0 {
				return nil, sdk.Errorf(sdk.CodeInternal, "create user %q: unexpected response body", user)
			}
			return userResult(items[0]), nil
		},
	}
}

func deleteUserOp() sdk.Op {
	return sdk.Op{
		Name:   "delete_user",
		Doc:    "Delete a user by uuid (DELETE users/{uuid}); its sessions end",
		Effect: sdk.Write,
		Params: []sdk.Field{
			{Name: "uuid", Type: sdk.String, Required: true},
			{Name: "missing_ok", Type: sdk.Bool, Default: false, Doc: "a user already gone (404) is deleted = False, not an error: an offboard that lost a race converges"},
		},
		Results: []sdk.Field{
			{Name: "deleted", Type: sdk.Bool},
		},
		Reconcile: sdk.Resend, // with missing_ok, deleting again is harmless
		Handler: func(ctx context.Context, c *sdk.Call) (any, error) {
			uuid := c.Args.String("uuid")
			if uuid == "" {
				return nil, sdk.InvalidArgument("uuid", "must not be empty")
			}
			resp, data, err := do(ctx, c, http.MethodDelete, "users/"+url.PathEscape(uuid), nil, nil)
			if err != nil {
				return nil, err
			}
			if resp.StatusCode == http.StatusNotFound && c.Args.Bool("missing_ok") {
				return map[string]any{"deleted": false}, nil
			}
			if resp.StatusCode < 200 || resp.StatusCode >= 300 {
				return nil, apiError("delete user "+uuid, resp, data)
			}
			// vmt-connect: a DELETE with an empty body is a success too.
			body := strings.TrimSpace(string(data))
			return map[string]any{"deleted": body == "" || body == "true"}, nil
		},
	}
}

func loginCheckOp() sdk.Op {
	return sdk.Op{
		Name: "login_check",
		Doc:  "Check that a username and password can log in (POST login, then log out again); a refused login is unauthenticated",
		// It changes nothing but a session it ends at once: a dry-run runs it.
		Effect: sdk.Read,
		Params: []sdk.Field{
			{Name: "username", Type: sdk.String, Required: true},
			{Name: "password", Type: sdk.Secret, Required: true},
		},
		Results: append(append([]sdk.Field{}, userFields...),
			sdk.Field{Name: "logged_out", Type: sdk.Bool, Doc: "the check's session was ended (False: the server has no logout; it times out)"}),
		Handler: func(ctx context.Context, c *sdk.Call) (any, error) {
			user, pass := c.Args.String("username"), c.Args.String("password")
			if user == "" {
				return nil, sdk.InvalidArgument("username", "must not be empty")
			}
			if pass == "" {
				return nil, sdk.InvalidArgument("password", "must not be empty")
			}
			if _, err := checkedVersion(ctx, c); err != nil {
				return nil, err
			}
			resp, data, err := postLogin(ctx, c, user, pass)
			if err != nil {
				return nil, err
			}
			if resp.StatusCode == http.StatusUnauthorized {
				return nil, sdk.Unauthenticated("login_check: %q cannot log in: HTTP 401: the username or password was rejected", user)
			}
			if resp.StatusCode != http.StatusOK {
				return nil, apiError("login_check as "+strconv.Quote(user), resp, data)
			}
			out := map[string]any{"username": user}
			if items, err := decodeItems(data); err == nil && len(items) > 0 {
				out = userResult(items[0])
			}
			// End the check's session at once (sent even when no cookie came back, so a
			// replayed run sends what the recorded one did).
			req, err := newRequest(ctx, c, http.MethodPost, "logout", nil, nil)
			if err != nil {
				return nil, err
			}
			withCookies(req, resp.Cookies())
			lresp, _, err := send(c, sdk.MarkSession(req))
			if err != nil {
				return nil, err
			}
			out["logged_out"] = lresp.StatusCode >= 200 && lresp.StatusCode < 300
			return out, nil
		},
	}
}

// findUser returns the user named username (userResult form), or nil when there is none.
func findUser(ctx context.Context, c *sdk.Call, username string) (map[string]any, error) {
	l, err := list(ctx, c, "list users", http.MethodGet, "users", nil, nil)
	if err != nil {
		return nil, err
	}
	for _, it := range l.items {
		if u := userResult(it); u["username"] == username {
			return u, nil
		}
	}
	return nil, nil
}
