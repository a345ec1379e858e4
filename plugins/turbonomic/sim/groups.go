package sim

import (
	"encoding/json"
	"net/http"
	"strings"
	"time"

	"github.com/tokenflow/tokenflow/sdk/simkit"
)

// Group is a static group as tests inspect it.
type Group struct {
	UUID        string
	DisplayName string
	GroupType   string
	Members     []string
}

type groupState struct{ Group }

// groupView is a GroupApiDTO.
type groupView struct {
	UUID            string   `json:"uuid"`
	DisplayName     string   `json:"displayName"`
	ClassName       string   `json:"className"`
	GroupType       string   `json:"groupType"`
	IsStatic        bool     `json:"isStatic"`
	MemberUUIDList  []string `json:"memberUuidList"`
	MembersCount    int      `json:"membersCount"`
	EntitiesCount   int      `json:"entitiesCount"`
	EnvironmentType string   `json:"environmentType"`
}

func (g *groupState) view() groupView {
	return groupView{
		UUID: g.UUID, DisplayName: g.DisplayName, ClassName: "Group", GroupType: g.GroupType, IsStatic: true,
		MemberUUIDList: append([]string{}, g.Members...), MembersCount: len(g.Members), EntitiesCount: len(g.Members),
		EnvironmentType: "ONPREM",
	}
}

func (s *Sim) group(uuid string) *groupState {
	for _, g := range s.groups {
		if g.UUID == uuid {
			return g
		}
	}
	return nil
}

// members keeps the uuids of existing entities of the group's type, in order, once each:
// unknown ones are dropped silently, as XL does.
func (s *Sim) members(groupType string, uuids []string) []string {
	out := []string{}
	seen := map[string]bool{}
	for _, u := range uuids {
		e := s.entity(u)
		if e == nil || seen[u] || (groupType != "" && e.ClassName != groupType) {
			continue
		}
		seen[u] = true
		out = append(out, u)
	}
	return out
}

type groupRequest struct {
	DisplayName    string   `json:"displayName"`
	IsStatic       *bool    `json:"isStatic"`
	GroupType      string   `json:"groupType"`
	MemberUUIDList []string `json:"memberUuidList"`
}

func canEditGroups(u *userState) bool { return u.can("ADMINISTRATOR", "SITE_ADMIN", "AUTOMATOR") }

func (s *Sim) listGroups(w http.ResponseWriter, r *http.Request, _ *userState, _ time.Time) reply {
	out := make([]groupView, 0, len(s.groups))
	for _, g := range s.groups {
		out = append(out, g.view())
	}
	return paged(s, r, out)
}

func (s *Sim) getGroup(w http.ResponseWriter, r *http.Request, _ *userState, _ time.Time) reply {
	g := s.group(r.PathValue("uuid"))
	if g == nil {
		return notFound("Group", r.PathValue("uuid"))
	}
	return respond(http.StatusOK, g.view())
}

func (s *Sim) groupMembers(w http.ResponseWriter, r *http.Request, _ *userState, _ time.Time) reply {
	g := s.group(r.PathValue("uuid"))
	if g == nil {
		return notFound("Group", r.PathValue("uuid"))
	}
	out := []*Entity{}
	for _, m := range g.Members {
		if e := s.entity(m); e != nil {
			out = append(out, e)
		}
	}
	return paged(s, r, out)
}

// createGroup is POST /api/v3/groups with a GroupApiDTO.
func (s *Sim) createGroup(w http.ResponseWriter, r *http.Request, me *userState, _ time.Time) reply {
	if !canEditGroups(me) {
		return forbidden()
	}
	var req groupRequest
	if err := simkit.DecodeJSON(r, &req); err != nil {
		return badRequest(err.Error())
	}
	if strings.TrimSpace(req.DisplayName) == "" {
		return badRequest("Group displayName is empty.")
	}
	if req.GroupType == "" {
		return badRequest("Group groupType is empty.")
	}
	if req.IsStatic != nil && !*req.IsStatic {
		return badRequest("Dynamic groups are not supported by this simulator.")
	}
	g := &groupState{Group{UUID: s.newID(), DisplayName: req.DisplayName, GroupType: req.GroupType, Members: s.members(req.GroupType, req.MemberUUIDList)}}
	s.groups = append(s.groups, g)
	return respond(http.StatusOK, g.view())
}

// updateGroup is PUT /api/v3/groups/{uuid}: it replaces the name and the members.
func (s *Sim) updateGroup(w http.ResponseWriter, r *http.Request, me *userState, _ time.Time) reply {
	if !canEditGroups(me) {
		return forbidden()
	}
	g := s.group(r.PathValue("uuid"))
	if g == nil {
		return notFound("Group", r.PathValue("uuid"))
	}
	var req groupRequest
	if err := simkit.DecodeJSON(r, &req); err != nil {
		return badRequest(err.Error())
	}
	if req.DisplayName != "" {
		g.DisplayName = req.DisplayName
	}
	if req.GroupType != "" && req.GroupType != g.GroupType {
		return badRequest("The groupType of a group cannot change.")
	}
	g.Members = s.members(g.GroupType, req.MemberUUIDList)
	return respond(http.StatusOK, g.view())
}

func (s *Sim) deleteGroup(w http.ResponseWriter, r *http.Request, me *userState, _ time.Time) reply {
	if !canEditGroups(me) {
		return forbidden()
	}
	for i, g := range s.groups {
		if g.UUID == r.PathValue("uuid") {
			s.groups = append(s.groups[:i:i], s.groups[i+1:]...)
			return respond(http.StatusOK, json.RawMessage("true"))
		}
	}
	return notFound("Group", r.PathValue("uuid"))
}

// Groups returns the groups, in creation order.
func (s *Sim) Groups() []Group {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Group, 0, len(s.groups))
	for _, g := range s.groups {
		gg := g.Group
		gg.Members = append([]string(nil), g.Members...)
		out = append(out, gg)
	}
	return out
}

// AddGroup adds a static group (members of other types or unknown are dropped, as over the
// API) and returns its uuid.
func (s *Sim) AddGroup(g Group) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	gs := &groupState{Group{UUID: s.newID(), DisplayName: g.DisplayName, GroupType: g.GroupType, Members: s.members(g.GroupType, g.Members)}}
	s.groups = append(s.groups, gs)
	return gs.UUID
}
