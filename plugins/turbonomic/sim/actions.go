package sim

import (
	"fmt"
	"net/http"
	"time"
)

// Actions: the paths vmt-connect reads them from (get_actions: markets/{market}/actions and
// actions/{uuid}; get_entity_actions: entities/{uuid}/actions; get_group_actions:
// groups/{uuid}/actions; get_target_actions: targets/{uuid}/actions), all GET and paged like
// every list. vmt-connect documents the paths, not the DTO: the fields below follow XL's
// ActionApiDTO as IBM's API reference shows it (uuid, actionType, actionState, actionMode,
// details, importance, target, currentEntity/newEntity, risk) and are unverified against an
// appliance.
//
// The simulator's actions are derived from its entities, so they are deterministic and grow
// with AddEntities: every third VirtualMachine has a RESIZE (vCPU or memory), every fourth
// PhysicalMachine a SUSPEND (or PROVISION when it is Critical), every fifth Storage a MOVE.

// Action is an ActionApiDTO, trimmed to what clients read.
type Action struct {
	UUID          string     `json:"uuid"`
	ActionID      int64      `json:"actionID"`
	CreateTime    string     `json:"createTime"`
	ActionType    string     `json:"actionType"`
	ActionState   string     `json:"actionState"`
	ActionMode    string     `json:"actionMode"`
	Details       string     `json:"details"`
	Importance    float64    `json:"importance"`
	Target        ActionRef  `json:"target"`
	CurrentEntity *ActionRef `json:"currentEntity,omitempty"`
	NewEntity     *ActionRef `json:"newEntity,omitempty"`
	CurrentValue  string     `json:"currentValue,omitempty"`
	NewValue      string     `json:"newValue,omitempty"`
	ValueUnits    string     `json:"valueUnits,omitempty"`
	Risk          ActionRisk `json:"risk"`
	MarketID      string     `json:"marketID"`
	Source        string     `json:"source"`
}

// ActionRef names the entity an action is about.
type ActionRef struct {
	UUID            string `json:"uuid"`
	DisplayName     string `json:"displayName"`
	ClassName       string `json:"className"`
	EnvironmentType string `json:"environmentType,omitempty"`
}

// ActionRisk says why the action is recommended.
type ActionRisk struct {
	SubCategory string  `json:"subCategory"`
	Description string  `json:"description"`
	Severity    string  `json:"severity"`
	Importance  float64 `json:"importance"`
}

func ref(e *Entity) ActionRef {
	return ActionRef{UUID: e.UUID, DisplayName: e.DisplayName, ClassName: e.ClassName, EnvironmentType: e.EnvironmentType}
}

// actionFor returns the action the simulator recommends for e (k: e's index within its
// class), or nil.
func (s *Sim) actionFor(e *Entity, k int, created time.Time) *Action {
	a := &Action{
		UUID: "6" + e.UUID, ActionState: "READY", ActionMode: "RECOMMEND", Target: ref(e),
		MarketID: RealtimeMarketUUID, Source: "MARKET", CreateTime: created.UTC().Format(time.RFC3339),
	}
	a.ActionID, _ = parseID(a.UUID)
	switch {
	case e.ClassName == "VirtualMachine" && k%3 == 0:
		a.ActionType = "RESIZE"
		if k%2 == 0 {
			a.Details = fmt.Sprintf("Resize up VCPU for Virtual Machine %s from 2 to 4", e.DisplayName)
			a.CurrentValue, a.NewValue, a.ValueUnits = "2", "4", "vCPU"
			a.Risk = ActionRisk{"Performance Assurance", "VCPU Congestion", "CRITICAL", 0}
		} else {
			a.Details = fmt.Sprintf("Resize down VMem for Virtual Machine %s from 16 GB to 8 GB", e.DisplayName)
			a.CurrentValue, a.NewValue, a.ValueUnits = "16777216.0", "8388608.0", "KB"
			a.Risk = ActionRisk{"Efficiency Improvement", "Underutilized VMem", "MINOR", 0}
		}
	case e.ClassName == "PhysicalMachine" && k%4 == 0:
		if e.Severity == "Critical" {
			a.ActionType = "PROVISION"
			a.Details = fmt.Sprintf("Provision Host similar to %s", e.DisplayName)
			a.Risk = ActionRisk{"Performance Assurance", "Mem Congestion", "CRITICAL", 0}
		} else {
			a.ActionType = "SUSPEND"
			a.Details = fmt.Sprintf("Suspend Host %s", e.DisplayName)
			a.Risk = ActionRisk{"Efficiency Improvement", "Improve infrastructure efficiency", "MINOR", 0}
		}
	case e.ClassName == "Storage" && k%5 == 0:
		a.ActionType = "MOVE"
		a.Details = fmt.Sprintf("Move Virtual Machine disks off Storage %s", e.DisplayName)
		cur := ref(e)
		a.CurrentEntity = &cur
		a.Risk = ActionRisk{"Performance Assurance", "Storage Amount Congestion", "MAJOR", 0}
	default:
		return nil
	}
	a.Importance = map[string]float64{"CRITICAL": 900, "MAJOR": 500, "MINOR": 100}[a.Risk.Severity] - float64(k%100)
	a.Risk.Importance = a.Importance
	return a
}

