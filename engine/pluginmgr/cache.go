package pluginmgr

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io/fs"
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
// one small file per binary under plugins/ (0600 in 0700 directories),
// named by a hash of the binary's absolute path and replaced atomically: a
// run reads only the entries of the plugins it starts, however many
// binaries (old installs, test builds) the cache has seen.

// EnvCacheDir overrides the cache directory.
const EnvCacheDir = "TOKENFLOW_CACHE_DIR"

// 3: Schema holds the whole Describe answer (capabilities included), so
// a launch of an unchanged binary needs no Describe call.
const cacheVersion = 3

// pruneAbove is the number of entry files past which a save also removes
// the entries of binaries that are gone, so the directory does not grow
// without bound.
const pruneAbove = 64

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
	// Schema is the plugin's Describe answer (a pb.DescribeResponse,
	// marshalled: the schema and the plugin's capabilities).
	Schema []byte `json:"schema,omitempty"`
}

// cacheFile is one binary's entry file.
type cacheFile struct {
	Version int        `json:"version"`
	Path    string     `json:"path"` // absolute binary path
	Entry   cacheEntry `json:"entry"`
}

// pluginCache reads each binary's entry at most once per manager.
type pluginCache struct {
	once    sync.Once
	dir     string // "" when there is no usable cache directory
	mu      sync.Mutex
	entries map[string]*cacheEntry // read (or written) so far; nil value: none on disk
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

func (c *pluginCache) init() {
	c.once.Do(func() {
		c.entries = map[string]*cacheEntry{}
		if dir := cacheDir(); dir != "" {
			c.dir = filepath.Join(dir, "plugins")
		}
	})
}

// file is the entry file of the binary at path.
func (c *pluginCache) file(path string) string {
	sum := sha256.Sum256([]byte(path))
	return filepath.Join(c.dir, hex.EncodeToString(sum[:10])+".json")
}

// read returns path's entry as on disk (nil if none); c.mu is held.
func (c *pluginCache) read(path string) *cacheEntry {
	if e, ok := c.entries[path]; ok {
		return e
	}
	var e *cacheEntry
	if c.dir != "" {
		var f cacheFile
		if data, err := os.ReadFile(c.file(path)); err == nil &&
			json.Unmarshal(data, &f) == nil && f.Version == cacheVersion && f.Path == path {
			e = &f.Entry
		}
	}
	c.entries[path] = e
	return e
}

// entry returns a copy of path's entry if it was made for the file's
// current identity.
func (c *pluginCache) entry(path string, id fileID) (cacheEntry, bool) {
	c.init()
	c.mu.Lock()
	defer c.mu.Unlock()
	e := c.read(path)
	if e == nil || e.ID != id {
		return cacheEntry{}, false
	}
	return *e, true
}

// update changes path's entry for identity id (starting afresh if the
// entry was for another identity) and saves it.
func (c *pluginCache) update(path string, id fileID, change func(*cacheEntry)) {
	c.init()
	c.mu.Lock()
	e := c.read(path)
	if e == nil || e.ID != id {
		e = &cacheEntry{ID: id}
		c.entries[path] = e
	}
	change(e)
	data, err := json.Marshal(cacheFile{Version: cacheVersion, Path: path, Entry: *e})
	c.mu.Unlock()
	if err == nil && c.dir != "" {
		c.save(c.file(path), data)
	}
}

// save replaces an entry file atomically. It is not synced: a cache lost
// in a crash costs one hash and one Describe, and a torn file is ignored.
func (c *pluginCache) save(path string, data []byte) {
	if err := os.MkdirAll(c.dir, 0o700); err != nil {
		return
	}
	tmp, err := os.CreateTemp(c.dir, "entry-*.tmp")
	if err != nil {
		return
	}
	_, err = tmp.Write(data)
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), path)
	}
	if err != nil {
		os.Remove(tmp.Name())
	}
	c.prune()
}

// prune removes the entries of binaries that are gone once there are more
// than pruneAbove, and the single-file cache of earlier versions.
func (c *pluginCache) prune() {
	os.Remove(filepath.Join(filepath.Dir(c.dir), "plugins.json"))
	names, err := filepath.Glob(filepath.Join(c.dir, "*.json"))
	if err != nil || len(names) <= pruneAbove {
		return
	}
	for _, name := range names {
		var f cacheFile
		data, err := os.ReadFile(name)
		if err != nil {
			continue
		}
		if json.Unmarshal(data, &f) != nil || f.Path == "" {
			os.Remove(name)
			continue
		}
		if _, err := os.Lstat(f.Path); errors.Is(err, fs.ErrNotExist) {
			os.Remove(name)
		}
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
	if d, ok := m.cachedDescribe(path); ok {
		if s, err := schemaFromProto(d.Schema); err == nil && s.Name == vendor {
			return s, path, nil
		}
	}
	p, err := m.Get(ctx, vendor)
	if err != nil {
		return nil, "", err
	}
	return p.Schema(), m.Path(vendor), nil
}

// cachedDescribe returns the Describe answer cached for the binary at path
// under its current identity.
func (m *Manager) cachedDescribe(path string) (*pb.DescribeResponse, bool) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, false
	}
	id, err := identity(abs)
	if err != nil {
		return nil, false
	}
	e, ok := m.cache.entry(abs, id)
	if !ok || e.Schema == nil {
		return nil, false
	}
	var d pb.DescribeResponse
	if proto.Unmarshal(e.Schema, &d) != nil || d.Schema == nil {
		return nil, false
	}
	return &d, true
}

// cacheDescribe remembers a Describe answer under the identity the binary
// had before it was launched (so never a newer binary's).
func (m *Manager) cacheDescribe(path string, id fileID, d *pb.DescribeResponse) {
	abs, err := filepath.Abs(path)
	if err != nil || id == (fileID{}) {
		return
	}
	b, err := proto.Marshal(d)
	if err != nil {
		return
	}
	m.cache.update(abs, id, func(e *cacheEntry) { e.Schema = b })
}
