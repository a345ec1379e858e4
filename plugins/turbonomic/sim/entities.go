package sim

import (
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"time"

	"github.com/tokenflow/tokenflow/sdk/simkit"
)

// Entity is a ServiceEntityApiDTO, trimmed to what clients read.
type Entity struct {
	UUID            string        `json:"uuid"`
	DisplayName     string        `json:"displayName"`
	ClassName       string        `json:"className"`
	EnvironmentType string        `json:"environmentType"`
	State           string        `json:"state"`
	Severity        string        `json:"severity"`
	DiscoveredBy    *DiscoveredBy `json:"discoveredBy,omitempty"`
}

// DiscoveredBy names the target that discovered an entity.
type DiscoveredBy struct {
	UUID        string `json:"uuid"`
	DisplayName string `json:"displayName"`
	Type        string `json:"type"`
}

// Target is a TargetApiDTO.
type Target struct {
	UUID          string       `json:"uuid"`
	DisplayName   string       `json:"displayName"`
	Category      string       `json:"category"`
	Type          string       `json:"type"`
	Status        string       `json:"status"`
	LastValidated string       `json:"lastValidated,omitempty"`
	InputFields   []InputField `json:"inputFields"`
}

// InputField is one account value of a target. A secret one is answered without its value.
type InputField struct {
	Name        string `json:"name"`
	DisplayName string `json:"displayName,omitempty"`
	Value       string `json:"value,omitempty"`
	IsSecret    bool   `json:"isSecret,omitempty"`
	ValueType   string `json:"valueType,omitempty"`
}

// DefaultTargets is the one vCenter target a new simulator has.
var DefaultTargets = []Target{{
	UUID:          "284552108476721",
	DisplayName:   "vcenter.sim.local",
	Category:      "Hypervisor",
	Type:          "vCenter",
	Status:        "Validated",
	LastValidated: "2026-06-01T08:00:00Z",
	InputFields: []InputField{
		{Name: "address", DisplayName: "Address", Value: "vcenter.sim.local", ValueType: "STRING"},
		{Name: "username", DisplayName: "Username", Value: "svc-turbonomic@vsphere.local", ValueType: "STRING"},
		{Name: "password", DisplayName: "Password", Value: "vc-Target-Secret-9", IsSecret: true, ValueType: "STRING"},
	},
}}

// namePrefix is how generated entities are named per class.
var namePrefix = map[string]string{
	"VirtualMachine": "vm", "PhysicalMachine": "host", "Storage": "datastore", "DataCenter": "dc",
	"Application": "app", "Database": "db", "Switch": "switch", "DiskArray": "array",
}

// addEntities adds n entities of a class and returns their uuids. Callers hold s.mu or run
// inside New.
func (s *Sim) addEntities(class string, n int) []string {
	prefix := namePrefix[class]
	if prefix == "" {
		prefix = strings.ToLower(class)
	}
	var by *DiscoveredBy
	if len(s.targets) > 0 {
		t := s.targets[0]
		by = &DiscoveredBy{UUID: t.UUID, DisplayName: t.DisplayName, Type: t.Type}
	}
	existing := 0
	for _, e := range s.entities {
		if e.ClassName == class {
			existing++
		}
	}
	states := []string{"ACTIVE", "ACTIVE", "ACTIVE", "ACTIVE", "ACTIVE", "ACTIVE", "ACTIVE", "IDLE", "ACTIVE", "SUSPEND"}
	severities := []string{"Normal", "Normal", "Minor", "Normal", "Major", "Normal", "Critical", "Normal"}
	uuids := make([]string, 0, n)
	for i := 0; i < n; i++ {
		k := existing + i
		e := &Entity{
			UUID:            s.newID(),
			DisplayName:     fmt.Sprintf("%s-%04d", prefix, k+1),
			ClassName:       class,
			EnvironmentType: "ONPREM",
			State:           states[k%len(states)],
			Severity:        severities[k%len(severities)],
			DiscoveredBy:    by,
		}
		s.entities = append(s.entities, e)
		uuids = append(uuids, e.UUID)
	}
	return uuids
}

// AddEntities adds n entities of className (named like "vm-0042") and returns their uuids.
func (s *Sim) AddEntities(className string, n int) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.addEntities(className, n)
}

// Entities returns the entities of a class ("" = all), in creation order.
func (s *Sim) Entities(className string) []Entity {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Entity
	for _, e := range s.entities {
		if className == "" || e.ClassName == className {
			out = append(out, *e)
		}
	}
	return out
}

func (s *Sim) entity(uuid string) *Entity {
	for _, e := range s.entities {
		if e.UUID == uuid {
			return e
		}
	}
	return nil
}

type market struct {
	UUID            string `json:"uuid"`
	DisplayName     string `json:"displayName"`
	ClassName       string `json:"className"`
	State           string `json:"state"`
	EnvironmentType string `json:"environmentType"`
	StateProgress   int    `json:"stateProgress"`
}

var realtimeMarket = market{
	UUID: RealtimeMarketUUID, DisplayName: "Market", ClassName: "Market", State: "SUCCEEDED",
	EnvironmentType: "HYBRID", StateProgress: 100,
}

func (s *Sim) listMarkets(w http.ResponseWriter, r *http.Request, _ *userState, _ time.Time) reply {
	return respond(http.StatusOK, []market{realtimeMarket})
}

func isRealtime(uuid string) bool { return uuid == "Market" || uuid == RealtimeMarketUUID }

func (s *Sim) getMarket(w http.ResponseWriter, r *http.Request, _ *userState, _ time.Time) reply {
	if !isRealtime(r.PathValue("uuid")) {
		return notFound("Market", r.PathValue("uuid"))
	}
	return respond(http.StatusOK, realtimeMarket)
}

