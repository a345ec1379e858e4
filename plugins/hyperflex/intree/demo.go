package intree

import (
	"errors"
	"fmt"
	"github.com/tokenflow/tokenflow/internal/demo"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/tokenflow/tokenflow/plugins/hyperflex/sim"
)

var scenario = demo.Scenario{Vendor: "hyperflex", Order: 20, Run: func(e *demo.Env) error {
	r := e.Sim("hyperflex")
	s := r.Sim.(*sim.Sim)
	dir, err := os.MkdirTemp("", "tokenflow-demo-hx-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	tokenFile := filepath.Join(dir, "hx_token.xml")
	vars := map[string]string{"url": r.Server.URL, "ca_file": e.CAFile, "token_file": tokenFile}
	env := map[string]string{"HX_PASSWORD": sim.DefaultPassword}
	logins := func() int { return s.Recorder().Count(http.MethodPost, sim.AuthPath) }
	run := func(title string, dryRun bool, wantAction string) error {
		res, err := e.Run(title, "hyperflex/token.star", vars, env, dryRun)
		if err != nil {
			return err
		}
		for _, o := range res.Outputs {
			if o.Name == "action" && o.Value != wantAction {
				return fmt.Errorf("%s: action %v, want %s", title, o.Value, wantAction)
			}
		}
		return nil
	}

	e.Say("HyperFlex rate limits logins (POST /aaa/v1/auth) since HX 4.0(2a): keep one token in a")
	e.Say("token file, reuse it while it is valid, refresh it when it is not, log in only as a last resort.")
	e.Say("First the plan: with no token file a login is needed; auth is a write, so it is shown, not sent.")
	if err := run("HyperFlex token file plan", true, "obtained"); err != nil {
		return err
	}
	if logins() != 0 || s.Recorder().Writes() != 0 {
		return errors.New("the dry-run logged in")
	}
	e.Say("The simulator received no login during the dry-run; the password shows as ***.")
	if err := run("HyperFlex token file", false, "obtained"); err != nil {
		return err
	}
	e.Say("")
	e.Say("Run it again: the cluster validates the token in the file, so there is no login.")
	if err := run("HyperFlex token file, again", false, "reused"); err != nil {
		return err
	}
	if n := logins(); n != 1 {
		return fmt.Errorf("%d logins over two runs, want 1", n)
	}
	e.Say("Logins so far: %d.", logins())

	e.Clock.Advance(19 * 24 * time.Hour)
	e.Say("")
	e.Say("19 days pass (simulator clock): the 18-day access token has expired. The flow refreshes the")
	e.Say("pair with its refresh token, no password, no login; the old pair stops working.")
	if err := run("HyperFlex token file, after expiry", false, "refreshed"); err != nil {
		return err
	}

	e.Say("")
	e.Say("Revoke the pair in the file (revoke.star); the next token.star run cannot refresh it and logs in anew.")
	if _, err := e.Run("HyperFlex revoke", "hyperflex/revoke.star", vars, env, false); err != nil {
		return err
	}
	if err := run("HyperFlex token file, after revoke", false, "obtained"); err != nil {
		return err
	}

	e.Say("")
	e.Say("A damaged token file is an error, and the file is left as it is:")
	raw, err := os.ReadFile(tokenFile)
	if err != nil {
		return err
	}
	if err := os.WriteFile(tokenFile, raw[:len(raw)/2], 0o600); err != nil {
		return err
	}
	before := logins()
	if _, err := e.Run("HyperFlex token file, truncated", "hyperflex/token.star", vars, env, false); err == nil {
		return errors.New("a truncated token file was accepted")
	} else {
		e.Say("   error: %v", err)
	}
	e.Say("With --var overwrite=true the flow replaces it with a new token (one login).")
	vars["overwrite"] = "true"
	if err := run("HyperFlex token file, overwrite", false, "obtained"); err != nil {
		return err
	}
	if n := logins() - before; n != 1 {
		return fmt.Errorf("%d logins to replace the damaged file, want 1", n)
	}
	e.Say("Logins in all: %d, for 7 runs of token.star.", logins())
	return nil
}}
