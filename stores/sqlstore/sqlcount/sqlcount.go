// Package sqlcount wraps a database/sql driver and counts the statements
// and transactions sent through it, so tests and benchmarks can show how
// many round trips a request costs.
package sqlcount

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"sync/atomic"
)

// Counter is a driver.Connector that counts what passes through it.
type Counter struct {
	drv        driver.Driver
	dsn        string
	statements atomic.Int64
	txs        atomic.Int64
}

// Open returns a *sql.DB using drv with dsn, counting through c.
func Open(drv driver.Driver, dsn string) (*sql.DB, *Counter) {
	c := &Counter{drv: drv, dsn: dsn}
	return sql.OpenDB(c), c
}

// Statements returns the number of statements executed or queried.
func (c *Counter) Statements() int64 { return c.statements.Load() }

// Transactions returns the number of transactions begun.
func (c *Counter) Transactions() int64 { return c.txs.Load() }

// Reset sets both counts to zero.
func (c *Counter) Reset() { c.statements.Store(0); c.txs.Store(0) }

// Connect opens a counted connection.
func (c *Counter) Connect(ctx context.Context) (driver.Conn, error) {
	var (
		conn driver.Conn
		err  error
	)
	if dc, ok := c.drv.(driver.DriverContext); ok {
		var connector driver.Connector
		if connector, err = dc.OpenConnector(c.dsn); err != nil {
			return nil, err
		}
		conn, err = connector.Connect(ctx)
	} else {
		conn, err = c.drv.Open(c.dsn)
	}
	if err != nil {
		return nil, err
	}
	return &countConn{Conn: conn, c: c}, nil
}

// Driver returns the wrapped driver.
func (c *Counter) Driver() driver.Driver { return c.drv }

type countConn struct {
	driver.Conn
	c *Counter
}

func (cc *countConn) ExecContext(ctx context.Context, q string, args []driver.NamedValue) (driver.Result, error) {
	e, ok := cc.Conn.(driver.ExecerContext)
	if !ok {
		return nil, driver.ErrSkip
	}
	r, err := e.ExecContext(ctx, q, args)
	if err != driver.ErrSkip {
		cc.c.statements.Add(1)
	}
	return r, err
}

func (cc *countConn) QueryContext(ctx context.Context, q string, args []driver.NamedValue) (driver.Rows, error) {
	qc, ok := cc.Conn.(driver.QueryerContext)
	if !ok {
		return nil, driver.ErrSkip
	}
	r, err := qc.QueryContext(ctx, q, args)
	if err != driver.ErrSkip {
		cc.c.statements.Add(1)
	}
	return r, err
}

func (cc *countConn) PrepareContext(ctx context.Context, q string) (driver.Stmt, error) {
	var (
		st  driver.Stmt
		err error
	)
	if pc, ok := cc.Conn.(driver.ConnPrepareContext); ok {
		st, err = pc.PrepareContext(ctx, q)
	} else {
		st, err = cc.Conn.Prepare(q)
	}
	if err != nil {
		return nil, err
	}
	return &countStmt{Stmt: st, c: cc.c}, nil
}

func (cc *countConn) BeginTx(ctx context.Context, opts driver.TxOptions) (driver.Tx, error) {
	cc.c.txs.Add(1)
	if b, ok := cc.Conn.(driver.ConnBeginTx); ok {
		return b.BeginTx(ctx, opts)
	}
	//lint:ignore SA1019 fallback for drivers without ConnBeginTx
	return cc.Conn.Begin()
}

func (cc *countConn) Ping(ctx context.Context) error {
	if p, ok := cc.Conn.(driver.Pinger); ok {
		return p.Ping(ctx)
	}
	return nil
}

func (cc *countConn) ResetSession(ctx context.Context) error {
	if r, ok := cc.Conn.(driver.SessionResetter); ok {
		return r.ResetSession(ctx)
	}
	return nil
}

func (cc *countConn) IsValid() bool {
	if v, ok := cc.Conn.(driver.Validator); ok {
		return v.IsValid()
	}
	return true
}

func (cc *countConn) CheckNamedValue(nv *driver.NamedValue) error {
	if n, ok := cc.Conn.(driver.NamedValueChecker); ok {
		return n.CheckNamedValue(nv)
	}
	return driver.ErrSkip
}

type countStmt struct {
	driver.Stmt
	c *Counter
}

func (s *countStmt) ExecContext(ctx context.Context, args []driver.NamedValue) (driver.Result, error) {
	s.c.statements.Add(1)
	if e, ok := s.Stmt.(driver.StmtExecContext); ok {
		return e.ExecContext(ctx, args)
	}
	vals := make([]driver.Value, len(args))
	for i, a := range args {
		vals[i] = a.Value
	}
	//lint:ignore SA1019 fallback for drivers without StmtExecContext
	return s.Stmt.Exec(vals)
}

func (s *countStmt) QueryContext(ctx context.Context, args []driver.NamedValue) (driver.Rows, error) {
	s.c.statements.Add(1)
	if q, ok := s.Stmt.(driver.StmtQueryContext); ok {
		return q.QueryContext(ctx, args)
	}
	vals := make([]driver.Value, len(args))
	for i, a := range args {
		vals[i] = a.Value
	}
	//lint:ignore SA1019 fallback for drivers without StmtQueryContext
	return s.Stmt.Query(vals)
}

func (s *countStmt) CheckNamedValue(nv *driver.NamedValue) error {
	if n, ok := s.Stmt.(driver.NamedValueChecker); ok {
		return n.CheckNamedValue(nv)
	}
	return driver.ErrSkip
}