func (s *Sim) marketEntities(w http.ResponseWriter, r *http.Request, _ *userState, _ time.Time) reply {
	if !isRealtime(r.PathValue("uuid")) {
		return notFound("Market", r.PathValue("uuid"))
	}
	return paged(s, r, s.entities)
}

func (s *Sim) getEntity(w http.ResponseWriter, r *http.Request, _ *userState, _ time.Time) reply {
	e := s.entity(r.PathValue("uuid"))
	if e == nil {
		return notFound("Entity", r.PathValue("uuid"))
	}
	return respond(http.StatusOK, e)
}

// nameMatcher builds the displayName test of a search: EXACT, REGEX or CONTAINS.
func nameMatcher(q, queryType string, caseSensitive bool) (func(string) bool, error) {
	if q == "" {
		return func(string) bool { return true }, nil
	}
	switch strings.ToUpper(queryType) {
	case "EXACT":
		if caseSensitive {
			return func(n string) bool { return n == q }, nil
		}
		return func(n string) bool { return strings.EqualFold(n, q) }, nil
	case "REGEX":
		expr := "^(?:" + q + ")$"
		if !caseSensitive {
			expr = "(?i)" + expr
		}
		re, err := regexp.Compile(expr)
		if err != nil {
			return nil, err
		}
		return re.MatchString, nil
	case "", "CONTAINS":
		lq := strings.ToLower(q)
		if caseSensitive {
			return func(n string) bool { return strings.Contains(n, q) }, nil
		}
		return func(n string) bool { return strings.Contains(strings.ToLower(n), lq) }, nil
	}
	return nil, fmt.Errorf("invalid query_type %s", queryType)
}

// searchQuery is GET /api/v3/search?types=...&q=...: entities of the types (or groups, for
// Group), paged.
func (s *Sim) searchQuery(w http.ResponseWriter, r *http.Request, _ *userState, _ time.Time) reply {
	q := r.URL.Query()
	types := splitList(q.Get("types"))
	groupType := q.Get("group_type")
	if len(types) == 0 && groupType == "" {
		return badRequest("Search needs types or group_type")
	}
	match, err := nameMatcher(q.Get("q"), q.Get("query_type"), false)
	if err != nil {
		return badRequest(err.Error())
	}
	want := map[string]bool{}
	for _, t := range types {
		want[t] = true
	}
	var out []any
	if want["Group"] || groupType != "" {
		for _, g := range s.groups {
			if (groupType == "" || g.GroupType == groupType) && match(g.DisplayName) {
				out = append(out, g.view())
			}
		}
	}
	for _, e := range s.entities {
		if want[e.ClassName] && match(e.DisplayName) {
			out = append(out, e)
		}
	}
	if out == nil {
		out = []any{}
	}
	return paged(s, r, out)
}

type criterion struct {
	ExpType       string `json:"expType"`
	ExpVal        string `json:"expVal"`
	CaseSensitive bool   `json:"caseSensitive"`
	FilterType    string `json:"filterType"`
}

type searchDTO struct {
	ClassName    string      `json:"className"`
	CriteriaList []criterion `json:"criteriaList"`
}

// searchCriteria is POST /api/v3/search with a {className, criteriaList} DTO, the form
// vmt-connect's search_by_name sends (filterType "<prefix>ByName", expType EQ).
func (s *Sim) searchCriteria(w http.ResponseWriter, r *http.Request, _ *userState, _ time.Time) reply {
	var dto searchDTO
	if err := simkit.DecodeJSON(r, &dto); err != nil {
		return badRequest(err.Error())
	}
	if dto.ClassName == "" {
		return badRequest("Search DTO needs a className")
	}
	type test func(string) bool
	var tests []test
	for _, c := range dto.CriteriaList {
		if !strings.HasSuffix(c.FilterType, "ByName") {
			return badRequest("Unsupported filterType " + c.FilterType)
		}
		var m func(string) bool
		var err error
		switch strings.ToUpper(c.ExpType) {
		case "EQ":
			m, err = nameMatcher(c.ExpVal, "EXACT", c.CaseSensitive)
		case "NEQ":
			var eq func(string) bool
			eq, err = nameMatcher(c.ExpVal, "EXACT", c.CaseSensitive)
			m = func(n string) bool { return !eq(n) }
		case "RXEQ":
			m, err = nameMatcher(c.ExpVal, "REGEX", c.CaseSensitive)
		default:
			return badRequest("Unsupported expType " + c.ExpType)
		}
		if err != nil {
			return badRequest(err.Error())
		}
		tests = append(tests, m)
	}
	out := []*Entity{}
	for _, e := range s.entities {
		if e.ClassName != dto.ClassName {
			continue
		}
		ok := true
		for _, t := range tests {
			ok = ok && t(e.DisplayName)
		}
		if ok {
			out = append(out, e)
		}
	}
	return paged(s, r, out)
}

func (t Target) view() Target {
	t.InputFields = append([]InputField(nil), t.InputFields...)
	for i := range t.InputFields {
		if t.InputFields[i].IsSecret {
			t.InputFields[i].Value = ""
		}
	}
	return t
}

func (s *Sim) listTargets(w http.ResponseWriter, r *http.Request, _ *userState, _ time.Time) reply {
	out := make([]Target, 0, len(s.targets))
	for _, t := range s.targets {
		out = append(out, t.view())
	}
	return respond(http.StatusOK, out)
}

func (s *Sim) getTarget(w http.ResponseWriter, r *http.Request, _ *userState, _ time.Time) reply {
	for _, t := range s.targets {
		if t.UUID == r.PathValue("uuid") {
			return respond(http.StatusOK, t.view())
		}
	}
	return notFound("Target", r.PathValue("uuid"))
}
