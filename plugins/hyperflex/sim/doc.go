// Package sim is a loopback simulator of the Cisco HyperFlex AAA token API (/aaa/v1), plus
// the two read-only REST calls a token is typically used for (GET /coreapi/v1/clusters and
// GET /coreapi/v1/clusters/{uuid}/about). The wire facts come from vendors.md section 1 (the
// hx-api-token-manager client and developer.cisco.com); this package shares no code with the
// hyperflex plugin, on purpose.
//
// Every AAA call is a POST with a JSON body and "Content-Type: application/json":
//
//	POST /aaa/v1/auth?grant_type=password  {username, password, client_id, client_secret, redirect_uri} -> 201 {access_token, refresh_token, token_type}
//	POST /aaa/v1/token?grant_type=refresh  {access_token, refresh_token, token_type}                   -> 201 (a new pair)
//	POST /aaa/v1/validate                  {access_token, scope, token_type}                           -> 200, or 401/403
//	POST /aaa/v1/revoke                    {access_token, refresh_token, token_type}                   -> 200 {}
//
// Access tokens are HS256 JWTs (header {"alg":"HS256"}) with the claims vendors.md decodes from
// the client's screenshots: sub "users/<user>", exp (epoch seconds), user, token (a session
// counter that stays the same across a refresh), scope ("READ,MODIFY"), issuedAt (epoch ms),
// tokenLifeTime (ms; 18 days), idleTimeout (ms; 30 minutes), warnIdleTimeout and iss. Refresh
// tokens are 64 hex characters. A refresh rotates both tokens and invalidates the old pair; a
// revoke invalidates the pair. State is in memory; every time comes from the simulator's clock,
// so tests move expiry and idle timeouts forward instead of sleeping.
//
// Decisions where the vendor documents nothing (kept here so they are easy to revisit):
//   - Error bodies are {"message": "..."}; the client only prints whatever comes back.
//   - Wrong username or password, or a client_id/client_secret other than the GUI client's
//     (HxGuiClient/Sunnyvale), is 401. A missing or wrong grant_type, or a body that is not
//     JSON, is 400; a Content-Type that is not JSON is 415.
//   - Validate answers 401 for an unknown, revoked, expired or idle-timed-out access token, 403
//     when the token's scope does not cover the requested one, 400 for a scope other than READ
//     or MODIFY. A successful validate or API call counts as activity for the idle timeout.
//   - Refresh needs the current access token of the pair (expired or idle is fine) and its
//     refresh token; refresh tokens do not expire on their own. Anything else is 401.
//   - Revoke needs the pair's refresh token and its current access token; 401 otherwise.
//   - The AAA rate limit applies to /aaa/v1/auth only, per cluster (all users together): at
//     most Config.AuthRateLimit requests in any Config.AuthRateWindow (a sliding window);
//     beyond it 429 with {"message": ...} and Retry-After in whole seconds until a slot frees.
//     Requests answered 429 do not count. vendors.md found no public numbers; the defaults
//     (5 per 15 minutes) follow the "15 minute period" a third-party script warns about.
//   - Access tokens carry an extra "jti" claim (a random id), so two tokens issued in the same
//     millisecond under a frozen clock still differ.
//   - Logging in, refreshing and revoking count as writes for Recorder().Writes(); validating
//     (a POST) and the REST GETs are reads.
package sim
