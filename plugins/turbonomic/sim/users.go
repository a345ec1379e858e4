package sim

import (
	"crypto/subtle"
	"encoding/json"
	"net/http"
	"strings"
	"time"

	"github.com/tokenflow/tokenflow/sdk/simkit"
)

// Roles are the predefined Turbonomic roles the simulator accepts.
var Roles = []string{
	"ADMINISTRATOR", "SITE_ADMIN", "AUTOMATOR", "DEPLOYER", "ADVISOR", "OBSERVER",
	"OPERATIONAL_OBSERVER", "SHARED_ADVISOR", "SHARED_OBSERVER", "REPORT_EDITOR",
}

// User is a Turbonomic user as tests configure and inspect it. Password is only used to
// configure; inspection never returns it.
type User struct {
	UUID          string
	Username      string
	Password      string
	RoleName      string // one of Roles
	Type          string // "DedicatedCustomer" when empty
	LoginProvider string // "Local" when empty
}

type userState struct {
	User
	password string
}

// role is a RoleApiDTO.
type role struct {
	Name string `json:"name"`
}

// userView is a UserApiDTO as the API answers it (never with the password).
type userView struct {
	UUID          string `json:"uuid"`
	Username      string `json:"username"`
	DisplayName   string `json:"displayName"`
	RoleName      string `json:"roleName"`
	Roles         []role `json:"roles"`
	LoginProvider string `json:"loginProvider"`
	Type          string `json:"type"`
	ShowSharedSC  bool   `json:"showSharedUserSC"`
}

func (s *Sim) newUser(u User) *userState {
	if u.UUID == "" {
		u.UUID = s.newID()
	}
	if u.Type == "" {
		u.Type = "DedicatedCustomer"
	}
	if u.LoginProvider == "" {
		u.LoginProvider = "Local"
	}
	u.RoleName = strings.ToUpper(u.RoleName)
	st := &userState{User: u, password: u.Password}
	st.Password = ""
	return st
}

func (u *userState) view() userView {
	return userView{
		UUID: u.UUID, Username: u.Username, DisplayName: u.Username, RoleName: u.RoleName,
		Roles: []role{{Name: u.RoleName}}, LoginProvider: u.LoginProvider, Type: u.Type,
	}
}

func (u *userState) can(roles ...string) bool {
	for _, r := range roles {
		if u.RoleName == r {
			return true
		}
	}
	return false
}

func (s *Sim) userByName(name string) *userState {
	for _, u := range s.users {
		if u.Username == name {
			return u
		}
	}
	return nil
}

func (s *Sim) userByUUID(uuid string) *userState {
	for _, u := range s.users {
		if u.UUID == uuid {
			return u
		}
	}
	return nil
}

func (s *Sim) listUsers(w http.ResponseWriter, r *http.Request, _ *userState, _ time.Time) reply {
	out := make([]userView, 0, len(s.users))
	for _, u := range s.users {
		out = append(out, u.view())
	}
	return respond(http.StatusOK, out)
}

func (s *Sim) me(w http.ResponseWriter, r *http.Request, u *userState, _ time.Time) reply {
	return respond(http.StatusOK, u.view())
}

func (s *Sim) getUser(w http.ResponseWriter, r *http.Request, _ *userState, _ time.Time) reply {
	u := s.userByUUID(r.PathValue("uuid"))
	if u == nil {
		return notFound("User", r.PathValue("uuid"))
	}
	return respond(http.StatusOK, u.view())
}

type createUserRequest struct {
	Username      string `json:"username"`
	Password      string `json:"password"`
	RoleName      string `json:"roleName"`
	Roles         []role `json:"roles"`
	Type          string `json:"type"`
	LoginProvider string `json:"loginProvider"`
}

func validRole(name string) bool {
	for _, r := range Roles {
		if r == name {
			return true
		}
	}
	return false
}

// createUser is POST /api/v3/users (UsersService.createUser and validateUserInput in XL).
func (s *Sim) createUser(w http.ResponseWriter, r *http.Request, me *userState, _ time.Time) reply {
	if !me.can("ADMINISTRATOR", "SITE_ADMIN") {
		return forbidden()
	}
	var req createUserRequest
	if err := simkit.DecodeJSON(r, &req); err != nil {
		return badRequest(err.Error())
	}
	roleName := req.RoleName
	if roleName == "" && len(req.Roles) > 0 {
		roleName = req.Roles[0].Name
	}
	roleName = strings.ToUpper(strings.TrimSpace(roleName))
	switch {
	case strings.TrimSpace(req.Username) == "":
		return badRequest("No user name specified for user.")
	case roleName == "":
		return badRequest("No role specified for user.")
	case !validRole(roleName):
		return badRequest("Invalid role " + roleName + ".")
	case strings.TrimSpace(req.Type) == "":
		return badRequest("No type specified for user.")
	}
	provider := req.LoginProvider
	if provider == "" || strings.EqualFold(provider, "local") {
		provider = "Local"
	} else if strings.EqualFold(provider, "ldap") {
		provider = "LDAP"
	} else {
		return badRequest("Invalid login provider " + req.LoginProvider + ".")
	}
	if provider == "Local" && strings.TrimSpace(req.Password) == "" {
		return badRequest("User password is empty.")
	}
	if s.userByName(req.Username) != nil {
		return badRequest("User " + req.Username + " already exists")
	}
	u := s.newUser(User{Username: req.Username, Password: req.Password, RoleName: roleName, Type: req.Type, LoginProvider: provider})
	s.users = append(s.users, u)
	return respond(http.StatusOK, u.view())
}

// deleteUser is DELETE /api/v3/users/{uuid}; it answers true and ends the user's sessions.
func (s *Sim) deleteUser(w http.ResponseWriter, r *http.Request, me *userState, _ time.Time) reply {
	if !me.can("ADMINISTRATOR", "SITE_ADMIN") {
		return forbidden()
	}
	uuid := r.PathValue("uuid")
	for i, u := range s.users {
		if u.UUID != uuid {
			continue
		}
		s.users = append(s.users[:i:i], s.users[i+1:]...)
		for id, sess := range s.sessions {
			if sess.user == uuid {
				delete(s.sessions, id)
			}
		}
		return respond(http.StatusOK, json.RawMessage("true"))
	}
	return notFound("User", uuid)
}

// Users returns the users (without passwords), in creation order.
func (s *Sim) Users() []User {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]User, 0, len(s.users))
	for _, u := range s.users {
		out = append(out, u.User)
	}
	return out
}

// UserByName returns a user (without password) and whether it exists.
func (s *Sim) UserByName(name string) (User, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	u := s.userByName(name)
	if u == nil {
		return User{}, false
	}
	return u.User, true
}

// CheckPassword reports whether password is the password of the local user username.
func (s *Sim) CheckPassword(username, password string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	u := s.userByName(username)
	return u != nil && subtle.ConstantTimeCompare([]byte(u.password), []byte(password)) == 1
}

// AddUser adds a user directly, as an operator would in the UI; it returns its uuid.
func (s *Sim) AddUser(u User) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.newUser(u)
	s.users = append(s.users, st)
	return st.UUID
}
