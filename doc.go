// Package session provides server-side HTTP sessions that are safe by
// default: a dictionary-like Session on every request through
// Manager.Handler, kept in a Store (memory, SQL, Redis, a cache in front of
// a database, or sealed in the cookie by a client-side store).
//
// # Defaults
//
// Tokens are 256 random bits; stores see only their SHA-256 digest. The
// cookie is __Host-sid with Secure, HttpOnly, SameSite=Lax and Path=/. A
// token the server did not issue is never adopted, loading never creates
// a record, and a store error is never taken for "no session". Sessions end
// after 30 minutes idle or 12 hours in all. Writes are conditional, so a
// slow request cannot bring back a session that was logged out, and
// concurrent requests that change different keys are merged.
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
