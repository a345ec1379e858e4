package intree

import (
	"fmt"
	"github.com/tokenflow/tokenflow/internal/demo"
	"strings"
	"time"

	"github.com/tokenflow/tokenflow/plugins/bigip/sim"
)

var scenario = demo.Scenario{Vendor: "bigip", Order: 30, Run: func(e *demo.Env) error {
	r := e.Sim("bigip")
	s := r.Sim.(*sim.Sim)
	vars := map[string]string{
		"url": r.Server.URL, "ca_file": e.CAFile,
		"username": sim.DefaultUser, "store_name": "bigip/" + sim.DefaultUser,
	}
	env := map[string]string{"BIGIP_PASSWORD": sim.DefaultPassword}

	e.Say("F5 BIG-IP auth tokens live 20 minutes unless extended, 10 hours at most.")
	e.Say("A long job needs one token, extended and stored. First the plan:")
	if _, err := e.Run("BIG-IP session plan", "bigip/session.star", vars, env, true); err != nil {
		return err
	}
	if _, err := e.Run("BIG-IP session", "bigip/session.star", vars, env, false); err != nil {
		return err
	}

	e.Say("")
	e.Say("A script that logs in for every call and never logs out has left 99 more tokens")
	e.Say("(created directly in the simulator). BIG-IP allows 100 per user. session.star converges:")
	e.Say("it checks the stored token with that token itself and keeps it, so it needs no login:")
	for i := 0; i < sim.MaxTokensPerUser-1; i++ {
		if _, err := s.IssueToken(sim.DefaultUser); err != nil {
			return err
		}
	}
	if _, err := e.Run("BIG-IP session, stored token kept", "bigip/session.star", vars, env, false); err != nil {
		return err
	}
	e.Say("")
	e.Say("A fresh token (renew_before=10h replaces any stored one) needs a login, which now fails:")
	vars["renew_before"] = "10h"
	_, err := e.Run("BIG-IP session at the limit", "bigip/session.star", vars, env, false)
	if err == nil || !strings.Contains(err.Error(), "maximum active login tokens") {
		return fmt.Errorf("a login at the token limit: got %v, want BIG-IP's limit error", err)
	}
	e.Say("   refused, as expected: %s", lastLine(err.Error()))

	e.Say("")
	e.Say("cleanup.star authenticates with the stored token (no login needed) and revokes the rest.")
	if _, err := e.Run("BIG-IP cleanup", "bigip/cleanup.star", vars, env, false); err != nil {
		return err
	}
	if n := len(s.Tokens(sim.DefaultUser)); n != 1 {
		return fmt.Errorf("after the cleanup the user holds %d tokens, want 1", n)
	}
	e.Say("Exactly one token is left: the stored one. Logging in works again:")
	if _, err := e.Run("BIG-IP session", "bigip/session.star", vars, env, false); err != nil {
		return err
	}
	delete(vars, "renew_before")

	e.Say("")
	e.Say("The previous job's token is still active. The cleanup plan shows what would go:")
	before := s.Recorder().Writes()
	if _, err := e.Run("BIG-IP cleanup plan", "bigip/cleanup.star", vars, env, true); err != nil {
		return err
	}
	if w := s.Recorder().Writes() - before; w != 0 {
		return fmt.Errorf("the cleanup dry-run sent %d writes to the simulator", w)
	}
	e.Say("The simulator received 0 writes during the dry-run.")

	e.Clock.Advance(9 * time.Hour)
	e.Say("")
	e.Say("9 hours pass (simulator clock): the stored token has one hour left. Rotate it:")
	e.Say("new token -> extend -> store as pending -> verify with itself -> promote -> only then")
	e.Say("revoke the old one, and the one the second session replaced.")
	if _, err := e.Run("BIG-IP rotation", "bigip/rotate.star", vars, env, false); err != nil {
		return err
	}
	return nil
}}

// lastLine is the end of an error message: the vendor's words.
func lastLine(msg string) string {
	msg = strings.TrimSpace(msg)
	if i := strings.LastIndex(msg, ": HTTP "); i >= 0 {
		return strings.TrimSpace(msg[i+2:])
	}
	return msg
}
