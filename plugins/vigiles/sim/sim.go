package sim

import (
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/tokenflow/tokenflow/sdk/simkit"
)

// Config configures a simulator. The zero value is a working simulator with the defaults.
type Config struct {
	Clock    *simkit.Clock     // nil => simkit.NewRealClock()
	Users    map[string]string // email -> key-file key; nil => DefaultUsers
	Products []Product         // nil => DefaultProducts; the Private Workspace is always added
	Folders  []Folder          // nil => DefaultFolders when Products is nil too, else none
	CVEs     []CVE             // the vulnerability database; nil => DefaultCVEs
}

// The default user: the email of the toolkit's README example and a key.
const (
	DefaultEmail = "user@example.com"
	DefaultKey   = "vgls-sim-4f9c2e7a1b8d6e3f0a5c9b2d7e1f4a8c"
)

// Seeded resources, with fixed tokens so flows and tests can name them.
const (
	PrivateWorkspaceToken = "00000000000000000000000000000001"
	DefaultProductToken   = "5b1e9f0c7d2a4e68b3c1a9d0e2f47b6c"
	DefaultFolderToken    = "c7d2a4e65b1e9f0cb3c1a9d0e2f47b6d"
)

// DefaultUsers holds the default user. New copies it.
var DefaultUsers = map[string]string{DefaultEmail: DefaultKey}

// DefaultProducts is one product besides the Private Workspace.
var DefaultProducts = []Product{
	{Token: DefaultProductToken, Name: "Demo Gateway", Description: "Gateway firmware (simulator)"},
}

// DefaultFolders is one folder of the default product.
var DefaultFolders = []Folder{
	{Token: DefaultFolderToken, Name: "Release Builds", Description: "Manifests of release builds", ProductToken: DefaultProductToken},
}

// Product is a Vigiles product (a "group" on enterprise servers).
type Product struct {
	Token, Name, Description string
	IsDefault                bool // the Private Workspace
	Created                  time.Time
}

// Folder is a folder of a product, possibly inside another folder.
type Folder struct {
	Token, Name, Description string
	ProductToken             string
	ParentToken              string // "" for a folder at the product's top
	Created                  time.Time
}

// Manifest is an uploaded SBOM.
type Manifest struct {
	Token, Name  string
	ProductToken string
	FolderToken  string
	Uploaded     time.Time
	Content      string
	Packages     []Package
	Whitelist    []string
	Reports      []Report // oldest first
	// KernelConfig and UBootConfig are the .config files sent with the
	// upload, kept so tests see they arrived; the simulator filters nothing
	// by them (its CVE table has no config symbols).
	KernelConfig, UBootConfig string
}

// Report is one scan of a manifest.
type Report struct {
	Token       string
	Created     time.Time
	Findings    []Finding
	Whitelisted int
}

// Critical counts the report's open findings with a CVSS score of 9.0 or more.
func (r Report) Critical() int {
	n := 0
	for _, f := range r.Findings {
		if f.Open() && f.CVE.CVSS >= 9.0 {
			n++
		}
	}
	return n
}

type state struct {
	mu          sync.Mutex
	products    []*Product
	folders     []*Folder
	manifests   []*Manifest
	sigFailures int
}

// Sim is a Timesys Vigiles / LinuxLink simulator. It implements simkit.Simulator.
type Sim struct {
	clock    *simkit.Clock
	faults   *simkit.Faults
	recorder *simkit.Recorder
	handler  http.Handler
	users    map[string]string // guarded by st.mu
	cves     []CVE
	st       state
}

var _ simkit.Simulator = (*Sim)(nil)

// New returns a simulator configured by cfg.
func New(cfg Config) *Sim {
	s := &Sim{clock: cfg.Clock, faults: &simkit.Faults{}, users: maps.Clone(cfg.Users), cves: cfg.CVEs}
	if s.clock == nil {
		s.clock = simkit.NewRealClock()
	}
	if cfg.Users == nil {
		s.users = maps.Clone(DefaultUsers)
	}
	if s.cves == nil {
		s.cves = DefaultCVEs
	}
	s.cves = append([]CVE(nil), s.cves...)
	now := s.clock.Now()
	products, folders := cfg.Products, cfg.Folders
	if products == nil {
		products = DefaultProducts
	}
	if folders == nil && cfg.Products == nil {
		folders = DefaultFolders
	}
	s.st.products = append(s.st.products, &Product{Token: PrivateWorkspaceToken, Name: "Private Workspace", IsDefault: true, Created: now})
	for _, p := range products {
		if p.Token == "" {
			p.Token = simkit.RandomHex(16)
		}
		if p.Created.IsZero() {
			p.Created = now
		}
		s.st.products = append(s.st.products, &p)
	}
	for _, f := range folders {
		if f.Token == "" {
			f.Token = simkit.RandomHex(16)
		}
		if f.Created.IsZero() {
			f.Created = now
		}
		s.st.folders = append(s.st.folders, &f)
	}
	s.recorder = simkit.NewRecorder(s.clock)
	s.recorder.ClassifyWrites(isWrite)
	s.handler = simkit.Wrap(s.routes(), s.faults, s.recorder)
	return s
}

// Vendor returns "vigiles".
func (s *Sim) Vendor() string { return "vigiles" }

