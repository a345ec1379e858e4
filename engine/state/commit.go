package state

import (
	"context"
	"database/sql"
	"fmt"
	"sync"
)

// Group commit. Every journal write must be on disk before the caller goes
// on (a write's intent before its request leaves), and with
// synchronous=FULL each commit costs an fsync: several milliseconds on many
// disks. The runs of a fleet write concurrently, so the writes that arrive
// while a commit is in flight are gathered into the next transaction and
// share one fsync. Each write runs under its own savepoint: one failing
// write is rolled back alone and reported to its caller, the others commit.
// A caller returns only after the transaction holding its write committed.
//
// Not every write needs its own fsync. A durable write (a write step's
// intent, a token, the end of a run) is committed with synchronous=FULL
// and returns once on disk. A lazy write (a run's start, a step's result)
// is committed with synchronous=NORMAL: in WAL mode it is in the log and
// survives the process being killed at any point, and the next durable
// commit's fsync of the same log puts it on disk too. Only a power loss or
// kernel crash in the milliseconds before that fsync can lose it, and what
// it loses is recoverable: a step whose result is lost is an intent again,
// which resume reconciles (or reports for a person to check, for an op
// that cannot reconcile) exactly as if the crash had come while its
// request was in flight.

type writeReq struct {
	ctx     context.Context
	fn      func(tx *sql.Tx) error
	durable bool
	// deferred: queued by deferWrite; nobody waits on done.
	deferred bool
	done     chan error
}

type committer struct {
	db   *sql.DB
	path string
	// conn is the committer's own connection, so the synchronous setting
	// it changes is the one its transactions run with.
	conn *sql.Conn
	sync string // the synchronous setting conn has now

	mu      sync.Mutex
	cond    *sync.Cond // signalled when leading turns false
	queue   []*writeReq
	leading bool // a goroutine is committing; the queue is its next batch
	closed  bool
	once    sync.Once

	// deferred are writes waiting for the next commit (deferWrite).
	deferred []func(tx *sql.Tx) error

	// stmts are the journal's statements, prepared once, so a write does
	// not parse its SQL again (most of a small write's CPU). Prepared on
	// the database, not on conn: database/sql keeps a database statement's
	// form for each connection and reuses it in a transaction, where a
	// statement prepared on a Conn is prepared again in every transaction.
	// Used only by the goroutine committing.
	stmts map[string]*sql.Stmt
}

// stmt returns q prepared on the committer's connection, bound to tx.
// Called while committing; a statement that cannot be prepared is left
// to tx, which reports the error.
func (c *committer) stmt(ctx context.Context, tx *sql.Tx, q string) interface {
	ExecContext(context.Context, ...any) (sql.Result, error)
} {
	st := c.stmts[q]
	if st == nil {
		var err error
		if st, err = c.db.PrepareContext(ctx, q); err != nil {
			return txExec{tx, q}
		}
		if c.stmts == nil {
			c.stmts = map[string]*sql.Stmt{}
		}
		c.stmts[q] = st
	}
	return tx.StmtContext(ctx, st)
}

type txExec struct {
	tx *sql.Tx
	q  string
}

func (t txExec) ExecContext(ctx context.Context, args ...any) (sql.Result, error) {
	return t.tx.ExecContext(ctx, t.q, args...)
}

// maxBatch bounds one transaction's writes, so one commit's latency stays
// bounded under a burst.
const maxBatch = 256

func newCommitter(ctx context.Context, db *sql.DB, path string) (*committer, error) {
	conn, err := db.Conn(ctx)
	if err != nil {
		return nil, err
	}
	// The DSN's setting; set again so the value tracked is certain.
	if _, err := conn.ExecContext(ctx, `PRAGMA synchronous=FULL`); err != nil {
		conn.Close()
		return nil, err
	}
	c := &committer{db: db, path: path, conn: conn, sync: "FULL"}
	c.cond = sync.NewCond(&c.mu)
	return c, nil
}

// do runs fn in the next group commit and returns once its writes are
// committed (or failed): on disk if durable, else as described above. fn
// sees the writes of the batch before it; it must not commit or roll back.
//
// The first writer to find no commit in flight commits its own write on
// its own goroutine: a single run's journal writes cost no hand-off to
// another goroutine (a thread wake-up each, on these machines a good share
// of a step). Writers that arrive during a commit queue up, and one
// goroutine commits them all in the next transaction, as before.
func (c *committer) do(ctx context.Context, durable bool, fn func(tx *sql.Tx) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	req := &writeReq{ctx: ctx, fn: fn, durable: durable, done: make(chan error, 1)}
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return fmt.Errorf("state database %s is closed", c.path)
	}
	c.queue = append(c.queue, req)
	if c.leading {
		c.mu.Unlock()
		// Once queued, the write is waited for even if ctx ends: the
		// caller must learn whether it reached the disk.
		return <-req.done
	}
	c.leading = true
	batch := c.take()
	c.mu.Unlock()
	c.commit(batch)
	c.mu.Lock()
	if len(c.queue) > 0 {
		// Writes queued during this commit: another goroutine commits
		// them, so this caller is not held up by writes not its own.
		go c.lead()
	} else {
		c.leading = false
		c.cond.Broadcast()
	}
	c.mu.Unlock()
	return <-req.done
}

