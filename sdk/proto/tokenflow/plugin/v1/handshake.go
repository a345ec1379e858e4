package pluginv1

// Handshake values shared by the engine and every plugin. go-plugin refuses
// to start a binary whose magic cookie or protocol version does not match, so
// running a plugin binary by hand prints a friendly message instead of
// speaking gRPC to a terminal.
const (
	// ProtocolVersion is the version of this contract.
	ProtocolVersion = 1
	// MagicCookieKey and MagicCookieValue identify a tokenflow plugin.
	MagicCookieKey   = "TOKENFLOW_PLUGIN"
	MagicCookieValue = "3d9f2b7c-tokenflow-plugin-v1"
	// PluginName is the name the single plugin service is dispensed under.
	PluginName = "tokenflow"
	// BinaryPrefix prefixes every plugin binary: tokenflow-plugin-<vendor>.
	BinaryPrefix = "tokenflow-plugin-"
)
