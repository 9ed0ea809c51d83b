package sqlitestore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/sessionkit/session"
	"github.com/sessionkit/session/stores/sqlstore"
)

// maxBatch bounds how many queued writes share one transaction.
const maxBatch = 64

// errClosed is returned for a write submitted after Close.
var errClosed = errors.New("sqlitestore: store is closed")

// writer is the store's one writing connection, used by one write at a
// time in arrival order. SQLite admits one writer at a time; letting every
// pooled connection compete for that lock means waiting in SQLite's busy
// handler, which sleeps and polls (1, 2, 5, ... 100 ms) and lets a late
// arrival take the lock before a writer that has waited for seconds. Here a
// write that finds the connection busy waits in a FIFO queue in Go instead
// and is woken the moment its turn comes.
//
// No goroutine of its own serves the queue: a write that finds the
// connection free runs on its caller's goroutine (an uncontended write
// costs what it did on a pooled connection), and the caller whose turn
// comes takes the oldest queued writes, its own first, and runs them as one
// batch: the writes share one transaction (group commit). Each keeps its
// own statement-level atomicity and conditional semantics, because the
// statements run one after the other on the same connection, and each
// caller is answered only after the COMMIT that made its write durable. A
// write that fails in a way that may have ended the shared transaction
// (anything but a key violation or a session error such as ErrNotFound)
// rolls the batch back, and every other write of the batch runs again
// alone, so one failure is never another request's.
type writer struct {
	conn  *sql.Conn
	stmts map[string]*sql.Stmt // prepared on conn; used by the leader only
	// isDuplicate reports a key violation: an error that ends only its
	// statement, not the transaction.
	isDuplicate func(error) bool
	// sharedTxs counts transactions that carried more than one write.
	sharedTxs atomic.Int64
	// unclean records a failed rollback (used by the leader only).
	unclean bool

	mu     sync.Mutex
	idle   sync.Cond  // signalled when busy turns false
	busy   bool       // a caller (the leader) holds the connection
	queue  []*writeOp // writes waiting for the connection, oldest first
	closed bool

	closeOnce sync.Once
	closeErr  error
}

// writeOp is one write: f runs its statements on the writer connection.
type writeOp struct {
	ctx context.Context
	f   func(sqlstore.Querier) error
	// tx marks work of several statements that must commit or roll back
	// together (Conn.InTx); a single statement is atomic by itself.
	tx bool
	// wake delivers the write's result, or, before it, the batch this
	// write's caller is to run as the next leader. Buffered: a sender
	// never waits.
	wake   chan wakeup
	queued bool // in writer.queue; guarded by writer.mu
}

// wakeup is a message to a waiting write: lead is the batch its caller
// runs next (it holds the write itself, first), or else err is the
// write's result.
type wakeup struct {
	lead []*writeOp
	err  error
}

func newWriter(conn *sql.Conn, isDuplicate func(error) bool) *writer {
	w := &writer{conn: conn, stmts: map[string]*sql.Stmt{}, isDuplicate: isDuplicate}
	w.idle.L = &w.mu
	return w
}

// do runs f on the writer connection, now if it is free, else after the
// writes queued before it. A write whose context ends while it is queued
// is not run and returns the context's error; one already taken into a
// batch returns its result when the batch ends (at most one batch later).
func (w *writer) do(ctx context.Context, tx bool, f func(sqlstore.Querier) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	op := &writeOp{ctx: ctx, f: f, tx: tx, wake: make(chan wakeup, 1)}
	w.mu.Lock()
	if w.closed {
		w.mu.Unlock()
		return errClosed
	}
	if !w.busy {
		w.busy = true
		w.mu.Unlock()
		return w.lead(op, []*writeOp{op})
	}
	op.queued = true
	w.queue = append(w.queue, op)
	w.mu.Unlock()
	var m wakeup
	select {
	case m = <-op.wake:
	case <-ctx.Done():
		w.mu.Lock()
		if op.queued {
			w.queue = slices.DeleteFunc(w.queue, func(o *writeOp) bool { return o == op })
			op.queued = false
			w.mu.Unlock()
			return ctx.Err()
		}
		w.mu.Unlock()
		m = <-op.wake // taken into a batch: its result, or the batch to lead
	}
	if m.lead != nil {
		return w.lead(op, m.lead)
	}
	return m.err
}

