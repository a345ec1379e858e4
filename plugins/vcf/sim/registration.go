package sim

import "github.com/tokenflow/tokenflow/sdk/simkit"

// Registration describes this simulator to `tokenflow sim`, `tokenflow demo` and the
// plugin's --simulate mode: its default account and what flows/vcf needs to run on it.
func Registration() simkit.Registration {
	return simkit.Registration{
		Vendor: "vcf",
		New:    func(c *simkit.Clock) simkit.Simulator { return New(Config{Clock: c}) },
		NewWithPassword: func(c *simkit.Clock, pw string) simkit.Simulator {
			return New(Config{Clock: c, Users: map[string]string{DefaultUser: pw}})
		},
		Username: DefaultUser, Password: DefaultPassword, PasswordEnv: "VCF_PASSWORD",
		// vcf/onboard.star and rotate.star.
		ExampleFlow: "vcf/onboard.star",
		FlowVars:    map[string]string{"realm": "flt-idb02", "client_id": "ci-bot", "token_name": "ci-bot-main"},
	}
}
