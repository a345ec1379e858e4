package sim

import (
	"path/filepath"

	"github.com/tokenflow/tokenflow/sdk/simkit"
)

// Registration describes this simulator to `tokenflow sim`, `tokenflow demo` and the
// plugin's --simulate mode: Vigiles signs requests with the key of a key file instead of a
// password, so Setup writes one.
func Registration() simkit.Registration {
	return simkit.Registration{
		Vendor: "vigiles",
		New:    func(c *simkit.Clock) simkit.Simulator { return New(Config{Clock: c}) },
		// The key file written at start keeps the default key, so requests signed with it fail.
		NewWithPassword: func(c *simkit.Clock, key string) simkit.Simulator {
			return New(Config{Clock: c, Users: map[string]string{DefaultEmail: key}})
		},
		Username: DefaultEmail, Password: "(key file)",
		Setup: func(s simkit.Simulator, dir string) (map[string]string, error) {
			path := filepath.Join(dir, "linuxlink_key")
			if err := s.(*Sim).WriteKeyFile(path, DefaultEmail); err != nil {
				return nil, err
			}
			return map[string]string{"key_file": path}, nil
		},
		// vigiles/heartbeat.star and scan.star; the key file is a credential.
		ExampleFlow: "vigiles/heartbeat.star",
		FlowVars:    map[string]string{"product": DefaultProductToken, "folder": DefaultFolderToken},
	}
}
