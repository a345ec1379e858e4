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
// A caller returns only after the transaction holding its write committed,
// so durability is exactly what one commit per write gave.

type writeReq struct {
	ctx  context.Context
	fn   func(tx *sql.Tx) error
	done chan error
}

type committer struct {
	db   *sql.DB
	path string
	reqs chan *writeReq

	once sync.Once
	quit chan struct{}
	wg   sync.WaitGroup
}

// maxBatch bounds one transaction's writes, so one commit's latency stays
// bounded under a burst.
const maxBatch = 256

func newCommitter(db *sql.DB, path string) *committer {
	c := &committer{db: db, path: path, reqs: make(chan *writeReq), quit: make(chan struct{})}
	c.wg.Add(1)
	go c.loop()
	return c
}

// do runs fn in the next group commit and returns once its writes are
// durable (or failed). fn sees the writes of the batch before it; it must
// not commit or roll back.
func (c *committer) do(ctx context.Context, fn func(tx *sql.Tx) error) error {
	req := &writeReq{ctx: ctx, fn: fn, done: make(chan error, 1)}
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
	tx, err := c.db.BeginTx(context.Background(), nil)
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

// close stops the loop once the writes handed over are done.
func (c *committer) close() {
	c.once.Do(func() { close(c.quit) })
	c.wg.Wait()
}
