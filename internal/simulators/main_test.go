package simulators

import (
	"os"
	"testing"

	bigipsim "github.com/tokenflow/tokenflow/plugins/bigip/sim"
	hxsim "github.com/tokenflow/tokenflow/plugins/hyperflex/sim"
	turbosim "github.com/tokenflow/tokenflow/plugins/turbonomic/sim"
	vcfsim "github.com/tokenflow/tokenflow/plugins/vcf/sim"
	vigilessim "github.com/tokenflow/tokenflow/plugins/vigiles/sim"
	"github.com/tokenflow/tokenflow/sdk/simkit"
)

// TestMain registers the simulators these tests start. The product's list is
// internal/intree, which imports this package and so cannot be imported here;
// these tests exercise the fleet machinery with a fixed set of vendors.
func TestMain(m *testing.M) {
	for _, r := range []simkit.Registration{
		vcfsim.Registration(), hxsim.Registration(), bigipsim.Registration(),
		turbosim.Registration(), vigilessim.Registration(),
	} {
		Register(r)
	}
	os.Exit(m.Run())
}

func TestRegisterRefusesRepeatsAndGaps(t *testing.T) {
	for name, r := range map[string]simkit.Registration{
		"repeated":  vcfsim.Registration(),
		"no vendor": {New: vcfsim.Registration().New},
		"no New":    {Vendor: "acme"},
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("%s: Register did not panic", name)
				}
			}()
			Register(r)
		}()
	}
	if got := Vendors(); len(got) != 5 || got[0] != "bigip" {
		t.Errorf("Vendors() = %v, want the 5 registered, sorted", got)
	}
}
