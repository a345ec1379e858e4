package sim

import (
	"net/http"
	"time"

	"github.com/tokenflow/tokenflow/sdk/simkit"
)

type createClientRequest struct {
	ClientID          string `json:"clientId"`
	ClientName        string `json:"clientName"`
	ClientDescription string `json:"clientDescription"`
}

// createClientResponse is the 201 answer: the client without its roles.
type createClientResponse struct {
	ClientID          string `json:"clientId"`
	ClientUUID        string `json:"clientUuid"`
	ClientName        string `json:"clientName"`
	ClientDescription string `json:"clientDescription"`
}

// createClient is POST .../ssorealms/{ssoRealmId}/api-clients.
func (s *Sim) createClient(w http.ResponseWriter, r *http.Request) {
	var req createClientRequest
	err := simkit.DecodeJSON(r, &req)
	s.inRealm(r, func(rs *realmState, _ time.Time) reply {
		switch {
		case err != nil:
			return fail(http.StatusBadRequest, err.Error())
		case req.ClientID == "":
			return fail(http.StatusBadRequest, "clientId is required")
		case req.ClientName == "":
			return fail(http.StatusBadRequest, "clientName is required")
		case rs.client(req.ClientID) != nil:
			return fail(http.StatusConflict, "API client "+req.ClientID+" already exists in SSO realm "+rs.Name)
		}
		c := &clientState{APIClient: APIClient{
			ClientID:          req.ClientID,
			ClientUUID:        simkit.RandomUUID(),
			ClientName:        req.ClientName,
			ClientDescription: req.ClientDescription,
		}}
		rs.clients = append(rs.clients, c)
		return respond(http.StatusCreated, createClientResponse{
			ClientID:          c.ClientID,
			ClientUUID:        c.ClientUUID,
			ClientName:        c.ClientName,
			ClientDescription: c.ClientDescription,
		})
	}).write(w)
}

type updateClientRequest struct {
	ClientUUID        string  `json:"clientUuid"`
	ClientName        *string `json:"clientName"`
	ClientDescription *string `json:"clientDescription"`
}

// updateClient is PATCH .../ssorealms/{ssoRealmId}/api-clients: 204.
func (s *Sim) updateClient(w http.ResponseWriter, r *http.Request) {
	var req updateClientRequest
	err := simkit.DecodeJSON(r, &req)
	s.inRealm(r, func(rs *realmState, _ time.Time) reply {
		switch {
		case err != nil:
			return fail(http.StatusBadRequest, err.Error())
		case req.ClientUUID == "":
			return fail(http.StatusBadRequest, "clientUuid is required")
		case req.ClientName != nil && *req.ClientName == "":
			return fail(http.StatusBadRequest, "clientName must not be empty")
		}
		c := rs.clientByUUID(req.ClientUUID)
		if c == nil {
			return fail(http.StatusNotFound, "API client "+req.ClientUUID+" not found")
		}
		if req.ClientName != nil {
			c.ClientName = *req.ClientName
		}
		if req.ClientDescription != nil {
			c.ClientDescription = *req.ClientDescription
		}
		return respond(http.StatusNoContent, nil)
	}).write(w)
}

// getClient is GET .../ssorealms/{ssoRealmId}/api-clients/{clientId}.
func (s *Sim) getClient(w http.ResponseWriter, r *http.Request) {
	s.inRealm(r, func(rs *realmState, _ time.Time) reply {
		c := rs.client(r.PathValue("clientId"))
		if c == nil {
			return fail(http.StatusNotFound, "API client "+r.PathValue("clientId")+" not found")
		}
		return respond(http.StatusOK, clientView(c))
	}).write(w)
}

// deleteClient is DELETE .../ssorealms/{ssoRealmId}/api-clients/{clientId}: it also deletes
// the client's tokens and role assignments.
func (s *Sim) deleteClient(w http.ResponseWriter, r *http.Request) {
	s.inRealm(r, func(rs *realmState, _ time.Time) reply {
		c := rs.client(r.PathValue("clientId"))
		if c == nil {
			return fail(http.StatusNotFound, "API client "+r.PathValue("clientId")+" not found")
		}
		s.st.deleteClient(rs, c)
		return respond(http.StatusNoContent, nil)
	}).write(w)
}

var clientQueryFields = map[string]bool{
	"CLIENT_NAME": true, "CLIENT_ID": true, "ROLES": true, "ROLE_NAME": true, "ROLE_DISPLAY_NAME": true,
}

type clientPage struct {
	PageInfo   PageInfo    `json:"pageInfo"`
	APIClients []APIClient `json:"apiClients"`
}

// queryClients is POST .../ssorealms/{ssoRealmId}/api-clients/query?page=&pageSize=.
func (s *Sim) queryClients(w http.ResponseWriter, r *http.Request) {
	page, size, perr := paging(r.URL.Query())
	q, qerr := decodeQuery(r, clientQueryFields)
	s.inRealm(r, func(rs *realmState, _ time.Time) reply {
		switch {
		case perr != nil:
			return fail(http.StatusBadRequest, perr.Error())
		case qerr != nil:
			return fail(http.StatusBadRequest, qerr.Error())
		}
		var hits []*clientState
		for _, c := range rs.clients {
			if q.matches(func(field string) []string { return clientField(c, field) }) {
				hits = append(hits, c)
			}
		}
		lo, hi := pageOf(len(hits), page, size)
		out := clientPage{
			PageInfo:   PageInfo{TotalCount: len(hits), Page: page, PageSize: size},
			APIClients: make([]APIClient, 0, hi-lo),
		}
		for _, c := range hits[lo:hi] {
			out.APIClients = append(out.APIClients, clientView(c))
		}
		return respond(http.StatusOK, out)
	}).write(w)
}

func clientField(c *clientState, field string) []string {
	switch field {
	case "CLIENT_NAME":
		return []string{c.ClientName}
	case "CLIENT_ID":
		return []string{c.ClientID}
	case "ROLES", "ROLE_NAME":
		return roleValues(c.Roles, func(ra RoleAssignment) string { return ra.RoleName })
	case "ROLE_DISPLAY_NAME":
		return roleValues(c.Roles, func(ra RoleAssignment) string { return ra.RoleDisplayName })
	}
	return nil
}

func roleValues(roles []RoleAssignment, f func(RoleAssignment) string) []string {
	out := make([]string, len(roles))
	for i, ra := range roles {
		out[i] = f(ra)
	}
	return out
}
