package turbonomic_test

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/cookiejar"
	"os/exec"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/tokenflow/tokenflow/engine"
	"github.com/tokenflow/tokenflow/internal/flowtest"
	"github.com/tokenflow/tokenflow/plugins/turbonomic/sim"
)

func TestActionsFlow(t *testing.T) {
	e := newEnv(t, sim.Config{Inventory: map[string]int{"VirtualMachine": 2500, "PhysicalMachine": 8, "Storage": 10}})
	res, err := e.run(t, "actions.star", nil)
	if err != nil {
		t.Fatal(err)
	}
	out := flowtest.Outputs(res)
	want := e.sim.Actions()
	types, _ := json.Marshal(out["by_type"])
	if out["total"] != int64(len(want)) || !strings.Contains(string(types), `"RESIZE":834`) || len(out["top"].([]any)) != 10 ||
		!strings.HasPrefix(out["top"].([]any)[0].(string), "RESIZE: Resize up VCPU") {
		t.Fatalf("outputs = %v", out)
	}
	if w := e.sim.Recorder().Writes(); w != 0 {
		t.Errorf("%d writes", w)
	}

	// A group's actions, and the gate on CRITICAL risk.
	vms := e.sim.Entities("VirtualMachine")
	var members []string
	for _, v := range vms[:12] {
		members = append(members, v.UUID)
	}
	e.sim.AddGroup(sim.Group{DisplayName: "pilot", GroupType: "VirtualMachine", Members: members})
	e.vars["group"], e.vars["max_critical"] = "pilot", "1"
	_, err = e.run(t, "actions.star", nil)
	var fe *engine.FlowError
	if !errors.As(err, &fe) || !strings.Contains(fe.Msg, "2 actions with CRITICAL risk wait in group pilot (allowed: 1)") ||
		!strings.Contains(fe.Msg, "Resize up VCPU for Virtual Machine vm-0001") {
		t.Fatalf("gate: %v", err)
	}
	e.vars["max_critical"] = "2"
	res, err = e.run(t, "actions.star", nil)
	if err != nil {
		t.Fatal(err)
	}
	if out := flowtest.Outputs(res); out["members"] != int64(12) || out["total"] != int64(4) {
		t.Fatalf("group outputs = %v", out)
	}
	assertNoCanary(t, "log", e.log.String(), adminPassword)
}

// `tokenflow sim` without --targets honours --set turbonomic.entities and hyperflex.login-rate: the binary
// is started as a user would, and its simulators are asked over HTTP.
func TestSimFlagsInSingleMode(t *testing.T) {
	bin := flowtest.Binary(t, "./cmd/tokenflow", "tokenflow")
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "sim", "--plain-http", "--dir", t.TempDir(), "--set", "turbonomic.entities=2500", "--set", "hyperflex.login-rate=2", "turbonomic", "hyperflex")
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { cmd.Process.Kill(); cmd.Wait() }()
	urls := map[string]string{}
	row := regexp.MustCompile(`^(turbonomic|hyperflex)\s+(http://127\.0\.0\.1:\d+)`)
	sc := bufio.NewScanner(stdout)
	for sc.Scan() && len(urls) < 2 {
		if m := row.FindStringSubmatch(sc.Text()); m != nil {
			urls[m[1]] = m[2]
		}
	}
	if len(urls) != 2 {
		t.Fatalf("sim printed no URLs: %v", urls)
	}
	go func() { // keep draining so the server never blocks on a full pipe
		for sc.Scan() {
		}
	}()

	// Turbonomic: 2,500 VirtualMachines, counted through the API.
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, Timeout: 10 * time.Second}
	resp, err := c.PostForm(urls["turbonomic"]+sim.Base+"/login", map[string][]string{"username": {sim.DefaultUser}, "password": {sim.DefaultPassword}})
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("turbonomic login: %v %v", err, resp)
	}
	resp.Body.Close()
	resp, err = c.Get(urls["turbonomic"] + sim.Base + "/search?types=VirtualMachine&limit=1")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if n := resp.Header.Get(sim.HeaderTotalRecord); n != "2500" {
		t.Errorf("--set turbonomic.entities=2500: x-total-record-count %q", n)
	}

	// HyperFlex: the third login within the window is refused.
	codes := []int{}
	for i := 0; i < 3; i++ {
		r, err := http.Post(urls["hyperflex"]+"/aaa/v1/auth?grant_type=password", "application/json",
			strings.NewReader(`{"username":"local/root","password":"x","client_id":"HxGuiClient","client_secret":"Sunnyvale","redirect_uri":"http://localhost:8080/aaa/redirect"}`))
		if err != nil {
			t.Fatal(err)
		}
		r.Body.Close()
		codes = append(codes, r.StatusCode)
	}
	if codes[2] != http.StatusTooManyRequests || codes[0] == http.StatusTooManyRequests {
		t.Errorf("--set hyperflex.login-rate=2: login statuses %v, want the third refused with 429", codes)
	}
}
