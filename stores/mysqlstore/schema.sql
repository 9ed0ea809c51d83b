-- Session table for mysqlstore (created automatically unless WithoutSchema).
-- MySQL 8 or MariaDB 10.5+. Times are milliseconds since the Unix epoch
-- (UTC), from the application's clock. The primary key is the SHA-256
-- digest of the session token: the token itself is never stored.
-- utf8mb4_bin: user ids and keys compare byte for byte.
CREATE TABLE IF NOT EXISTS `sessions` (
	digest          BINARY(32)   NOT NULL PRIMARY KEY,
	data            LONGTEXT     NOT NULL,             -- JSON object: key -> JSON value
	user_id         VARCHAR(255) NULL,                 -- NULL for anonymous sessions
	auth_at         BIGINT       NULL,                 -- login time, NULL if anonymous
	created_at      BIGINT       NOT NULL,
	last_seen_at    BIGINT       NOT NULL,             -- last written activity (throttled)
	idle_timeout_ms BIGINT       NOT NULL DEFAULT 0,   -- per-session override, 0 = default
	idle_expires_at BIGINT       NOT NULL,             -- sliding expiry
	abs_expires_at  BIGINT       NOT NULL,             -- absolute deadline
	expires_at      BIGINT       NOT NULL,             -- the earlier of the two, indexed
	expire_on_close TINYINT(1)   NOT NULL DEFAULT 0,
	version         BIGINT       NOT NULL,             -- incremented by every write
	ip              TEXT         NOT NULL,
	user_agent      TEXT         NOT NULL,
	KEY `sessions_expires_at_idx` (expires_at),
	KEY `sessions_user_id_idx` (user_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
