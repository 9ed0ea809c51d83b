package redisstore

import "github.com/redis/go-redis/v9"

// Every script touches only keys of one hash slot: a session hash and the
// expiry index shard that shares its hash tag. Values live in fields
// "v:<key>"; metadata in fields starting with "_": "_m" holds the expiry
// numbers (see metaLua), "_v" the version, "_u", "_ip" and "_ua" the
// strings, present only when not empty. No value field can collide with
// them. A shard member is the digest (32 raw bytes) followed by the user id,
// so the cleaner can prune the user index of sessions Redis expired itself.

// pairsLua writes field/value pairs from ARGV in chunks (Lua's unpack
// has a stack limit).
const pairsLua = `
local function chunked(cmd, k, first, last, step)
	local i = first
	while i <= last do
		local j = math.min(i + step - 1, last)
		redis.call(cmd, k, unpack(ARGV, i, j))
		i = j + 1
	end
end
local function hsetpairs(k, first)
	chunked('HSET', k, first, #ARGV, 200)
end
`

// metaLua reads and writes the "_m" field: created, last seen, idle
// timeout ms, idle expiry, absolute expiry, expire on close (0/1), auth
// time (0: none), all integers. Each helper a script defines costs Redis a
// closure per call, so scripts carry only the helpers they use, and define
// them after any early return.
const metaLua = `
local function getmeta(k)
	local m = {}
	for v in string.gmatch(redis.call('HGET', k, '_m') or '', '[^,]+') do m[#m + 1] = tonumber(v) end
	return m
end
local function setmeta(k, m)
	local parts = {}
	for i = 1, #m do parts[i] = string.format('%d', m[i]) end
	redis.call('HSET', k, '_m', table.concat(parts, ','))
end
local function member(k, digest)
	return digest .. (redis.call('HGET', k, '_u') or '')
end
`

// createScript: KEYS = session, shard, and optionally the user index;
// ARGV = expires_at ms, member, then field/value pairs. Insert if absent;
// the user index gets the digest (the member's first 32 bytes) only when
// the session was created. On Cluster the user index is in another slot and
// the caller adds to it itself.
var createScript = redis.NewScript(pairsLua + `
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
hsetpairs(KEYS[1], 3)
redis.call('PEXPIREAT', KEYS[1], ARGV[1])
redis.call('ZADD', KEYS[2], ARGV[1], ARGV[2])
if KEYS[3] then redis.call('SADD', KEYS[3], string.sub(ARGV[2], 1, 32)) end
return 1
`)

// updateScript: KEYS = session, shard; ARGV = digest, clear, last seen,
// idle expiry, set expiry, idle timeout ms, expire on close, number of
// deleted keys, deleted fields..., field/value pairs. Applies a change to an
// existing session only; returns 0 when the session is gone. A change that
// records no activity (last seen 0) and keeps the expiry policy writes the
// changed fields and the version only: the common write, a few commands.
var updateScript = redis.NewScript(pairsLua + `
local k = KEYS[1]
if redis.call('EXISTS', k) == 0 then return 0 end
if ARGV[2] == '1' then
	local fields = redis.call('HKEYS', k)
	for _, f in ipairs(fields) do
		if string.sub(f, 1, 2) == 'v:' then redis.call('HDEL', k, f) end
	end
end
local ndel = tonumber(ARGV[8])
chunked('HDEL', k, 9, 8 + ndel, 200)
hsetpairs(k, 9 + ndel)
redis.call('HINCRBY', k, '_v', 1)
if ARGV[3] == '0' and ARGV[5] == '0' then return 1 end
` + metaLua + `
local m = getmeta(k)
local seen, ie = tonumber(ARGV[3]), tonumber(ARGV[4])
if seen > m[2] then m[2] = seen end
if ARGV[5] == '1' then
	m[3], m[4], m[6] = tonumber(ARGV[6]), ie, tonumber(ARGV[7])
elseif ie > m[4] then
	m[4] = ie
end
setmeta(k, m)
local exp = math.min(m[4], m[5])
redis.call('PEXPIREAT', k, exp)
redis.call('ZADD', KEYS[2], exp, member(k, ARGV[1]))
return 1
`)

// touchScript: KEYS = session, shard; ARGV = digest, last seen, idle expiry.
// Moves the expiry forward only; returns 0 when the session is gone.
var touchScript = redis.NewScript(`
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
` + metaLua + `
local m = getmeta(KEYS[1])
local seen, ie = tonumber(ARGV[2]), tonumber(ARGV[3])
if seen > m[2] then m[2] = seen end
if ie > m[4] then m[4] = ie end
setmeta(KEYS[1], m)
local exp = math.min(m[4], m[5])
redis.call('PEXPIREAT', KEYS[1], exp)
redis.call('ZADD', KEYS[2], exp, member(KEYS[1], ARGV[1]))
return 1
`)

// deleteScript: KEYS = session, shard; ARGV = digest, user id when known
// ("" otherwise). Returns the user id of the deleted session ("" for
// anonymous) or false when there was none.
var deleteScript = redis.NewScript(`
local user = redis.call('HGET', KEYS[1], '_u') or ARGV[2]
local n = redis.call('DEL', KEYS[1])
redis.call('ZREM', KEYS[2], ARGV[1] .. user)
if n == 0 then return false end
return user
`)

// takeScript (Cluster logins): KEYS = session, shard; ARGV = digest.
// Deletes the session and its shard entry and returns its fields and
// values as HGETALL does, or false when there was none, so that the caller
// can put it back if the session replacing it cannot be created.
var takeScript = redis.NewScript(`
local h = redis.call('HGETALL', KEYS[1])
if #h == 0 then return false end
local user = ''
for i = 1, #h, 2 do
	if h[i] == '_u' then user = h[i + 1] end
end
redis.call('DEL', KEYS[1])
redis.call('ZREM', KEYS[2], ARGV[1] .. user)
return h
`)

// renewScript (single-node deployments only): KEYS = old session, old
// shard, new session, new shard, user index (or the new session again when
// anonymous); ARGV = old digest, new member, expires_at ms, user, then
// field/value pairs. Moves a session atomically: 0 when the old one is
// gone, -1 when the new key exists, 1 on success.
var renewScript = redis.NewScript(pairsLua + `
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
if redis.call('EXISTS', KEYS[3]) == 1 then return -1 end
local olduser = redis.call('HGET', KEYS[1], '_u') or ''
redis.call('DEL', KEYS[1])
redis.call('ZREM', KEYS[2], ARGV[1] .. olduser)
hsetpairs(KEYS[3], 5)
redis.call('PEXPIREAT', KEYS[3], ARGV[3])
redis.call('ZADD', KEYS[4], ARGV[3], ARGV[2])
if ARGV[4] ~= '' then
	if olduser == ARGV[4] then redis.call('SREM', KEYS[5], ARGV[1]) end
	redis.call('SADD', KEYS[5], string.sub(ARGV[2], 1, 32))
end
return 1
`)

// expireScript: KEYS = session, shard; ARGV = member, now ms. Deletes the
// session only if it is still expired at now (a concurrent touch may have
// extended it since the shard was read) and drops its shard entry; returns
// 1 when it removed an expired entry.
var expireScript = redis.NewScript(`
local exp = redis.call('ZSCORE', KEYS[2], ARGV[1])
if not exp or tonumber(exp) > tonumber(ARGV[2]) then return 0 end
redis.call('DEL', KEYS[1])
redis.call('ZREM', KEYS[2], ARGV[1])
return 1
`)