// maxDeferred bounds the deferred writes: the one that reaches it commits
// them all.
const maxDeferred = 64

// deferWrite queues fn for the next commit and returns at once (see the
// top of this file). A deferred write that fails fails the transaction
// that carries it, and every write in it: the journal is broken.
func (c *committer) deferWrite(ctx context.Context, fn func(tx *sql.Tx) error) error {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return fmt.Errorf("state database %s is closed", c.path)
	}
	c.deferred = append(c.deferred, fn)
	full := len(c.deferred) >= maxDeferred
	c.mu.Unlock()
	if full {
		return c.flush(ctx)
	}
	return nil
}

// flush commits the deferred writes, if any.
func (c *committer) flush(ctx context.Context) error {
	c.mu.Lock()
	pending := len(c.deferred) > 0 && !c.closed
	c.mu.Unlock()
	if !pending {
		return nil
	}
	return c.do(ctx, false, func(*sql.Tx) error { return nil })
}

// take removes the next batch from the queue, the deferred writes first.
// Called with mu held.
func (c *committer) take() []*writeReq {
	n := min(len(c.queue), maxBatch)
	batch := make([]*writeReq, 0, len(c.deferred)+n)
	for _, fn := range c.deferred {
		batch = append(batch, &writeReq{fn: fn, deferred: true, done: make(chan error, 1)})
	}
	c.deferred = nil
	batch = append(batch, c.queue[:n]...)
	c.queue = append(c.queue[:0], c.queue[n:]...)
	return batch
}

// lead commits the queue until it is empty, then gives up leading.
func (c *committer) lead() {
	c.mu.Lock()
	for len(c.queue) > 0 {
		batch := c.take()
		c.mu.Unlock()
		c.commit(batch)
		c.mu.Lock()
	}
	c.leading = false
	c.cond.Broadcast()
	c.mu.Unlock()
}

func (c *committer) commit(batch []*writeReq) {
	fail := func(err error) {
		for _, r := range batch {
			r.done <- classify(c.path, err)
		}
	}
	want := "NORMAL"
	for _, r := range batch {
		if r.durable {
			want = "FULL"
			break
		}
	}
	if want != c.sync {
		if _, err := c.conn.ExecContext(context.Background(), `PRAGMA synchronous=`+want); err != nil {
			fail(err)
			return
		}
		c.sync = want
	}
	tx, err := c.conn.BeginTx(context.Background(), nil)
	if err != nil {
		fail(err)
		return
	}
	errs := make([]error, len(batch))
	single := len(batch) == 1
	for i, r := range batch {
		if single {
			// One write needs no savepoint: its failure rolls back all.
			if errs[0] = r.fn(tx); errs[0] != nil {
				tx.Rollback()
				r.done <- errs[0]
				return
			}
			break
		}
		if _, err := tx.Exec(`SAVEPOINT w`); err != nil {
			tx.Rollback()
			fail(err)
			return
		}
		if err := r.fn(tx); err != nil {
			if r.deferred {
				tx.Rollback()
				fail(fmt.Errorf("an earlier step's record could not be written: %w", err))
				return
			}
			errs[i] = err
			if _, err := tx.Exec(`ROLLBACK TO w`); err != nil {
				tx.Rollback()
				fail(err)
				return
			}
		}
		if _, err := tx.Exec(`RELEASE w`); err != nil {
			tx.Rollback()
			fail(err)
			return
		}
	}
	if err := tx.Commit(); err != nil {
		fail(err)
		return
	}
	for i, r := range batch {
		r.done <- errs[i]
	}
}

// close waits for the writes queued to be committed, refuses new ones,
// and puts any lazy write on disk.
func (c *committer) close() {
	c.once.Do(func() {
		c.flush(context.Background())
		c.mu.Lock()
		c.closed = true
		for c.leading {
			c.cond.Wait()
		}
		c.mu.Unlock()
		// A run ends with a durable write (FinishRun); when the last
		// commit was lazy all the same, a checkpoint (which syncs the log
		// before copying it) puts it on disk before the database closes.
		if c.sync != "FULL" {
			c.conn.ExecContext(context.Background(), `PRAGMA synchronous=FULL`)
			c.conn.ExecContext(context.Background(), `PRAGMA wal_checkpoint(PASSIVE)`)
		}
		for _, st := range c.stmts {
			st.Close()
		}
		c.conn.Close()
	})
}
