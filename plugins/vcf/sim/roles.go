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

type roleInfo struct {
	displayName string
	readOnly    bool // may only read, when acting through an access token
}

// knownRoles are the VCF roles a principal can be given.
var knownRoles = map[string]roleInfo{
	"vcf_administrator": {displayName: "VCF Administrator"},
	"vcf_operator":      {displayName: "VCF Operator"},
	"vcf_viewer":        {displayName: "VCF Viewer", readOnly: true},
	"vcf_auditor":       {displayName: "VCF Auditor", readOnly: true},
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
func (req *putRolesRequest) validate() ([]RoleAssignment, error) {
	if req.VcfRoleAssignments == nil {
		return nil, fmt.Errorf("vcfRoleAssignments is required")
	}
	out := make([]RoleAssignment, 0, len(*req.VcfRoleAssignments))
	for i, in := range *req.VcfRoleAssignments {
		at := fmt.Sprintf("vcfRoleAssignments[%d]", i)
		if in.RoleName == "" {
			return nil, fmt.Errorf("%s.roleName is required", at)
		}
		role, known := knownRoles[in.RoleName]
		if !known {
			return nil, fmt.Errorf("%s.roleName: unknown role %q (known: %s)", at, in.RoleName, strings.Join(knownRoleNames(), ", "))
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
			RoleDisplayName: role.displayName,
			RoleScope:       scope,
			ExpiresAt:       in.ExpiresAt,
		})
	}
	return out, nil
}

func knownRoleNames() []string {
	return slices.Sorted(maps.Keys(knownRoles))
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
		roles, err := req.validate()
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
