package intree

import (
	"fmt"
	"github.com/tokenflow/tokenflow/internal/demo"
	"net/http"

	"github.com/tokenflow/tokenflow/plugins/turbonomic/sim"
)

var scenario = demo.Scenario{Vendor: "turbonomic", Order: 40, Run: func(e *demo.Env) error {
	r := e.Sim("turbonomic")
	s := r.Sim.(*sim.Sim)
	vars := map[string]string{"url": r.Server.URL, "ca_file": e.CAFile, "account": "svc-tokenflow", "role": "OBSERVER"}
	env := map[string]string{"TURBO_PASSWORD": sim.DefaultPassword, "TURBO_SA_PASSWORD": "demo-Service-Account-1"}

	e.Say("Create a Turbonomic service account once, check it can log in, store its password.")
	e.Say("First the plan: the version check and the user lookup run for real; the POST is held.")
	if _, err := e.Run("Turbonomic service account plan", "turbonomic/service_account.star", vars, env, true); err != nil {
		return err
	}
	if w := s.Recorder().Writes(); w != 0 {
		return fmt.Errorf("the dry-run sent %d writes to the simulator", w)
	}
	e.Say("The simulator received 0 writes during the dry-run; the password shows as ***.")
	if _, err := e.Run("Turbonomic service account", "turbonomic/service_account.star", vars, env, false); err != nil {
		return err
	}
	e.Say("")
	e.Say("Run it again: the account exists, so nothing is created (created = False).")
	if _, err := e.Run("Turbonomic service account, again", "turbonomic/service_account.star", vars, env, false); err != nil {
		return err
	}
	if n := s.Recorder().Count(http.MethodPost, sim.Base+"/users"); n != 1 {
		return fmt.Errorf("POST users sent %d times over two runs, want 1", n)
	}

	e.Say("")
	e.Say("Inventory: 1,200 VMs served 100 per page; the flow follows x-next-cursor to the end.")
	s.AddEntities("VirtualMachine", 1200-len(s.Entities("VirtualMachine")))
	s.SetPageSize(100)
	inv := map[string]string{"url": r.Server.URL, "ca_file": e.CAFile, "types": "VirtualMachine,PhysicalMachine,Storage"}
	if _, err := e.Run("Turbonomic inventory", "turbonomic/inventory.star", inv, env, false); err != nil {
		return err
	}

	e.Say("")
	e.Say("An appliance below vmt-connect's minimum (7.21+ for XL) is refused before anything is sent but the version probe.")
	s.SetVersion(sim.XLVersion("7.20.1"))
	defer s.SetVersion(sim.XLVersion(sim.DefaultXLVersion))
	writes := s.Recorder().Writes()
	vars["account"] = "svc-other"
	_, err := e.Run("Turbonomic service account on 7.20.1", "turbonomic/service_account.star", vars, env, false)
	if err == nil {
		return fmt.Errorf("a 7.20.1 appliance was accepted")
	}
	if w := s.Recorder().Writes(); w != writes {
		return fmt.Errorf("the refused run sent %d writes", w-writes)
	}
	e.Say("refused as expected: %s", e.Redact(err.Error()))
	return nil
}}
