package intree

import (
	"fmt"
	"github.com/tokenflow/tokenflow/internal/demo"
	"time"

	"github.com/tokenflow/tokenflow/plugins/vcf/sim"
)

var scenario = demo.Scenario{Vendor: "vcf", Order: 10, Run: func(e *demo.Env) error {
	r := e.Sim("vcf")
	s := r.Sim.(*sim.Sim)
	vars := map[string]string{
		"url": r.Server.URL, "ca_file": e.CAFile, "realm": "flt-idb02",
		"client_id": "ci-bot", "token_name": "ci-bot-main",
	}
	env := map[string]string{"VCF_PASSWORD": sim.DefaultPassword}
	e.Say("Onboard an automation client on VCF 9.1: realm -> API client -> roles -> token -> store.")
	e.Say("First the plan: lookups run for real, every write is shown and held.")
	if _, err := e.Run("VCF onboarding plan", "vcf/onboard.star", vars, env, true); err != nil {
		return err
	}
	if w := s.Recorder().Writes(); w != 0 {
		return fmt.Errorf("the dry-run sent %d writes to the simulator", w)
	}
	e.Say("The simulator received 0 writes during the dry-run.")
	if _, err := e.Run("VCF onboarding", "vcf/onboard.star", vars, env, false); err != nil {
		return err
	}
	e.Clock.Advance(25 * 24 * time.Hour)
	e.Say("")
	e.Say("25 days pass (simulator clock). The token expires in 5 days; rotate anything expiring within 7.")
	vars["window"] = "7d"
	if _, err := e.Run("VCF rotation", "vcf/rotate.star", vars, env, false); err != nil {
		return err
	}
	return nil
}}
