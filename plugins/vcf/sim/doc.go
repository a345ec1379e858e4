// Package sim is a loopback simulator of the VMware VCF 9.1 Operations API as far as tokenflow
// uses it: OpsToken login (/suite-api/api/auth/token/...), the current version, and the fleet
// management IAM API (/suite-api/api/fleet-management/iam/...): SSO realms, API clients, API
// tokens with their secrets, regeneration and expiry, principal role assignments and the global
// IAM settings. The wire facts come from vendors.md section 5 (the vendor's OpenAPI spec,
// info.version 9.1.1.0); this package shares no code with the vcf plugin, on purpose.
//
// State is in memory and guarded by one mutex. Every timestamp comes from the simulator's
// clock, so a test advances the clock to expire OpsTokens and API tokens instead of sleeping.
//
// Decisions where the vendor documents nothing (kept here so they are easy to revisit):
//   - Error bodies are {"message": "...", "httpStatusCode": N}; the spec declares none for IAM.
//   - The OpsToken is "<uuid>::<uuid>", valid for Config.OpsTokenTTL; expiresAt is written like
//     "Friday, May 1, 2026 6:00:00 PM UTC", as the long-standing vROps API does.
//   - `Authorization: Bearer <t>` is accepted for a valid OpsToken and for an access token the
//     simulator's identity broker endpoint issued (below). Such an access token acts as its API
//     client: no role assignment gives 403, and only read-only roles (vcf_viewer, vcf_auditor)
//     give 403 on writes.
//   - The identity broker's token endpoint (tokenEndpointUrl) is served too, at
//     POST /acs/t/{tenant}/token, form-encoded, with grant_type
//     urn:custom:vcf:params:oauth:grant-type:api-token and api_token=<secret> (or grant_type
//     refresh_token and refresh_token=<secret>, the guess vendors.md mentions). It answers an
//     OAuth token response, updates the API token's lastUsedDate, and rejects an unknown,
//     replaced or expired secret with 400 invalid_grant. Call SetAdvertisedHost with the
//     server's host:port (or set Config.AdvertisedHost) so tokenEndpointUrl is reachable.
//   - tokenLastChars is the last 4 characters of the secret; an API token secret is 43
//     URL-safe characters.
//   - Query LIKE is a case-insensitive substring match, or a SQL-style pattern when the term
//     holds '%'; EQUALS is exact. allOf terms must all match and, when anyOf is non-empty, one
//     of its terms must.
//   - Regenerating an expired API token is allowed and makes it ACTIVE again.
//   - Searching, paging and POSTing .../query, logging in and exchanging a token count as reads
//     for Recorder().Writes().
package sim
