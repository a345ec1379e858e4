package sim

import (
	"fmt"
	"strconv"

	"github.com/tokenflow/tokenflow/sdk/simkit"
)

// Registration describes this simulator to `tokenflow sim`, `tokenflow demo` and the
// plugin's --simulate mode: its default account, what flows/turbonomic needs to run on it,
// and the entity count as a knob (`tokenflow sim --set turbonomic.entities=N`).
func Registration() simkit.Registration {
	return simkit.Registration{
		Vendor: "turbonomic",
		New:    func(c *simkit.Clock) simkit.Simulator { return New(Config{Clock: c}) },
		NewWithPassword: func(c *simkit.Clock, pw string) simkit.Simulator {
			return New(Config{Clock: c, Users: []User{{Username: DefaultUser, Password: pw, RoleName: "ADMINISTRATOR"}}})
		},
		Username: DefaultUser, Password: DefaultPassword, PasswordEnv: "TURBO_PASSWORD",
		// turbonomic/service_account.star creates this account with the password in
		// TURBO_SA_PASSWORD.
		ExampleFlow: "turbonomic/service_account.star",
		FlowVars:    map[string]string{"user": DefaultUser, "account": "svc-tokenflow", "role": "OBSERVER"},
		Env:         map[string]string{"TURBO_SA_PASSWORD": "Fleet-Service-Account-1"},
		Knobs:       map[string]string{"entities": "VirtualMachine entities (default 48; it cannot drop any)"},
		Tune: func(s simkit.Simulator, key, value string) error {
			n, err := strconv.Atoi(value)
			if err != nil {
				return fmt.Errorf("want a whole number of entities: %w", err)
			}
			sim := s.(*Sim)
			have := len(sim.Entities("VirtualMachine"))
			if n < have {
				return fmt.Errorf("the simulator starts with %d VirtualMachines and cannot drop any; give %d or more", have, have)
			}
			sim.AddEntities("VirtualMachine", n-have)
			return nil
		},
	}
}
