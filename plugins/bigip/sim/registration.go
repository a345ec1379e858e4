package sim

import (
	"slices"

	"github.com/tokenflow/tokenflow/sdk/simkit"
)

// Registration describes this simulator to `tokenflow sim`, `tokenflow demo` and the
// plugin's --simulate mode: its default account and what flows/bigip needs to run on it.
func Registration() simkit.Registration {
	return simkit.Registration{
		Vendor: "bigip",
		New:    func(c *simkit.Clock) simkit.Simulator { return New(Config{Clock: c}) },
		NewWithPassword: func(c *simkit.Clock, pw string) simkit.Simulator {
			users := slices.Clone(DefaultUsers)
			for i := range users {
				if users[i].Name == DefaultUser {
					users[i].Password = pw
				}
			}
			return New(Config{Clock: c, Users: users})
		},
		Username: DefaultUser, Password: DefaultPassword, PasswordEnv: "BIGIP_PASSWORD",
		// bigip/session.star, rotate.star, cleanup.star.
		ExampleFlow: "bigip/session.star",
		FlowVars:    map[string]string{"username": DefaultUser},
	}
}
