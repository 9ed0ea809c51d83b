-- Session table for pgstore (created automatically unless WithoutSchema).
-- Times are milliseconds since the Unix epoch (UTC), from the application's
-- clock. The primary key is the SHA-256 digest of the session token: the
-- token itself is never stored.
CREATE TABLE IF NOT EXISTS "sessions" (
	digest          bytea   NOT NULL PRIMARY KEY CHECK (octet_length(digest) = 32),
	data            json    NOT NULL,              -- JSON object: key -> JSON value (json keeps bytes and \u0000)
	user_id         text,                          -- NULL for anonymous sessions
	auth_at         bigint,                        -- login time, NULL if anonymous
	created_at      bigint  NOT NULL,
	last_seen_at    bigint  NOT NULL,              -- last written activity (throttled)
	idle_timeout_ms bigint  NOT NULL DEFAULT 0,    -- per-session override, 0 = default
	idle_expires_at bigint  NOT NULL,              -- sliding expiry
	abs_expires_at  bigint  NOT NULL,              -- absolute deadline
	expires_at      bigint  NOT NULL,              -- the earlier of the two, indexed
	expire_on_close boolean NOT NULL DEFAULT false,
	version         bigint  NOT NULL,              -- incremented by every write
	ip              text    NOT NULL DEFAULT '',
	user_agent      text    NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS "sessions_expires_at_idx" ON "sessions" (expires_at);
CREATE INDEX IF NOT EXISTS "sessions_user_id_idx" ON "sessions" (user_id) WHERE user_id IS NOT NULL;
