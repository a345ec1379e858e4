package ops

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"unicode"

	"github.com/tokenflow/tokenflow/sdk"
)

// credentials are what a key file holds.
type credentials struct {
	email     string
	key       string // the HMAC key: organization_key when present, else key
	serverURL string // "" when the key file names none
}

// parseKeyFile reads a LinuxLink / Vigiles key file: a JSON object with
// "email" and "key" (the successor's "organization_key" wins over "key"),
// and optionally "server_url". Values are stripped, as the toolkit does.
//
// Errors name the problem and the field, never a value: the content is a
// credential, and even a JSON syntax error message would quote part of it.
func parseKeyFile(content string) (*credentials, error) {
	bad := func(format string, args ...any) error {
		return sdk.InvalidArgument("key_file", format+"; a Vigiles key file is a JSON object with \"email\" and \"key\", downloaded from the Vigiles dashboard", args...)
	}
	if strings.TrimSpace(content) == "" {
		return nil, bad("the key file is empty")
	}
	dec := json.NewDecoder(strings.NewReader(content))
	dec.UseNumber()
	var doc any
	if err := dec.Decode(&doc); err != nil {
		var syn *json.SyntaxError
		if errors.As(err, &syn) {
			return nil, bad("the key file is not valid JSON (syntax error at byte %d)", syn.Offset)
		}
		return nil, bad("the key file is not valid JSON")
	}
	if dec.More() {
		return nil, bad("the key file is not valid JSON (more than one value)")
	}
	obj, ok := doc.(map[string]any)
	if !ok {
		return nil, bad("the key file holds a JSON %s, not an object", jsonKind(doc))
	}
	str := func(name string) (string, error) {
		v, ok := obj[name]
		if !ok || v == nil {
			return "", nil
		}
		s, ok := v.(string)
		if !ok {
			return "", bad("field %q of the key file is a JSON %s, want a string", name, jsonKind(v))
		}
		return pyStrip(s), nil
	}
	var cr credentials
	email, err := str("email")
	if err != nil {
		return nil, err
	}
	if email == "" {
		return nil, bad("the key file has no \"email\"")
	}
	cr.email = email
	key, err := str("key")
	if err != nil {
		return nil, err
	}
	orgKey, err := str("organization_key")
	if err != nil {
		return nil, err
	}
	cr.key = key
	if orgKey != "" {
		cr.key = orgKey
	}
	if cr.key == "" {
		return nil, bad("the key file has no \"key\" (or \"organization_key\")")
	}
	server, err := str("server_url")
	if err != nil {
		return nil, err
	}
	cr.serverURL = strings.TrimRight(server, "/")
	return &cr, nil
}

// credentialsFor parses the connection's key file and checks that it is meant
// for the connection's server.
//
// The credentials come from key_file, or from email and key: a CI system
// that keeps the key in a secret variable passes key = secret("env:...")
// and the email beside it, with no file at all.
func credentialsFor(c *sdk.Call) (*credentials, error) {
	var cr *credentials
	keyFile, email, key := c.Conn.String("key_file"), pyStrip(c.Conn.String("email")), pyStrip(c.Conn.String("key"))
	switch {
	case keyFile != "" && (email != "" || key != ""):
		return nil, sdk.InvalidArgument("key_file", "give key_file, or email and key, not both (they could name different users)")
	case keyFile != "":
		var err error
		if cr, err = parseKeyFile(keyFile); err != nil {
			return nil, err
		}
	case email == "" && key == "":
		return nil, sdk.InvalidArgument("key_file",
			"no credentials: pass key_file (the key file's content, e.g. file.read_secret(\"~/timesys/linuxlink_key\")) or email and key (e.g. key = secret(\"env:VIGILES_KEY\"))")
	case email == "":
		return nil, sdk.InvalidArgument("email", "key was given without email: Vigiles signs each request for one user's email")
	case key == "":
		return nil, sdk.InvalidArgument("key", "email was given without key: pass the API key, e.g. key = secret(\"env:VIGILES_KEY\")")
	default:
		cr = &credentials{email: email, key: key}
	}
	if cr.serverURL != "" && !sameServer(cr.serverURL, c.Conn.String("url")) {
		return nil, sdk.InvalidArgument("url",
			"the key file is for the server %s but the connection's url is %s; run with --var url=%s (the key file's server_url is not applied on its own: the engine only lets the plugin reach the connection's url)",
			cr.serverURL, c.Conn.String("url"), cr.serverURL)
	}
	return cr, nil
}

