// Package simkit holds the helpers every tokenflow vendor simulator shares: a settable clock,
// a generated certificate authority for loopback TLS, fault injection, a request recorder, a
// loopback server, small JSON and auth helpers, and the Simulator interface that
// `tokenflow sim` and `tokenflow demo` start.
//
// A simulator (plugins/<vendor>/sim) implements the vendor's side of the wire from vendors.md
// with in-memory state. It builds its routes on an http.ServeMux, wraps them with [Wrap] so that
// a [Recorder] sees every request and [Faults] can delay, refuse or drop them, and reads time
// only from its [Clock] so that tests can move expiry forward without sleeping. Most embed
// [Base] and keep each vendor resource in a [Table], which [Table.Mount] serves as a REST
// collection; other routes are [Base.HandleJSON] handlers.
//
// simkit imports only the standard library and knows nothing about any vendor or client.
package simkit
