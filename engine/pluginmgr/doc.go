// Package pluginmgr finds, launches and talks to plugin binaries.
//
// Manager.Get returns a running Plugin for a vendor: it searches the
// configured directories and then $PATH for tokenflow-plugin-<vendor>,
// launches it with hashicorp/go-plugin (gRPC only, mutual TLS with P-256
// identities made per run (channel.go), no inherited
// environment, an explicit start timeout), serves the host transport on the
// plugin's broker once, and caches the schema from Describe. Manager.Close
// kills every plugin process it started.
//
// The engine talks to plugins only through the Plugin interface; gRPC and the
// protobuf conversion are confined to grpc.go and fromproto.go.
package pluginmgr
