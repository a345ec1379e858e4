// Package sdk is what a tokenflow plugin author imports.
//
// A plugin is a Plugin value: a connection schema and a list of Ops, each op
// one declaration of its params, result fields, effect and Go handler. Serve
// runs it as a go-plugin gRPC server; the engine launches the binary.
//
// ReadOp and WriteOp declare an op from a typed handler, deriving params and
// result fields from its argument and result structs' tags; Route makes the
// handler of an op that is one JSON request.
//
// Handlers reach the network only through Call.HTTP, an *http.Client whose
// transport forwards every request to the engine's host transport. The engine
// applies TLS policy, the connection's allowlist, retries, dry-run hold,
// record/replay and redaction, so a plugin never implements any of them.
//
// Errors a handler returns should be *Error values (NotFound, Conflict, ...
// or FromResponse for an HTTP answer); anything else reaches the user as an
// internal error.
//
// Plugin authors never see protobuf: the conversion lives in this package.
package sdk