// sameServer compares two base URLs: scheme and host case-insensitively,
// the path without a trailing slash.
func sameServer(a, b string) bool {
	ua, errA := url.Parse(strings.TrimSpace(a))
	ub, errB := url.Parse(strings.TrimSpace(b))
	if errA != nil || errB != nil {
		return strings.TrimRight(a, "/") == strings.TrimRight(b, "/")
	}
	return strings.EqualFold(ua.Scheme, ub.Scheme) && strings.EqualFold(ua.Host, ub.Host) &&
		strings.TrimRight(ua.Path, "/") == strings.TrimRight(ub.Path, "/")
}

// pyStrip strips what Python's str.strip() strips: Unicode white space and
// the ASCII separators U+001C to U+001F, which Go's unicode.IsSpace leaves.
func pyStrip(s string) string {
	return strings.TrimFunc(s, func(r rune) bool {
		return unicode.IsSpace(r) || (r >= 0x1c && r <= 0x1f)
	})
}

func jsonKind(v any) string {
	switch v.(type) {
	case map[string]any:
		return "object"
	case []any:
		return "array"
	case string:
		return "string"
	case json.Number:
		return "number"
	case bool:
		return "boolean"
	case nil:
		return "null"
	}
	return fmt.Sprintf("%T", v)
}

// dashboardConfig is what a Vigiles dashboard config file holds: the
// product ("group" on enterprise servers, which the successor toolkit
// prefers, "product" as a fallback) and an optional folder.
type dashboardConfig struct{ product, folder string }

func parseDashboardConfig(content string) (dashboardConfig, error) {
	bad := func(format string, args ...any) error {
		return sdk.InvalidArgument("dashboard_config", format+"; a dashboard config is the JSON file downloaded from a product page of the Vigiles dashboard, with \"product\" (or \"group\") and optionally \"folder\"", args...)
	}
	var doc map[string]any
	if err := json.Unmarshal([]byte(content), &doc); err != nil || doc == nil {
		return dashboardConfig{}, bad("it is not a JSON object")
	}
	str := func(name string) (string, error) {
		v, ok := doc[name]
		if !ok || v == nil {
			return "", nil
		}
		s, ok := v.(string)
		if !ok {
			return "", bad("field %q is a JSON %s, want a string", name, jsonKind(v))
		}
		return pyStrip(s), nil
	}
	var dc dashboardConfig
	var err error
	if dc.product, err = str("group"); err != nil {
		return dc, err
	}
	if dc.product == "" {
		if dc.product, err = str("product"); err != nil {
			return dc, err
		}
	}
	if dc.product == "" {
		return dc, bad("it names no \"product\" or \"group\"")
	}
	if dc.folder, err = str("folder"); err != nil {
		return dc, err
	}
	return dc, nil
}

// connDefault is the connection's product or folder: the explicit field,
// else the dashboard config's. A broken dashboard config was refused by
// checkConnection before any op runs, so it reads as empty here.
func connDefault(c *sdk.Call, name string) string {
	if v := c.Conn.String(name); v != "" {
		return v
	}
	raw := c.Conn.String("dashboard_config")
	if strings.TrimSpace(raw) == "" {
		return ""
	}
	dc, err := parseDashboardConfig(raw)
	if err != nil {
		return ""
	}
	if name == "product" {
		return dc.product
	}
	if c.Conn.String("product") != "" && c.Conn.String("product") != dc.product {
		return "" // the dashboard's folder belongs to its product, not to the one given
	}
	return dc.folder
}
