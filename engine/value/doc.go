// Package value holds the Starlark value types and unpackers every tokenflow
// builtin shares: Secret (a credential that prints as ***), Unknown (a value
// a dry-run learns only at apply), and the duration syntax flows use ("28d").
package value
