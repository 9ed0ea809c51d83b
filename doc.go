// Package session provides server-side HTTP sessions that are safe by
// default: a dictionary-like Session on every request through
// Manager.Handler, kept in a Store (memory, SQL, Redis, a cache in front of
// a database, or sealed in the cookie by a client-side store).
//
// A session here is a record in the store, found by the digest of a random
// token that the browser holds in a cookie: string keys with JSON values,
// the user it belongs to once Login has run, and its deadlines. Handlers
// read and write it as a dictionary; the manager decides when it is
// stored, renewed and ended.
//
// A minimal program, with sessions in memory:
//
//	store := memstore.New()
//	defer store.Stop()
//	sessions, err := session.New(store)
//	if err != nil {
//		log.Fatal(err)
//	}
//	mux := http.NewServeMux()
//	mux.HandleFunc("GET /", func(w http.ResponseWriter, r *http.Request) {
//		s := session.FromContext(r.Context())
//		n, _, err := session.Get[int](s, "visits")
//		if err != nil { // the store failed: never read as "no session"
//			http.Error(w, "try again", http.StatusServiceUnavailable)
//			return
//		}
//		s.Set("visits", n+1)
//		fmt.Fprintln(w, n+1)
//	})
//	log.Fatal(http.ListenAndServe(":8080", sessions.Handler(mux)))
//
// # Defaults and guarantees
//
// Tokens are 256 random bits; stores see only their SHA-256 digest. The
// cookie is __Host-sid with Secure, HttpOnly, SameSite=Lax and Path=/.
// Sessions end after 30 minutes idle or 12 hours in all.
//
//   - Strict tokens: a token the server did not issue is never adopted, and
//     loading never creates a record.
//   - Conditional writes: creating is insert-if-absent and updating needs
//     the record to still exist, so a slow request cannot bring back a
//     session that was logged out.
//   - Per-key merge: a write sends only the keys that changed, so
//     concurrent requests that change different keys all survive.
//   - Store errors are never "no session": the handler gets the error
//     (and may answer without the session: then nothing is saved); an
//     error it never saw, and a failed Login, Renew, Destroy or
//     revocation, is answered by the error handler (503 by default), and
//     nothing is overwritten (see Get).
//
// # The request path
//
// The middleware checks the cookie's token (43 base64url characters) and
// derives its digest; the store is read only when the handler first
// touches the session (one round trip on every store of this repository);
// the session is saved just before the first byte of the response header
// (WriteHeader, Write, Flush, ReadFrom, Hijack, or the handler's return),
// with Set-Cookie, Vary: Cookie and Cache-Control: no-store. A read-only
// request writes nothing until a tenth of the idle window has passed.
//
// # Stores
//
// In this module: memstore (memory), cookiestore (sealed in the cookie,
// with NewClientSide), tieredstore (a cache in front of a durable store,
// Django's cached_db). In modules of their own, so that an application
// downloads only its driver: github.com/sessionkit/session/stores/sqlitestore
// (SQLite, pure Go), .../stores/pgstore (PostgreSQL, pgx),
// .../stores/mysqlstore (MySQL, MariaDB), .../stores/redisstore (Redis
// standalone, Sentinel, Cluster), and .../stores/storeurl to open any of
// them from a URL. Every store passes the conformance suite of package
// sessiontest.
//
// # Login and logout
//
// Manager.Login gives the session a new token, binds the user and restarts
// the absolute deadline; logging in as another user than the session's
// drops its values. Manager.Destroy deletes the session and expires the
// cookie.
//
// # The revocation guarantee
//
// Once Manager.RevokeUser, Manager.RevokeOtherSessions,
// Manager.RevokeSession or Manager.Destroy has returned, no session that
// existed when the call started, nor any continuation of one by Renew or by
// a write, is accepted again, whatever runs concurrently, on every store of
// this repository: the stores revoke a user's sessions in one step that no
// renewal can slip through (UserIndex.DeleteByUser), and a logout that
// finds its session already moved by a renewal follows it
// (LineageDeleter). A Login that completes after a revocation began is a
// new authentication and starts a new session. The limits: a session
// renewed while still anonymous cannot be followed (it has no user index);
// with asynchronous replication (Redis Sentinel, Cluster) a failover can
// undo a logout unless the store waits for replicas (redisstore.WithWait);
// and following a renewal also ends another session of the same user
// created in the same millisecond. sessiontest.RevocationRace checks the
// guarantee on a store.
package session
