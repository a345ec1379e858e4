// Package hostnet is the network door: every HTTP request a plugin makes
// arrives here over the go-plugin broker and leaves (or not) from here.
//
// Transport implements the Host gRPC service. For each request it finds the
// step that sent it and that step's connection, then in order: refuses a
// host other than the connection's (the allowlist), holds it when a dry-run
// must not send it (a write op's non-GET request, or any request carrying a
// value only known after apply), and otherwise sends it through the
// connection's TLS policy, the retry policy and the cassette (record or
// replay). Credentials seen on the wire are registered with the run's
// redactor, and every exchange is audited to the log in redacted form.
package hostnet
