// Package sim is a loopback simulator of F5 BIG-IP iControl REST as far as token management
// goes: the login endpoint (/mgmt/shared/authn/login), the auth-token collection
// (/mgmt/shared/authz/tokens), and the two endpoints clients read when they start
// (/mgmt/tm/sys/ and /mgmt/tm/sys/version). The wire facts come from vendors.md section 4
// (f5-icontrol-rest-python, f5-common-python, DevCentral); this package shares no code with
// the bigip plugin, on purpose.
//
// State is in memory and guarded by one mutex. Every timestamp comes from the simulator's
// clock, so a test advances the clock to expire tokens instead of sleeping.
//
// Behaviour, as on a real BIG-IP:
//   - POST /mgmt/shared/authn/login takes {"username", "password", "loginProviderName"} and
//     answers the login object with a token item inside. An `Authorization: Basic` header, which
//     the icontrol client sends too, is accepted and ignored: the body's credentials decide.
//   - Tokens are 26 uppercase base32 characters, live `timeout` seconds from their start
//     (default 1200); PATCH (or PUT, which f5-common-python's update sends) with a timeout
//     extends them up to the absolute maximum of 36000 s, above which the answer is 406
//     "Auth-token absolute timeout (36000 seconds) exceeded".
//   - A user holds at most 100 active tokens; the 101st login answers 400 "Bad Request: user
//     <name> has reached maximum active login tokens". The admin user is exempt.
//   - Requests authenticate with `X-F5-Auth-Token: <token>` or with HTTP Basic. An unknown or
//     expired token answers 401 "X-F5-Auth-Token does not exist.", which clients match to log in
//     again; no credentials at all answers 401 "Authorization failed: no user authentication
//     header or token detected. ...".
//   - A user lists, reads, extends and deletes only its own tokens; another user's token
//     answers 400.
//   - Errors have BIG-IP's shape: {"code", "message", "referer", "restOperationId",
//     "errorStack", "kind": ":resterrorresponse"}. A failed login echoes the request body in
//     "originalRequestBody", password included, as BIG-IP does; clients must not print error
//     bodies.
//
// Decisions where the sources are silent (kept here so they are easy to revisit):
//   - An unknown loginProviderName answers 400 "Login provider <name> not found."; a known
//     provider that does not hold the user answers 401 "Authentication failed.".
//   - GET, PATCH or DELETE of a token that does not exist (or expired) answers 404 "Object not
//     found - <selfLink>"; another user's token answers 400 "Bad Request: user <name> may only
//     access its own tokens.".
//   - Expiry is measured from startTime: expirationMicros = start + timeout. A PATCH whose
//     timeout makes the token expire at once deletes it.
//   - DELETE of an item answers 200 with the deleted item. DELETE of the collection deletes
//     every token of the caller (f5-common-python's delete_collection with options=*).
//     POST to the collection (creating a token for a user) is not simulated.
//   - The collection lists only the caller's own tokens, admin's included.
//   - Logging in, and deleting the very token a request authenticates with (a logout), count
//     as reads for Recorder().Writes(): they are what a dry-run needs to authenticate.
package sim
