package hostnet

import (
	"encoding/json"
	"net/http"
	"strings"

	"github.com/tokenflow/tokenflow/engine/plan"
	"github.com/tokenflow/tokenflow/engine/redact"
)

// secretKeys are JSON keys whose values are credentials in the vendors'
// wire formats (bearer and session tokens, access/refresh token pairs,
// passwords, client secrets, API keys).
var secretKeys = map[string]bool{
	"password": true, "token": true, "access_token": true, "refresh_token": true,
	"accesstoken": true, "refreshtoken": true, "client_secret": true, "clientsecret": true,
	"api_key": true, "apikey": true, "key": true, "secret": true, "jwttoken": true,
	"organization_key": true, "session": true, "sessionid": true,
}

// registerWireSecrets adds to r the credentials visible on the wire: the
// values of credential headers (without an auth scheme) and of
// credential-named JSON fields anywhere in a body. This is how a session
// token obtained inside a plugin gets masked everywhere although the engine
// never saw it as a value.
func registerWireSecrets(r *redact.Redactor, h http.Header, body []byte) {
	for name, values := range h {
		if !plan.IsSensitiveHeader(name) {
			continue
		}
		for _, v := range values {
			switch name {
			case "Authorization", "Proxy-Authorization":
				if _, cred, ok := strings.Cut(v, " "); ok {
					v = cred
				}
			case "Cookie", "Set-Cookie":
				for _, part := range strings.Split(v, ";") {
					if _, val, ok := strings.Cut(strings.TrimSpace(part), "="); ok && len(val) >= 8 {
						r.Add(val)
					}
				}
				continue
			}
			r.Add(strings.TrimSpace(v))
		}
	}
	RegisterJSONSecrets(r, body)
}

// RegisterJSONSecrets registers the credential-named fields of a JSON
// document (a request or response body, or a secret file such as a key
// file), so a credential taken out of it is masked on its own too.
func RegisterJSONSecrets(r *redact.Redactor, data []byte) {
	if len(data) == 0 || (data[0] != '{' && data[0] != '[') {
		return
	}
	var v any
	if json.Unmarshal(data, &v) != nil {
		return
	}
	walkSecrets(r, v)
}

func walkSecrets(r *redact.Redactor, v any) {
	switch x := v.(type) {
	case map[string]any:
		for k, val := range x {
			if s, ok := val.(string); ok && secretKeys[strings.ToLower(k)] {
				r.Add(s)
				continue
			}
			walkSecrets(r, val)
		}
	case []any:
		for _, e := range x {
			walkSecrets(r, e)
		}
	}
}
