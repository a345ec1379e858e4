package pluginmgr

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"sync"

	"github.com/tokenflow/tokenflow/engine/schema"
	pb "github.com/tokenflow/tokenflow/sdk/proto/tokenflow/plugin/v1"
	"google.golang.org/protobuf/proto"
)

// The plugin cache remembers, for each plugin binary, its SHA-256 and its
// Describe answer, under the file's identity (device, inode, size,
// modification and change times). Hashing a 20 MB binary and launching a
// plugin to describe it are the two costs a run or `tokenflow plugins`
// need not pay again while the binary is untouched. Any write to the file
// moves its change time, which no user can set back, and replacing it
// changes its inode: a changed binary is always hashed and described
// afresh. The cache is only ever a shortcut: a missing, unreadable or
// corrupt cache file is ignored and rewritten.
//
// It lives in $TOKENFLOW_CACHE_DIR, else os.UserCacheDir()/tokenflow, as
// plugins.json (0600 in a 0700 directory), replaced atomically.

// EnvCacheDir overrides the cache directory.
const EnvCacheDir = "TOKENFLOW_CACHE_DIR"

const cacheVersion = 1

type fileID struct {
	Dev     uint64 `json:"dev"`
	Ino     uint64 `json:"ino"`
	Size    int64  `json:"size"`
	MtimeNS int64  `json:"mtime_ns"`
	CtimeNS int64  `json:"ctime_ns"`
}

type cacheEntry struct {
	ID     fileID `json:"id"`
	SHA256 string `json:"sha256,omitempty"`
	// Schema is the plugin's Describe answer (a pb.Schema, marshalled).
	Schema []byte `json:"schema,omitempty"`
}

type cacheFile struct {
	Version int                    `json:"version"`
	Plugins map[string]*cacheEntry `json:"plugins"` // absolute binary path -> entry
}

type pluginCache struct {
	once    sync.Once
	path    string // "" when there is no usable cache directory
	mu      sync.Mutex
	entries map[string]*cacheEntry
}

func cacheDir() string {
	if d := os.Getenv(EnvCacheDir); d != "" {
		return d
	}
	d, err := os.UserCacheDir()
	if err != nil {
		return ""
	}
	return filepath.Join(d, "tokenflow")
}

func (c *pluginCache) load() {
	c.once.Do(func() {
		c.entries = map[string]*cacheEntry{}
		if dir := cacheDir(); dir != "" {
			c.path = filepath.Join(dir, "plugins.json")
		}
		if c.path == "" {
			return
		}
		data, err := os.ReadFile(c.path)
		if err != nil {
			return
		}
		var f cacheFile
		if json.Unmarshal(data, &f) == nil && f.Version == cacheVersion && f.Plugins != nil {
			c.entries = f.Plugins
		}
	})
}

// entry returns a copy of path's entry if it was made for the file's
// current identity.
func (c *pluginCache) entry(path string, id fileID) (cacheEntry, bool) {
	c.load()
	c.mu.Lock()
	defer c.mu.Unlock()
	e := c.entries[path]
	if e == nil || e.ID != id {
		return cacheEntry{}, false
	}
	return *e, true
}

// update changes path's entry for identity id (starting afresh if the
// entry was for another identity) and saves the cache.
func (c *pluginCache) update(path string, id fileID, change func(*cacheEntry)) {
	c.load()
	c.mu.Lock()
	e := c.entries[path]
	if e == nil || e.ID != id {
		e = &cacheEntry{ID: id}
		c.entries[path] = e
	}
	change(e)
	// Binaries that are gone (test builds, old installs) leave with the
	// next save, so the file does not grow without bound.
	for p := range c.entries {
		if _, err := os.Lstat(p); err != nil && p != path {
			delete(c.entries, p)
		}
	}
	data, err := json.Marshal(cacheFile{Version: cacheVersion, Plugins: c.entries})
	c.mu.Unlock()
	if err == nil && c.path != "" {
		c.save(data)
	}
}

// save replaces the cache file atomically. It is not synced: a cache lost
// in a crash costs one hash and one Describe, and a torn file is ignored.
// Another process saving at the same time may drop this one's entry; the
// next run puts it back.
func (c *pluginCache) save(data []byte) {
	dir := filepath.Dir(c.path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return
	}
	tmp, err := os.CreateTemp(dir, "plugins-*.json")
	if err != nil {
		return
	}
	_, err = tmp.Write(data)
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), c.path)
	}
	if err != nil {
		os.Remove(tmp.Name())
	}
}

// Checksum returns the SHA-256 (hex) of the plugin binary at path,
// hashing the file only when the cache has no sum for its identity.
func (m *Manager) Checksum(path string) (string, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return "", err
	}
	id, idErr := identity(abs)
	if idErr == nil {
		if e, ok := m.cache.entry(abs, id); ok && e.SHA256 != "" {
			return e.SHA256, nil
		}
	}
	sum, err := FileSHA256(abs)
	if err != nil {
		return "", err
	}
	// The file may have changed while it was read: remember the sum only
	// if its identity still is the one taken before.
	if after, err := identity(abs); idErr == nil && err == nil && after == id {
		m.cache.update(abs, id, func(e *cacheEntry) { e.SHA256 = sum })
	}
	return sum, nil
}

// Describe returns the vendor's schema and binary path: from the cache
// when the binary is unchanged since it was last described, else by
// launching it (which caches the answer).
func (m *Manager) Describe(ctx context.Context, vendor string) (*schema.Schema, string, error) {
	path, err := m.Find(vendor)
	if err != nil {
		return nil, "", err
	}
	if ps, _, ok := m.cachedSchema(path); ok {
		if s, err := schemaFromProto(ps); err == nil && s.Name == vendor {
			return s, path, nil
		}
	}
	p, err := m.Get(ctx, vendor)
	if err != nil {
		return nil, "", err
	}
	return p.Schema(), m.Path(vendor), nil
}

// cachedSchema returns the Describe answer cached for the binary at path.
func (m *Manager) cachedSchema(path string) (*pb.Schema, fileID, bool) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fileID{}, false
	}
	id, err := identity(abs)
	if err != nil {
		return nil, fileID{}, false
	}
	e, ok := m.cache.entry(abs, id)
	if !ok || e.Schema == nil {
		return nil, id, false
	}
	var s pb.Schema
	if proto.Unmarshal(e.Schema, &s) != nil {
		return nil, id, false
	}
	return &s, id, true
}

func (m *Manager) cacheSchema(path string, id fileID, s *pb.Schema) {
	abs, err := filepath.Abs(path)
	if err != nil || id == (fileID{}) {
		return
	}
	b, err := proto.Marshal(s)
	if err != nil {
		return
	}
	m.cache.update(abs, id, func(e *cacheEntry) { e.Schema = b })
}
