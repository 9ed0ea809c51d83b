-- Session table for sqlitestore (created automatically unless WithoutSchema).
-- Times are milliseconds since the Unix epoch (UTC), from the application's
-- clock. The primary key is the SHA-256 digest of the session token: the
-- token itself is never stored.
CREATE TABLE IF NOT EXISTS "sessions" (
	digest          BLOB    NOT NULL PRIMARY KEY CHECK (length(digest) = 32),
	data            TEXT    NOT NULL,               -- JSON object: key -> JSON value
	user_id         TEXT,                           -- NULL for anonymous sessions
	auth_at         INTEGER,                        -- login time, NULL if anonymous
	created_at      INTEGER NOT NULL,
	last_seen_at    INTEGER NOT NULL,               -- last written activity (throttled)
	idle_timeout_ms INTEGER NOT NULL DEFAULT 0,     -- per-session override, 0 = default
	idle_expires_at INTEGER NOT NULL,               -- sliding expiry
	abs_expires_at  INTEGER NOT NULL,               -- absolute deadline
	expires_at      INTEGER NOT NULL,               -- the earlier of the two, indexed
	expire_on_close INTEGER NOT NULL DEFAULT 0,
	version         INTEGER NOT NULL,               -- incremented by every write
	ip              TEXT    NOT NULL DEFAULT '',
	user_agent      TEXT    NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS "sessions_expires_at_idx" ON "sessions" (expires_at);
CREATE INDEX IF NOT EXISTS "sessions_user_id_idx" ON "sessions" (user_id) WHERE user_id IS NOT NULL;
