package ops_test

import (
	"net/http"
	"net/url"
	"testing"

	"github.com/tokenflow/tokenflow/plugins/turbonomic/sim"
	"github.com/tokenflow/tokenflow/sdk"
)

func TestActionOps(t *testing.T) {
	// 2,500 VMs: the market's actions (834 + hosts + datastores) take several pages.
	f := newFixture(t, sim.Config{Inventory: map[string]int{"VirtualMachine": 2500, "PhysicalMachine": 8, "Storage": 10}})
	want := f.sim.Actions()
	out := f.call("get_actions", nil)
	acts := list(out["actions"])
	if len(acts) != len(want) || num(out["total"]) != int64(len(want)) || num(out["pages"]) < 2 {
		t.Fatalf("get_actions: %d actions (want %d), total %v, pages %v", len(acts), len(want), out["total"], out["pages"])
	}
	first := acts[0].(map[string]any)
	if first["uuid"] != want[0].UUID || first["action_type"] != want[0].ActionType || first["action_state"] != "READY" ||
		first["target"].(map[string]any)["uuid"] != want[0].Target.UUID || first["risk"].(map[string]any)["severity"] == nil {
		t.Fatalf("first action = %v", first)
	}
	// Every request of the listing carried disable_hateoas, as vmt-connect's do.
	for _, en := range f.sim.Recorder().Entries() {
		if q, _ := url.ParseQuery(en.RawQuery); en.Path == sim.Base+"/markets/Market/actions" && q.Get("disable_hateoas") != "true" {
			t.Errorf("request without disable_hateoas: %s?%s", en.Path, en.RawQuery)
		}
	}

	one := f.call("get_actions", map[string]any{"uuid": want[3].UUID})
	if a := list(one["actions"]); len(a) != 1 || a[0].(map[string]any)["uuid"] != want[3].UUID {
		t.Errorf("get_actions(uuid) = %v", one)
	}
	page := f.call("get_actions", map[string]any{"fetch_all": false, "limit": 10})
	if len(list(page["actions"])) != 10 || page["next_cursor"] != "10" {
		t.Errorf("one page = %d, next %v", len(list(page["actions"])), page["next_cursor"])
	}

	vm := want[0].Target.UUID
	ea := f.call("get_entity_actions", map[string]any{"uuid": vm})
	if a := list(ea["actions"]); len(a) != 1 || a[0].(map[string]any)["uuid"] != want[0].UUID {
		t.Errorf("get_entity_actions = %v", ea)
	}
	ta := f.call("get_target_actions", map[string]any{"uuid": sim.DefaultTargets[0].UUID})
	if len(list(ta["actions"])) != len(want) {
		t.Errorf("get_target_actions: %d", len(list(ta["actions"])))
	}

	vms := f.sim.Entities("VirtualMachine")
	members := []any{}
	for _, e := range vms[:7] {
		members = append(members, e.UUID)
	}
	g := f.call("add_static_group", map[string]any{"name": "pilot", "group_type": "VirtualMachine", "members": members})
	ga := f.call("get_group_actions", map[string]any{"uuid": g["uuid"]})
	if len(list(ga["actions"])) != 3 { // vm-0001, 0004, 0007
		t.Errorf("get_group_actions = %v", ga)
	}
	ge := f.call("get_group_entities", map[string]any{"uuid": g["uuid"]})
	ents := list(ge["entities"])
	if len(ents) != 7 || ents[0].(map[string]any)["display_name"] != "vm-0001" || ents[0].(map[string]any)["consumers"] == nil {
		t.Errorf("get_group_entities = %v", ge)
	}

	f.fail("get_group_entities", map[string]any{"uuid": "999"}, sdk.CodeNotFound, "Group 999 not found")
	f.fail("get_entity_actions", map[string]any{"uuid": "a/../b"}, sdk.CodeInvalidArgument)
	f.fail("get_actions", map[string]any{"market": "nope"}, sdk.CodeNotFound)
	if n := f.sim.Recorder().Count(http.MethodPost, sim.Base+"/groups"); n != 1 {
		t.Errorf("%d group writes", n)
	}
}
