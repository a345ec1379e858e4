package sim

import (
	"net/http"
	"time"
)

type realmList struct {
	SsoRealms []Realm `json:"ssoRealms"`
}

// listRealms is GET .../iam/ssorealms.
func (s *Sim) listRealms(w http.ResponseWriter, _ *http.Request) {
	s.locked(func(time.Time) reply {
		out := realmList{SsoRealms: make([]Realm, 0, len(s.st.realms))}
		for _, rs := range s.st.realms {
			out.SsoRealms = append(out.SsoRealms, rs.Realm)
		}
		return respond(http.StatusOK, out)
	}).write(w)
}

// getRealm is GET .../iam/ssorealms/{ssoRealmId}.
func (s *Sim) getRealm(w http.ResponseWriter, r *http.Request) {
	s.inRealm(r, func(rs *realmState, _ time.Time) reply {
		return respond(http.StatusOK, rs.Realm)
	}).write(w)
}
