package sim

import (
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/tokenflow/tokenflow/sdk/simkit"
)

// Role is one entry of the simulator's role catalogue (VcfRole on the wire: roleName,
// roleDisplayName). VCF has built-in and custom roles (VcfRole.type BUILT_IN or CUSTOM), so
// the catalogue is configurable; assigning a name outside it answers 400.
type Role struct {
	Name        string
	DisplayName string
	ReadOnly    bool // may only read, when its principal acts through an access token
}

// DefaultRoles is the catalogue unless Config.Roles says otherwise. vcf_administrator and
// vcf_viewer are the spec's examples; sddc_admin is what seed 004 assigns (scoped to a
// VCF_INSTANCE) and reads back; vcf_operator and vcf_auditor are earlier simulator choices,
// kept so existing flows still run.
var DefaultRoles = []Role{
	{Name: "vcf_administrator", DisplayName: "VCF Administrator"},
	{Name: "vcf_operator", DisplayName: "VCF Operator"},
	{Name: "vcf_viewer", DisplayName: "VCF Viewer", ReadOnly: true},
	{Name: "vcf_auditor", DisplayName: "VCF Auditor", ReadOnly: true},
	{Name: "sddc_admin", DisplayName: "SDDC Admin"},
}

var scopeTypes = map[string]bool{ScopeVCFInstance: true, ScopeSSORealm: true, ScopeUnknown: true}

type roleAssignments struct {
	VcfRoleAssignments []RoleAssignment `json:"vcfRoleAssignments"`
}

type putRolesRequest struct {
	VcfRoleAssignments *[]struct {
		RoleName  string     `json:"roleName"`
		RoleScope *RoleScope `json:"roleScope"`
		ExpiresAt int64      `json:"expiresAt"`
	} `json:"vcfRoleAssignments"`
}

// validate returns the assignments the request asks for, display names filled in.
func (req *putRolesRequest) validate(catalogue map[string]Role) ([]RoleAssignment, error) {
	if req.VcfRoleAssignments == nil {
		return nil, fmt.Errorf("vcfRoleAssignments is required")
	}
	out := make([]RoleAssignment, 0, len(*req.VcfRoleAssignments))
	for i, in := range *req.VcfRoleAssignments {
		at := fmt.Sprintf("vcfRoleAssignments[%d]", i)
		if in.RoleName == "" {
			return nil, fmt.Errorf("%s.roleName is required", at)
		}
		role, known := catalogue[in.RoleName]
		if !known {
			return nil, fmt.Errorf("%s.roleName: unknown role %q (known: %s)", at, in.RoleName, strings.Join(slices.Sorted(maps.Keys(catalogue)), ", "))
		}
		if in.RoleScope == nil {
			return nil, fmt.Errorf("%s.roleScope is required", at)
		}
		if !scopeTypes[in.RoleScope.ScopeType] {
			return nil, fmt.Errorf("%s.roleScope.scopeType must be VCF_INSTANCE, SSO_REALM or UNKNOWN, got %q", at, in.RoleScope.ScopeType)
		}
		for j, res := range in.RoleScope.Resources {
			if res.ID == "" {
				return nil, fmt.Errorf("%s.roleScope.resources[%d].id is required", at, j)
			}
		}
		scope := *in.RoleScope
		scope.Resources = append([]ScopeResource(nil), scope.Resources...)
		out = append(out, RoleAssignment{
			RoleName:        in.RoleName,
			RoleDisplayName: role.DisplayName,
			RoleScope:       scope,
			ExpiresAt:       in.ExpiresAt,
		})
	}
	return out, nil
}

// principal runs fn with the path's realm and principal (an API client by clientUuid).
func (s *Sim) principal(r *http.Request, fn func(c *clientState) reply) reply {
	return s.inRealm(r, func(rs *realmState, _ time.Time) reply {
		c := rs.clientByUUID(r.PathValue("principalId"))
		if c == nil {
			return fail(http.StatusNotFound, "principal "+r.PathValue("principalId")+" not found in SSO realm "+rs.Name)
		}
		return fn(c)
	})
}

// getRoles is GET .../ssorealms/{ssoRealmId}/principals/{principalId}/roles.
func (s *Sim) getRoles(w http.ResponseWriter, r *http.Request) {
	s.principal(r, func(c *clientState) reply {
		return respond(http.StatusOK, roleAssignments{VcfRoleAssignments: cloneRoles(c.Roles)})
	}).write(w)
}

// putRoles is PUT .../principals/{principalId}/roles: it replaces every assignment; 200, no body.
func (s *Sim) putRoles(w http.ResponseWriter, r *http.Request) {
	var req putRolesRequest
	err := simkit.DecodeJSON(r, &req)
	s.principal(r, func(c *clientState) reply {
		if err != nil {
			return fail(http.StatusBadRequest, err.Error())
		}
		roles, err := req.validate(s.roles)
		if err != nil {
			return fail(http.StatusBadRequest, err.Error())
		}
		c.Roles = roles
		return respond(http.StatusOK, nil)
	}).write(w)
}

// deleteRoles is DELETE .../principals/{principalId}/roles: it removes every assignment; 204.
func (s *Sim) deleteRoles(w http.ResponseWriter, r *http.Request) {
	s.principal(r, func(c *clientState) reply {
		c.Roles = nil
		return respond(http.StatusNoContent, nil)
	}).write(w)
}