// lead runs batch, whose first write is op, then hands the connection to
// the oldest queued write (or marks it free) and returns op's result.
func (w *writer) lead(op *writeOp, batch []*writeOp) error {
	w.run(batch)
	w.mu.Lock()
	if len(w.queue) == 0 {
		w.busy = false
		w.idle.Broadcast()
		w.mu.Unlock()
	} else {
		next := w.queue[:min(len(w.queue), maxBatch)]
		w.queue = slices.Clone(w.queue[len(next):])
		for _, o := range next {
			o.queued = false
		}
		w.mu.Unlock()
		next[0].wake <- wakeup{lead: next}
	}
	return (<-op.wake).err
}

// close waits for the writes already accepted, then releases the connection
// and its statements; later calls return the first one's result.
func (w *writer) close() error {
	w.closeOnce.Do(func() {
		w.mu.Lock()
		w.closed = true
		for w.busy {
			w.idle.Wait()
		}
		w.mu.Unlock()
		var errs []error
		for _, st := range w.stmts {
			errs = append(errs, st.Close())
		}
		errs = append(errs, w.conn.Close())
		w.closeErr = errors.Join(errs...)
	})
	return w.closeErr
}

// run executes a batch: alone when it holds one write, else in one
// transaction.
func (w *writer) run(batch []*writeOp) {
	if w.unclean {
		// A rollback failed earlier: the connection may still be inside
		// that transaction, where a write would seem to succeed and never
		// commit. Nothing runs until a rollback goes through.
		if err := w.exec(context.Background(), "ROLLBACK"); err != nil && !isNoTransaction(err) {
			for _, op := range batch {
				op.wake <- wakeup{err: fmt.Errorf("sqlitestore: the writer connection cannot end a failed transaction: %w", err)}
			}
			return
		}
		w.unclean = false
	}
	live := batch[:0]
	for _, op := range batch {
		if err := op.ctx.Err(); err != nil {
			op.wake <- wakeup{err: err} // given up before it started: not run
			continue
		}
		live = append(live, op)
	}
	if len(live) == 1 {
		live[0].wake <- wakeup{err: w.alone(live[0])}
		return
	}
	if len(live) == 0 {
		return
	}
	results, failed, err := w.shared(live)
	if err != nil {
		if failed < 0 {
			// BEGIN or COMMIT failed (another process holds the lock
			// past the busy timeout, a full disk): every write of the
			// batch gets that error rather than a second wait alone.
			for _, op := range live {
				op.wake <- wakeup{err: err}
			}
			return
		}
		// One write failed in a way that may have ended the shared
		// transaction, which was rolled back: it gets its error, and the
		// others run again, each alone, unless their caller gave up.
		for i, op := range live {
			switch {
			case i == failed:
				op.wake <- wakeup{err: results[i]}
			case op.ctx.Err() != nil:
				op.wake <- wakeup{err: op.ctx.Err()}
			default:
				op.wake <- wakeup{err: w.alone(op)}
			}
		}
		return
	}
	for i, op := range live {
		op.wake <- wakeup{err: results[i]}
	}
}

// background is the context of the writer's statements: a statement
// interrupted by its caller's deadline would roll back the whole shared
// transaction, so a write that has started runs to the end (statements are
// short); a deadline only keeps a queued write from starting.
func background(op *writeOp) context.Context { return context.WithoutCancel(op.ctx) }

// alone runs one write in its own transaction (a single statement in
// autocommit mode).
func (w *writer) alone(op *writeOp) error {
	ctx := background(op)
	if !op.tx {
		return op.f(w.querier(ctx))
	}
	if err := w.exec(ctx, "BEGIN IMMEDIATE"); err != nil {
		return err
	}
	if err := op.f(w.querier(ctx)); err != nil {
		return errors.Join(err, w.rollback(ctx))
	}
	if err := w.exec(ctx, "COMMIT"); err != nil {
		return errors.Join(err, w.rollback(ctx))
	}
	return nil
}

