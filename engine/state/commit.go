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
	done    chan error
}

type committer struct {
	db   *sql.DB
	path string
	reqs chan *writeReq
	// conn is the committer's own connection, so the synchronous setting
	// it changes is the one its transactions run with.
	conn *sql.Conn
	sync string // the synchronous setting conn has now

	once sync.Once
	quit chan struct{}
	wg   sync.WaitGroup
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
	c := &committer{db: db, path: path, conn: conn, sync: "FULL", reqs: make(chan *writeReq), quit: make(chan struct{})}
	c.wg.Add(1)
	go c.loop()
	return c, nil
}

// do runs fn in the next group commit and returns once its writes are
// committed (or failed): on disk if durable, else as described above. fn
// sees the writes of the batch before it; it must not commit or roll back.
func (c *committer) do(ctx context.Context, durable bool, fn func(tx *sql.Tx) error) error {
	req := &writeReq{ctx: ctx, fn: fn, durable: durable, done: make(chan error, 1)}
	select {
	case c.reqs <- req:
	case <-c.quit:
		return fmt.Errorf("state database %s is closed", c.path)
	case <-ctx.Done():
		return ctx.Err()
	}
	// Once handed over, the write is waited for even if ctx ends: the
	// caller must learn whether it reached the disk.
	return <-req.done
}

func (c *committer) loop() {
	defer c.wg.Done()
	for {
		var first *writeReq
		select {
		case first = <-c.reqs:
		case <-c.quit:
			return
		}
		batch := []*writeReq{first}
	gather:
		for len(batch) < maxBatch {
			select {
			case r := <-c.reqs:
				batch = append(batch, r)
			default:
				break gather
			}
		}
		c.commit(batch)
	}
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

// close stops the loop once the writes handed over are done, and puts
// any lazy write on disk.
func (c *committer) close() {
	c.once.Do(func() {
		close(c.quit)
		c.wg.Wait()
		// A run ends with a durable write (FinishRun); when the last
		// commit was lazy all the same, a checkpoint (which syncs the log
		// before copying it) puts it on disk before the database closes.
		if c.sync != "FULL" {
			c.conn.ExecContext(context.Background(), `PRAGMA synchronous=FULL`)
			c.conn.ExecContext(context.Background(), `PRAGMA wal_checkpoint(PASSIVE)`)
		}
		c.conn.Close()
	})
	c.wg.Wait()
}