func parseID(s string) (int64, error) {
	var n int64
	_, err := fmt.Sscan(s, &n)
	return n, err
}

// actions returns the actions of the entities keep accepts, in entity order. Callers hold s.mu.
func (s *Sim) actions(keep func(*Entity) bool) []*Action {
	index := map[string]int{}
	out := []*Action{}
	created := s.clock.Now().Truncate(time.Hour)
	for _, e := range s.entities {
		k := index[e.ClassName]
		index[e.ClassName]++
		if keep != nil && !keep(e) {
			continue
		}
		if a := s.actionFor(e, k, created); a != nil {
			out = append(out, a)
		}
	}
	return out
}

// Actions returns every action of the real-time market.
func (s *Sim) Actions() []Action {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Action
	for _, a := range s.actions(nil) {
		out = append(out, *a)
	}
	return out
}

func (s *Sim) marketActions(w http.ResponseWriter, r *http.Request, _ *userState, _ time.Time) reply {
	if !isRealtime(r.PathValue("uuid")) {
		return notFound("Market", r.PathValue("uuid"))
	}
	return paged(s, r, s.actions(nil))
}

func (s *Sim) getAction(w http.ResponseWriter, r *http.Request, _ *userState, _ time.Time) reply {
	uuid := r.PathValue("uuid")
	for _, a := range s.actions(nil) {
		if a.UUID == uuid {
			return respond(http.StatusOK, a)
		}
	}
	return notFound("Action", uuid)
}

func (s *Sim) entityActions(w http.ResponseWriter, r *http.Request, _ *userState, _ time.Time) reply {
	uuid := r.PathValue("uuid")
	if s.entity(uuid) == nil {
		return notFound("Entity", uuid)
	}
	return paged(s, r, s.actions(func(e *Entity) bool { return e.UUID == uuid }))
}

func (s *Sim) groupActions(w http.ResponseWriter, r *http.Request, _ *userState, _ time.Time) reply {
	g := s.group(r.PathValue("uuid"))
	if g == nil {
		return notFound("Group", r.PathValue("uuid"))
	}
	in := map[string]bool{}
	for _, m := range g.Members {
		in[m] = true
	}
	return paged(s, r, s.actions(func(e *Entity) bool { return in[e.UUID] }))
}

func (s *Sim) targetActions(w http.ResponseWriter, r *http.Request, _ *userState, _ time.Time) reply {
	uuid := r.PathValue("uuid")
	found := false
	for _, t := range s.targets {
		found = found || t.UUID == uuid
	}
	if !found {
		return notFound("Target", uuid)
	}
	return paged(s, r, s.actions(func(e *Entity) bool { return e.DiscoveredBy != nil && e.DiscoveredBy.UUID == uuid }))
}

// groupEntity is a member as groups/{uuid}/entities lists it: the entity and, per
// vmt-connect's get_group_entities ("members of the group and their related consumers"),
// its consumers. The simulator keeps no supply chain, so consumers is empty.
type groupEntity struct {
	*Entity
	Consumers []ActionRef `json:"consumers"`
}

func (s *Sim) groupEntities(w http.ResponseWriter, r *http.Request, _ *userState, _ time.Time) reply {
	g := s.group(r.PathValue("uuid"))
	if g == nil {
		return notFound("Group", r.PathValue("uuid"))
	}
	out := []groupEntity{}
	for _, m := range g.Members {
		if e := s.entity(m); e != nil {
			out = append(out, groupEntity{Entity: e, Consumers: []ActionRef{}})
		}
	}
	return paged(s, r, out)
}
