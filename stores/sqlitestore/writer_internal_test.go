package sqlitestore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/sessionkit/session"
	"github.com/sessionkit/session/stores/sqlstore"
)

func openForTest(t *testing.T) *Store {
	t.Helper()
	s, err := Open(context.Background(), filepath.Join(t.TempDir(), "w.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	if _, err := s.conn.Exec(context.Background(), "CREATE TABLE counters (k INTEGER PRIMARY KEY, n INTEGER NOT NULL)"); err != nil {
		t.Fatal(err)
	}
	return s
}

// holdWriter occupies the writer until the returned function is called, so
// that writes submitted meanwhile queue up and share the next transaction.
func holdWriter(t *testing.T, c *conn) (release func()) {
	t.Helper()
	held, hold := make(chan struct{}), make(chan struct{})
	errc := make(chan error, 1)
	go func() {
		errc <- c.InTx(context.Background(), func(sqlstore.Querier) error {
			close(held)
			<-hold
			return nil
		})
	}()
	<-held
	return func() {
		close(hold)
		if err := <-errc; err != nil {
			t.Error(err)
		}
	}
}

func counter(t *testing.T, s *Store, k int) int {
	t.Helper()
	var n int
	if err := s.db.QueryRow("SELECT n FROM counters WHERE k = ?", k).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

var errFailedWork = errors.New("work failed after its statement")

// Writes that share a transaction keep their own outcomes: a key
// violation, a session error returned by multi-statement work, an invalid
// statement, work that fails after writing and a statement that makes
// SQLite roll back the whole transaction each affect only themselves;
// every other write of the batch is applied exactly once. Many rounds, each
// with the writer held so that the writes really share transactions.
func TestSharedTransactionIsolatesFailures(t *testing.T) {
	s := openForTest(t)
	ctx := context.Background()
	const goodRows, poison = 16, 1000
	for k := range goodRows {
		if _, err := s.conn.Exec(ctx, "INSERT INTO counters VALUES (?, 0)", k); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.conn.Exec(ctx, "INSERT INTO counters VALUES (?, 0)", poison); err != nil {
		t.Fatal(err)
	}
	// An update of the poison row through this trigger ends the whole
	// transaction, as SQLite may do after an I/O error or a full disk.
	if _, err := s.conn.Exec(ctx, `CREATE TRIGGER poison_rollback BEFORE UPDATE ON counters WHEN NEW.n < 0
		BEGIN SELECT RAISE(ROLLBACK, 'transaction rolled back'); END`); err != nil {
		t.Fatal(err)
	}
	increment := "UPDATE counters SET n = n + 1 WHERE k = ?"
	const rounds = 40
	want := make([]int, goodRows)
	for round := range rounds {
		release := holdWriter(t, s.conn)
		var wg sync.WaitGroup
		errs := make([]error, 5*goodRows)
		for i := range errs {
			k := i % goodRows
			switch kind := i / goodRows; kind {
			case 0, 1: // plain writes
				want[k]++
				wg.Go(func() { _, errs[i] = s.conn.Exec(ctx, increment, k) })
			case 2: // a key violation
				wg.Go(func() {
					_, err := s.conn.Exec(ctx, "INSERT INTO counters VALUES (?, 0)", k)
					if !Dialect.IsDuplicate(err) {
						errs[i] = fmt.Errorf("duplicate insert: %v", err)
					}
				})
			case 3: // multi-statement work that ends in a session error, or in a failure after writing
				wg.Go(func() {
					failure := session.ErrNotFound
					if (k+round)%4 == 0 {
						failure = errFailedWork
					}
					err := s.conn.InTx(ctx, func(q sqlstore.Querier) error {
						if _, err := q.Exec(ctx, increment, poison); err != nil {
							return err
						}
						return failure
					})
					if !errors.Is(err, failure) {
						errs[i] = fmt.Errorf("failing work: %v", err)
					}
				})
			case 4: // multi-statement work that succeeds, an invalid statement, or one that ends the transaction
				if k%5 == 0 {
					wg.Go(func() {
						if _, err := s.conn.Exec(ctx, "UPDATE no_such_table SET n = 1"); err == nil {
							errs[i] = errors.New("invalid statement succeeded")
						}
					})
					continue
				}
				if k%5 == 1 {
					wg.Go(func() {
						if _, err := s.conn.Exec(ctx, "UPDATE counters SET n = -1 WHERE k = ?", poison); err == nil {
							errs[i] = errors.New("update rolled back by the trigger succeeded")
						}
					})
					continue
				}
				want[k]++
				wg.Go(func() {
					errs[i] = s.conn.InTx(ctx, func(q sqlstore.Querier) error {
						_, err := q.Exec(ctx, increment, k)
						return err
					})
				})
			}
		}
		time.Sleep(20 * time.Millisecond) // let every write queue behind the held one
		release()
		wg.Wait()
		if err := errors.Join(errs...); err != nil {
			t.Fatalf("round %d: %v", round, err)
		}
	}
	for k := range goodRows {
		if got := counter(t, s, k); got != want[k] {
			t.Errorf("row %d: %d increments applied, want %d", k, got, want[k])
		}
	}
	if got := counter(t, s, poison); got != 0 {
		t.Errorf("failed work left %d writes behind", got)
	}
	if s.conn.w.sharedTxs.Load() < rounds {
		t.Errorf("only %d shared transactions in %d rounds: the writes did not batch", s.conn.w.sharedTxs.Load(), rounds)
	}
}

// A write whose caller gives up while it waits in the queue is never run;
// a write after Close is refused.
func TestQueuedWriteGivenUpIsNotRun(t *testing.T) {
	s := openForTest(t)
	ctx := context.Background()
	if _, err := s.conn.Exec(ctx, "INSERT INTO counters VALUES (1, 0)"); err != nil {
		t.Fatal(err)
	}
	for range 20 {
		release := holdWriter(t, s.conn)
		gaveUp, cancel := context.WithCancel(ctx)
		errc := make(chan error, 1)
		go func() {
			_, err := s.conn.Exec(gaveUp, "UPDATE counters SET n = n + 1 WHERE k = 1")
			errc <- err
		}()
		time.Sleep(5 * time.Millisecond)
		cancel()
		if err := <-errc; !errors.Is(err, context.Canceled) {
			t.Fatalf("given-up write: %v", err)
		}
		release()
	}
	if got := counter(t, s, 1); got != 0 {
		t.Fatalf("%d given-up writes ran", got)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := s.conn.Exec(ctx, "UPDATE counters SET n = 1"); !errors.Is(err, errClosed) {
		t.Fatalf("write after Close: %v", err)
	}
}

// Issue 25: writes run in the order they arrived. While the writer is
// busy, 200 writes queue one after the other (each enqueued before the
// next is sent); once it is free they run, in batches, in that order.
func TestWritesRunInArrivalOrder(t *testing.T) {
	s := openForTest(t)
	ctx := context.Background()
	if _, err := s.conn.Exec(ctx, "CREATE TABLE arrivals (seq INTEGER NOT NULL)"); err != nil {
		t.Fatal(err)
	}
	const n = 200
	release := holdWriter(t, s.conn)
	errc := make(chan error, n)
	for i := range n {
		go func() {
			_, err := s.conn.Exec(ctx, "INSERT INTO arrivals (seq) VALUES (?)", i)
			errc <- err
		}()
		// The write is queued before the next one is sent.
		for deadline := time.Now().Add(5 * time.Second); ; {
			s.conn.w.mu.Lock()
			queued := len(s.conn.w.queue)
			s.conn.w.mu.Unlock()
			if queued == i+1 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("write %d not queued: %d in the queue", i, queued)
			}
			time.Sleep(50 * time.Microsecond)
		}
	}
	release()
	for range n {
		if err := <-errc; err != nil {
			t.Fatal(err)
		}
	}
	rows, err := s.db.Query("SELECT seq FROM arrivals ORDER BY rowid")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	next := 0
	for rows.Next() {
		var seq int
		if err := rows.Scan(&seq); err != nil {
			t.Fatal(err)
		}
		if seq != next {
			t.Fatalf("write %d ran after write %d: not in arrival order", seq, next-1)
		}
		next++
	}
	if err := rows.Err(); err != nil || next != n {
		t.Fatalf("%d writes ran, %v", next, err)
	}
}

// Reads racing Close on a handle the store does not own: no statement is
// prepared after Close released them (before, one prepared meanwhile
// stayed registered on the caller's handle, never closed).
func TestReadsRacingCloseLeaveNoStatement(t *testing.T) {
	db, err := sql.Open("sqlite", DSN(filepath.Join(t.TempDir(), "r.db")))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ctx := context.Background()
	for round := range 30 {
		s, err := New(ctx, db, WithTable(fmt.Sprintf("race_%d", round)))
		if err != nil {
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		for i := range 8 {
			wg.Go(func() {
				for j := range 20 {
					var n int
					// Distinct texts: each is prepared on first use.
					s.conn.QueryRow(ctx, fmt.Sprintf("SELECT %d", round*1000+i*100+j)).Scan(&n)
				}
			})
		}
		wg.Go(func() { s.Close() })
		wg.Wait()
		left := 0
		s.conn.prepared.Range(func(any, any) bool { left++; return true })
		if left != 0 {
			t.Fatalf("round %d: %d statements prepared after Close stayed open", round, left)
		}
	}
}
