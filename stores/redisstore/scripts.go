package redisstore

import "github.com/redis/go-redis/v9"

// Every script touches only keys of one hash slot: a session hash and the
// expiry index shard that shares its hash tag. Values live in fields
// "v:<key>"; metadata in fields starting with "_": "_m" holds the expiry
// numbers (see metaPattern), "_v" the version, "_u", "_ip" and "_ua" the
// strings, present only when not empty. No value field can collide with
// them. A shard member is the digest (32 raw bytes) followed by the user id,
// so the cleaner can prune the user index of sessions Redis expired itself.

// Each redis.call costs Redis more than the Lua around it, and each
// function a script defines is a closure Redis builds on every call, so
// the scripts make as few calls as they can (HMGET for several fields, the
// version's increment as the existence check), inline their loops and
// keep the metadata's numbers as strings.

// chunkedLua returns Lua that runs cmd on key with the arguments
// ARGV[first..last] in chunks of 200 (Lua's unpack has a stack limit; an
// even size never splits a field from its value); key, first and last are
// Lua expressions.
func chunkedLua(cmd, key, first, last string) string {
	return `
do
	local i, last = ` + first + `, ` + last + `
	while i <= last do
		local j = math.min(i + 199, last)
		redis.call('` + cmd + `', ` + key + `, unpack(ARGV, i, j))
		i = j + 1
	end
end
`
}

// metaPattern matches the "_m" field: created, last seen, idle timeout ms,
// idle expiry, absolute expiry, expire on close (0/1), auth time (0: none),
// all decimal integers. The scripts keep its parts as strings (compared
// with tonumber, joined with table.concat), which costs Redis far less
// than converting every part back and forth.
const metaPattern = `'^(%-?%d+),(%-?%d+),(%-?%d+),(%-?%d+),(%-?%d+),(%-?%d+),(%-?%d+)$'`

// saveMetaLua ends the scripts that move a session's expiry: with m the
// parts of its "_m" and cur its HMGET of "_m" and "_u", it writes "_m"
// back and moves the TTL of session k and its entry in the expiry shard
// (KEYS[2], member ARGV[1] followed by the user id) to the earlier of the
// idle and the absolute expiry.
const saveMetaLua = `
redis.call('HSET', k, '_m', table.concat(m, ','))
local exp = m[5]
if tonumber(m[4]) < tonumber(exp) then exp = m[4] end
redis.call('PEXPIREAT', k, exp)
redis.call('ZADD', KEYS[2], exp, ARGV[1] .. (cur[2] or ''))
return 1
`

// createScript: KEYS = session, shard, and optionally the user index;
// ARGV = expires_at ms, member, then field/value pairs. Insert if absent;
// the user index gets the digest (the member's first 32 bytes) only when
// the session was created. On Cluster the user index is in another slot and
// the caller adds to it itself.
var createScript = redis.NewScript(`
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
` + chunkedLua("HSET", "KEYS[1]", "3", "#ARGV") + `
redis.call('PEXPIREAT', KEYS[1], ARGV[1])
redis.call('ZADD', KEYS[2], ARGV[1], ARGV[2])
if KEYS[3] then redis.call('SADD', KEYS[3], string.sub(ARGV[2], 1, 32)) end
return 1
`)

// updateScript: KEYS = session, shard; ARGV = digest, clear, last seen,
// idle expiry, set expiry, idle timeout ms, expire on close, number of
// deleted keys, deleted fields..., field/value pairs. Applies a change to an
// existing session only; returns 0 when the session is gone. The
// version's increment is the existence check: when it yields 1 and the
// hash holds nothing else, there was no session and the increment created
// the hash, which goes again (a session always holds "_m" too). A change
// that records no activity (last seen 0) and keeps the expiry policy
// writes the changed fields and the version only: the common write, two
// commands.
var updateScript = redis.NewScript(`
local k = KEYS[1]
if redis.call('HINCRBY', k, '_v', 1) == 1 and redis.call('HLEN', k) == 1 then
	redis.call('DEL', k)
	return 0
end
if ARGV[2] == '1' then
	local vs = {}
	for _, f in ipairs(redis.call('HKEYS', k)) do
		if string.sub(f, 1, 2) == 'v:' then vs[#vs + 1] = f end
	end
	for i = 1, #vs, 200 do redis.call('HDEL', k, unpack(vs, i, math.min(i + 199, #vs))) end
end
local ndel = tonumber(ARGV[8])
` + chunkedLua("HDEL", "k", "9", "8 + ndel") + chunkedLua("HSET", "k", "9 + ndel", "#ARGV") + `
if ARGV[3] == '0' and ARGV[5] == '0' then return 1 end
local cur = redis.call('HMGET', k, '_m', '_u')
local m = {string.match(cur[1] or '', ` + metaPattern + `)}
if tonumber(ARGV[3]) > tonumber(m[2]) then m[2] = ARGV[3] end
if ARGV[5] == '1' then
	m[3], m[4], m[6] = ARGV[6], ARGV[4], ARGV[7]
elseif tonumber(ARGV[4]) > tonumber(m[4]) then
	m[4] = ARGV[4]
end
` + saveMetaLua)

// touchScript: KEYS = session, shard; ARGV = digest, last seen, idle expiry.
// Moves the expiry forward only; returns 0 when the session is gone (every
// session has "_m").
var touchScript = redis.NewScript(`
local k = KEYS[1]
local cur = redis.call('HMGET', k, '_m', '_u')
if not cur[1] then return 0 end
local m = {string.match(cur[1], ` + metaPattern + `)}
if tonumber(ARGV[2]) > tonumber(m[2]) then m[2] = ARGV[2] end
if tonumber(ARGV[3]) > tonumber(m[4]) then m[4] = ARGV[3] end
` + saveMetaLua)

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
var renewScript = redis.NewScript(`
local old = redis.call('HMGET', KEYS[1], '_m', '_u')
if not old[1] then return 0 end
if redis.call('EXISTS', KEYS[3]) == 1 then return -1 end
local olduser = old[2] or ''
redis.call('DEL', KEYS[1])
redis.call('ZREM', KEYS[2], ARGV[1] .. olduser)
` + chunkedLua("HSET", "KEYS[3]", "5", "#ARGV") + `
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
