package sim

import (
	"fmt"
	"path/filepath"
	"slices"
	"strconv"

	"github.com/tokenflow/tokenflow/sdk/simkit"
)

// Registration describes this simulator to `tokenflow sim`, `tokenflow demo` and the
// plugin's --simulate mode: its default account, what flows/hyperflex needs to run on it,
// and the login rate limit as a knob (`tokenflow sim --set hyperflex.login-rate=N`).
func Registration() simkit.Registration {
	return simkit.Registration{
		Vendor: "hyperflex",
		New:    func(c *simkit.Clock) simkit.Simulator { return New(Config{Clock: c}) },
		NewWithPassword: func(c *simkit.Clock, pw string) simkit.Simulator {
			accounts := slices.Clone(DefaultAccounts)
			for i := range accounts {
				if accounts[i].Username == DefaultUser {
					accounts[i].Password = pw
				}
			}
			return New(Config{Clock: c, Accounts: accounts})
		},
		Username: DefaultUser, Password: DefaultPassword, PasswordEnv: "HX_PASSWORD",
		ExampleFlow: "hyperflex/token.star",
		FlowVars:    map[string]string{"user": DefaultUser},
		// hyperflex/token.star writes the token file; one per instance.
		TargetVars: func(dir string) map[string]string {
			return map[string]string{"token_file": filepath.Join(dir, "hx_token.xml")}
		},
		Knobs: map[string]string{"login-rate": "logins accepted per 15 minutes (default 5; -1: unlimited)"},
		Tune: func(s simkit.Simulator, key, value string) error {
			n, err := strconv.Atoi(value)
			if err != nil {
				return fmt.Errorf("want a whole number of logins: %w", err)
			}
			s.(*Sim).SetAuthRateLimit(n, 0)
			return nil
		},
	}
}