// Handler returns the simulator's HTTP handler, fault and recorder middleware included.
func (s *Sim) Handler() http.Handler { return s.handler }

// Clock returns the simulator's clock.
func (s *Sim) Clock() *simkit.Clock { return s.clock }

// Faults returns the faults injected into every request.
func (s *Sim) Faults() *simkit.Faults { return s.faults }

// Recorder returns the record of every request received.
func (s *Sim) Recorder() *simkit.Recorder { return s.recorder }

const api = "/api/v1/vigiles"

func (s *Sim) routes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /api/v1/heartbeat", s.signed(s.heartbeat))
	mux.HandleFunc("POST "+api+"/heartbeat", s.signed(s.heartbeat)) // the toolkit's later path

	mux.HandleFunc("GET "+api+"/products", s.signed(s.listProducts))
	mux.HandleFunc("POST "+api+"/products", s.signed(s.createProduct))
	mux.HandleFunc("GET "+api+"/products/{token}", s.signed(s.getProduct))
	mux.HandleFunc("GET "+api+"/folders", s.signed(s.listFolders))

	mux.HandleFunc("GET "+api+"/manifests", s.signed(s.listManifests))
	mux.HandleFunc("POST "+api+"/manifests", s.signed(s.uploadManifest))
	mux.HandleFunc("GET "+api+"/manifests/{token}", s.signed(s.getManifest))
	mux.HandleFunc("DELETE "+api+"/manifests/{token}", s.signed(s.deleteManifest))
	mux.HandleFunc("GET "+api+"/manifests/{token}/reports", s.signed(s.listReports))
	mux.HandleFunc("POST "+api+"/manifests/{token}/reports", s.signed(s.rescan))
	mux.HandleFunc("GET "+api+"/manifests/{token}/reports/latest", s.signed(s.latestReport))
	mux.HandleFunc("GET "+api+"/reports/compare", s.signed(s.compareReports))
	mux.HandleFunc("GET "+api+"/reports/{token}", s.signed(s.downloadReport))

	mux.HandleFunc("GET "+api+"/cves", s.signed(s.searchCVEs))
	mux.HandleFunc("GET "+api+"/cves/{id}", s.signed(s.getCVE))
	return mux
}

// isWrite says whether a request changes state; the heartbeat is a POST that does not.
func isWrite(r *http.Request) bool {
	if !simkit.IsWriteMethod(r.Method) {
		return false
	}
	return !strings.HasSuffix(r.URL.Path, "/heartbeat")
}

func fail(w http.ResponseWriter, status int, msg string) {
	simkit.WriteJSON(w, status, map[string]any{"success": false, "message": msg})
}

// SetUser adds a user or replaces a user's key (a key rotated on the dashboard).
func (s *Sim) SetUser(email, key string) {
	s.st.mu.Lock()
	defer s.st.mu.Unlock()
	s.users[email] = key
}

// KeyFile returns the key file the dashboard would let the user download:
// {"email": ..., "key": ...}.
func (s *Sim) KeyFile(email string) ([]byte, error) {
	s.st.mu.Lock()
	key, ok := s.users[email]
	s.st.mu.Unlock()
	if !ok {
		return nil, fmt.Errorf("vigiles sim: no user %q", email)
	}
	return json.MarshalIndent(map[string]string{"email": email, "key": key}, "", "  ")
}

// WriteKeyFile writes the user's key file to path with mode 0600.
func (s *Sim) WriteKeyFile(path, email string) error {
	b, err := s.KeyFile(email)
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(b, '\n'), 0o600)
}

// SignatureFailures counts the requests answered 403 for their credentials.
func (s *Sim) SignatureFailures() int {
	s.st.mu.Lock()
	defer s.st.mu.Unlock()
	return s.st.sigFailures
}

// Products returns the products, the Private Workspace first.
func (s *Sim) Products() []Product {
	s.st.mu.Lock()
	defer s.st.mu.Unlock()
	out := make([]Product, 0, len(s.st.products))
	for _, p := range s.st.products {
		out = append(out, *p)
	}
	return out
}

// Folders returns the folders of a product ("" = every folder).
func (s *Sim) Folders(productToken string) []Folder {
	s.st.mu.Lock()
	defer s.st.mu.Unlock()
	var out []Folder
	for _, f := range s.st.folders {
		if productToken == "" || f.ProductToken == productToken {
			out = append(out, *f)
		}
	}
	return out
}

// Manifests returns the uploaded manifests, oldest first.
func (s *Sim) Manifests() []Manifest {
	s.st.mu.Lock()
	defer s.st.mu.Unlock()
	out := make([]Manifest, 0, len(s.st.manifests))
	for _, m := range s.st.manifests {
		out = append(out, cloneManifest(m))
	}
	return out
}

// Manifest returns one manifest.
func (s *Sim) Manifest(token string) (Manifest, bool) {
	s.st.mu.Lock()
	defer s.st.mu.Unlock()
	m := s.st.manifest(token)
	if m == nil {
		return Manifest{}, false
	}
	return cloneManifest(m), true
}

func cloneManifest(m *Manifest) Manifest {
	c := *m
	c.Packages = append([]Package(nil), m.Packages...)
	c.Whitelist = append([]string(nil), m.Whitelist...)
	c.Reports = append([]Report(nil), m.Reports...)
	return c
}