// shared runs the batch in one transaction. It returns each write's own
// result, or an error when the transaction had to be rolled back: then
// failed is the index of the write that caused it (results holds its
// error; the others did not take effect), or -1 when BEGIN or COMMIT
// itself failed.
func (w *writer) shared(batch []*writeOp) (results []error, failed int, err error) {
	ctx := context.Background()
	w.sharedTxs.Add(1)
	results = make([]error, len(batch))
	if err := w.exec(ctx, "BEGIN IMMEDIATE"); err != nil {
		return results, -1, err
	}
	for i, op := range batch {
		err := w.inBatch(background(op), op)
		if err != nil && !w.endsOnlyItself(err) {
			results = make([]error, len(batch))
			results[i] = err
			return results, i, errors.Join(err, w.rollback(ctx))
		}
		results[i] = err
	}
	if err := w.exec(ctx, "COMMIT"); err != nil {
		return make([]error, len(batch)), -1, errors.Join(err, w.rollback(ctx))
	}
	return results, 0, nil
}

// errSavepoint marks a write whose savepoint could not be rolled back or
// released: the shared transaction's state is unknown, so the batch must
// end (it never counts as a failure that ends only its write).
type errSavepoint struct{ err error }

func (e errSavepoint) Error() string { return "sqlitestore: savepoint: " + e.err.Error() }

// inBatch runs one write inside the shared transaction; work of several
// statements runs under a savepoint, so that its error undoes its own
// statements only.
func (w *writer) inBatch(ctx context.Context, op *writeOp) error {
	if !op.tx {
		return op.f(w.querier(ctx))
	}
	if err := w.exec(ctx, "SAVEPOINT write"); err != nil {
		return err
	}
	if err := op.f(w.querier(ctx)); err != nil {
		if rerr := w.exec(ctx, "ROLLBACK TO write"); rerr != nil {
			return errSavepoint{fmt.Errorf("%v (after %v)", rerr, err)}
		}
		if rerr := w.exec(ctx, "RELEASE write"); rerr != nil {
			return errSavepoint{fmt.Errorf("%v (after %v)", rerr, err)}
		}
		return err
	}
	return w.exec(ctx, "RELEASE write")
}

// endsOnlyItself reports an error after which the shared transaction
// continues: a key violation (SQLite undoes the one statement) or a
// session error the store's own code returned without a failed statement.
func (w *writer) endsOnlyItself(err error) bool {
	return w.isDuplicate(err) || errors.Is(err, session.ErrNotFound) || errors.Is(err, session.ErrTooLarge) || errors.Is(err, session.ErrExists)
}

func (w *writer) exec(ctx context.Context, q string) error {
	_, err := w.conn.ExecContext(ctx, q)
	return err
}

// rollback ends an open transaction; SQLite may have rolled it back
// already (after an I/O error, say), which is not a second failure.
func (w *writer) rollback(ctx context.Context) error {
	err := w.exec(ctx, "ROLLBACK")
	if err != nil && !isNoTransaction(err) {
		w.unclean = true
		return fmt.Errorf("rolling back: %w", err)
	}
	return nil
}

// stmt returns q prepared on the writer connection, preparing it on first
// use.
func (w *writer) stmt(ctx context.Context, q string) (*sql.Stmt, error) {
	if st := w.stmts[q]; st != nil {
		return st, nil
	}
	st, err := w.conn.PrepareContext(ctx, q)
	if err != nil {
		return nil, err
	}
	w.stmts[q] = st
	return st, nil
}

// querier is the Querier the writer's work runs statements with.
func (w *writer) querier(ctx context.Context) writerQuerier { return writerQuerier{w: w, ctx: ctx} }

// writerQuerier runs statements on the writer connection with the
// writer's context (see background), whatever context the caller passes.
type writerQuerier struct {
	w   *writer
	ctx context.Context
}

func (q writerQuerier) Exec(_ context.Context, query string, args ...any) (int64, error) {
	st, err := q.w.stmt(q.ctx, query)
	if err != nil {
		return 0, err
	}
	res, err := st.ExecContext(q.ctx, args...)
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

func (q writerQuerier) QueryRow(_ context.Context, query string, args ...any) sqlstore.Row {
	st, err := q.w.stmt(q.ctx, query)
	if err != nil {
		return errRow{err}
	}
	return st.QueryRowContext(q.ctx, args...)
}

// errRow is a Row whose Scan reports an error from before the query ran.
type errRow struct{ err error }

func (r errRow) Scan(...any) error { return r.err }
