package sqlstore

import (
	"fmt"
	"regexp"
)

// Dialect holds what differs between SQL databases. The sqlitestore and
// mysqlstore modules provide the two dialects this repository supports.
type Dialect struct {
	// Name appears in error messages ("sqlite", "mysql").
	Name string
	// Quote quotes an identifier.
	Quote func(ident string) string
	// Schema returns the statements creating the table and its indexes.
	Schema func(quotedTable, table string) []string
	// Greatest is the SQL function returning the larger of two values.
	Greatest string
	// LockForUpdate is appended to the SELECT of the locked update path
	// (" FOR UPDATE" where the transaction does not already hold the write
	// lock, as SQLite's BEGIN IMMEDIATE does).
	LockForUpdate string
	// DeleteExpired is the statement deleting one batch of expired rows; it
	// takes (now, limit).
	DeleteExpired func(quotedTable string) string
	// IsDuplicate reports a primary-key violation.
	IsDuplicate func(error) bool
	// IsRetryable reports a deadlock, lock timeout, busy database or
	// serialization failure: the statement may succeed if tried again.
	IsRetryable func(error) bool
	// Numbered makes the store send numbered placeholders ($1, $2, ...,
	// as PostgreSQL wants) instead of question marks.
	Numbered bool
	// ValidTable checks a table name; nil means ValidTableName. A dialect
	// that accepts qualified names ("schema.table") checks them here and
	// quotes them in Quote.
	ValidTable func(name string) error
	// SchemaRace reports an error of a schema statement that only means
	// another server created the same object at the same moment (the
	// object exists); nil means none is expected.
	SchemaRace func(error) bool
	// Prepare makes the store prepare its statements once (database/sql
	// then keeps one prepared copy per connection) instead of sending the
	// SQL text with every call: worth it where the driver parses the SQL
	// on the client, as SQLite does (about 40% of a read).
	Prepare bool
}

var identRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]{0,62}$`)

// ValidTableName checks a table name: letters, digits and underscores, not
// starting with a digit, at most 63 characters. Table names are never taken
// from client input, but they are interpolated into SQL, so they are checked
// anyway.
func ValidTableName(name string) error {
	if !identRE.MatchString(name) {
		return fmt.Errorf("sqlstore: invalid table name %q: use letters, digits and underscores", name)
	}
	return nil
}
