package pluginmgr

import (
	"crypto/tls"
	"encoding/pem"
	"fmt"
	"os"
	"sync"

	pb "github.com/tokenflow/tokenflow/sdk/proto/tokenflow/plugin/v1"
)

// The engine's channel identity is made once per process: every plugin it
// launches is told to trust it, and each plugin gets an identity of its
// own, so one plugin cannot pass for another to the engine.
var engineIdentity = sync.OnceValues(pb.NewChannelIdentity)

// newChannel makes a plugin's identity and returns the engine's TLS
// configuration for that plugin, the read end of a pipe holding the
// plugin's credentials, to be inherited as its descriptor 3, and the
// environment that tells the plugin so.
//
// The environment also carries the engine's certificate (public) in
// go-plugin's PLUGIN_CLIENT_CERT, for plugins that make their own identity
// as go-plugin's AutoMTLS does (plugins in other languages, see
// docs/plugins-other-languages.md): such a plugin prints its certificate
// in the handshake line, go-plugin then trusts exactly that one instead
// (in this configuration), and the plugin trusts exactly the engine's.
func newChannel() (*tls.Config, *os.File, []string, error) {
	engine, err := engineIdentity()
	if err != nil {
		return nil, nil, nil, err
	}
	plugin, err := pb.NewChannelIdentity()
	if err != nil {
		return nil, nil, nil, err
	}
	data, err := pb.EncodeChannel(plugin, engine.Leaf)
	if err != nil {
		return nil, nil, nil, err
	}
	r, w, err := os.Pipe()
	if err != nil {
		return nil, nil, nil, fmt.Errorf("channel pipe: %w", err)
	}
	// A few hundred bytes fit in the pipe's buffer: the write does not
	// wait for the plugin to read.
	_, err = w.Write(data)
	if cerr := w.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		r.Close()
		return nil, nil, nil, fmt.Errorf("channel pipe: %w", err)
	}
	env := []string{
		fmt.Sprintf("%s=%d", pb.EnvChannelFD, pb.ChannelFD),
		"PLUGIN_CLIENT_CERT=" + string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: engine.Leaf.Raw})),
	}
	return pb.ChannelTLS(engine, plugin.Leaf), r, env, nil
}
