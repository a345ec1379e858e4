package sim

import (
	"net/http"
	"strconv"
	"strings"
	"testing"
)

// The paths vmt-connect's get_actions, get_entity_actions, get_group_actions,
// get_target_actions and get_group_entities call, paged like every list.
func TestActionsAndGroupEntities(t *testing.T) {
	c := start(t, Config{Inventory: map[string]int{"VirtualMachine": 300, "PhysicalMachine": 8, "Storage": 10}, PageSize: 50})
	resp, data := c.do(http.MethodGet, "markets/Market/actions", nil, "")
	wantError(t, resp, data, 401, "")
	c.multipartLogin(DefaultUser, DefaultPassword)

	all := c.s.Actions()
	// 100 of 300 VMs resize, 2 of 8 hosts, 2 of 10 datastores.
	if len(all) != 104 {
		t.Fatalf("%d actions, want 104", len(all))
	}
	var got []Action
	for cursor := ""; ; {
		var page []Action
		resp := c.get("markets/Market/actions?disable_hateoas=true"+cursor, &page)
		got = append(got, page...)
		if resp.Header.Get(HeaderTotalRecord) != "104" {
			t.Fatalf("total = %q", resp.Header.Get(HeaderTotalRecord))
		}
		next := resp.Header.Get(HeaderNextCursor)
		if next == "" {
			break
		}
		cursor = "&cursor=" + next
	}
	if len(got) != 104 || got[0].UUID != all[0].UUID || got[103].UUID != all[103].UUID {
		t.Fatalf("paged %d actions", len(got))
	}
	types := map[string]int{}
	for _, a := range got {
		types[a.ActionType]++
		if a.ActionState != "READY" || a.ActionMode != "RECOMMEND" || a.Target.UUID == "" || a.Details == "" || a.Risk.Severity == "" {
			t.Fatalf("action = %+v", a)
		}
	}
	if types["RESIZE"] != 100 || types["MOVE"] != 2 || types["SUSPEND"]+types["PROVISION"] != 2 {
		t.Errorf("action types = %v", types)
	}
	var one Action
	c.get("actions/"+all[5].UUID, &one)
	if one.UUID != all[5].UUID || one.Target.UUID != all[5].Target.UUID {
		t.Errorf("actions/{uuid} = %+v", one)
	}
	c.get("markets/"+RealtimeMarketUUID+"/actions?limit=3", &got)
	if len(got) != 3 {
		t.Errorf("limit=3 gave %d", len(got))
	}

	vms := c.s.Entities("VirtualMachine")
	c.get("entities/"+vms[0].UUID+"/actions", &got)
	if len(got) != 1 || got[0].Target.UUID != vms[0].UUID || !strings.Contains(got[0].Details, vms[0].DisplayName) {
		t.Errorf("entity actions = %+v", got)
	}
	c.get("entities/"+vms[1].UUID+"/actions", &got)
	if len(got) != 0 {
		t.Errorf("vm-0002 has actions: %+v", got)
	}

	members := []string{}
	for i := 0; i < 12; i++ {
		members = append(members, `"`+vms[i].UUID+`"`)
	}
	resp, data = c.do(http.MethodPost, "groups", strings.NewReader(`{"displayName":"batch","isStatic":true,"groupType":"VirtualMachine","memberUuidList":[`+strings.Join(members, ",")+`]}`), "application/json")
	if resp.StatusCode != 200 {
		t.Fatalf("group: %s", data)
	}
	g := c.s.Groups()[0]
	c.get("groups/"+g.UUID+"/actions", &got)
	if len(got) != 4 { // vm-0001, 0004, 0007, 0010
		t.Errorf("group actions = %d", len(got))
	}
	var ents []map[string]any
	resp = c.get("groups/"+g.UUID+"/entities?limit=5", &ents)
	if len(ents) != 5 || ents[0]["uuid"] != vms[0].UUID || ents[0]["consumers"] == nil || resp.Header.Get(HeaderNextCursor) != "5" ||
		resp.Header.Get(HeaderTotalRecord) != strconv.Itoa(12) {
		t.Errorf("group entities = %v, headers %v", ents, resp.Header)
	}
	c.get("targets/"+DefaultTargets[0].UUID+"/actions?limit=500", &got)
	if len(got) != 104 {
		t.Errorf("target actions = %d", len(got))
	}

	for _, p := range []string{"markets/nope/actions", "entities/1/actions", "groups/1/actions", "groups/1/entities", "targets/1/actions", "actions/1"} {
		resp, data := c.do(http.MethodGet, p, nil, "")
		wantError(t, resp, data, 404, "not found")
	}
	if c.s.Recorder().Writes() != 1 { // the group
		t.Errorf("reads counted as writes: %d", c.s.Recorder().Writes())
	}
}
