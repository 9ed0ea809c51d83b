package redisstore

import "github.com/redis/go-redis/v9"

// Every script touches only keys of one hash slot: a session hash and the
// expiry index shard that shares its hash tag. Values live in fields "v:<key>";
// metadata in fields starting with "_", which no value field can collide with.

// createScript: KEYS = session, shard; ARGV = expires_at ms, member, then
// field/value pairs. Insert if absent.
var createScript = redis.NewScript(`
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
local n = #ARGV
local i = 3
while i <= n do
	local j = math.min(i + 199, n)
	redis.call('HSET', KEYS[1], unpack(ARGV, i, j))
	i = j + 1
end
redis.call('PEXPIREAT', KEYS[1], ARGV[1])
redis.call('ZADD', KEYS[2], ARGV[1], ARGV[2])
return 1
`)

// updateScript: KEYS = session, shard; ARGV = member, clear, last seen,
// idle expiry, set expiry, idle timeout ms, expire on close, number of
// deleted keys, deleted fields..., field/value pairs. Applies a change to an
// existing session only; returns 0 when the session is gone.
var updateScript = redis.NewScript(`
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
if ARGV[2] == '1' then
	local fields = redis.call('HKEYS', KEYS[1])
	for _, f in ipairs(fields) do
		if string.sub(f, 1, 2) == 'v:' then redis.call('HDEL', KEYS[1], f) end
	end
end
local ndel = tonumber(ARGV[8])
for i = 9, 8 + ndel do redis.call('HDEL', KEYS[1], ARGV[i]) end
local n = #ARGV
local i = 9 + ndel
while i <= n do
	local j = math.min(i + 199, n)
	redis.call('HSET', KEYS[1], unpack(ARGV, i, j))
	i = j + 1
end
local seen = tonumber(ARGV[3])
if seen > tonumber(redis.call('HGET', KEYS[1], '_s') or '0') then redis.call('HSET', KEYS[1], '_s', ARGV[3]) end
local ie = tonumber(ARGV[4])
if ARGV[5] == '1' then
	redis.call('HSET', KEYS[1], '_ie', ARGV[4], '_it', ARGV[6], '_oc', ARGV[7])
elseif ie > tonumber(redis.call('HGET', KEYS[1], '_ie') or '0') then
	redis.call('HSET', KEYS[1], '_ie', ARGV[4])
end
redis.call('HINCRBY', KEYS[1], '_v', 1)
local exp = math.min(tonumber(redis.call('HGET', KEYS[1], '_ie')), tonumber(redis.call('HGET', KEYS[1], '_ae')))
redis.call('PEXPIREAT', KEYS[1], exp)
redis.call('ZADD', KEYS[2], exp, ARGV[1])
return 1
`)

// touchScript: KEYS = session, shard; ARGV = member, last seen, idle expiry.
// Moves the expiry forward only; returns 0 when the session is gone.
var touchScript = redis.NewScript(`
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
if tonumber(ARGV[2]) > tonumber(redis.call('HGET', KEYS[1], '_s') or '0') then redis.call('HSET', KEYS[1], '_s', ARGV[2]) end
if tonumber(ARGV[3]) > tonumber(redis.call('HGET', KEYS[1], '_ie') or '0') then redis.call('HSET', KEYS[1], '_ie', ARGV[3]) end
local exp = math.min(tonumber(redis.call('HGET', KEYS[1], '_ie')), tonumber(redis.call('HGET', KEYS[1], '_ae')))
redis.call('PEXPIREAT', KEYS[1], exp)
redis.call('ZADD', KEYS[2], exp, ARGV[1])
return 1
`)

// deleteScript: KEYS = session, shard; ARGV = member. Returns the user id
// of the deleted session ("" for anonymous) or false when there was none.
var deleteScript = redis.NewScript(`
local user = redis.call('HGET', KEYS[1], '_u')
local n = redis.call('DEL', KEYS[1])
redis.call('ZREM', KEYS[2], ARGV[1])
if n == 0 then return false end
return user or ''
`)

// renewScript (single-node deployments only): KEYS = old session, old
// shard, new session, new shard, user index (or the new session again when
// anonymous); ARGV = old member, new member, expires_at ms, user, then
// field/value pairs. Moves a session atomically: 0 when the old one is
// gone, -1 when the new key exists, 1 on success.
var renewScript = redis.NewScript(`
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
if redis.call('EXISTS', KEYS[3]) == 1 then return -1 end
redis.call('DEL', KEYS[1])
redis.call('ZREM', KEYS[2], ARGV[1])
local n = #ARGV
local i = 5
while i <= n do
	local j = math.min(i + 199, n)
	redis.call('HSET', KEYS[3], unpack(ARGV, i, j))
	i = j + 1
end
redis.call('PEXPIREAT', KEYS[3], ARGV[3])
redis.call('ZADD', KEYS[4], ARGV[3], ARGV[2])
if ARGV[4] ~= '' then
	redis.call('SADD', KEYS[5], ARGV[2])
	redis.call('PEXPIREAT', KEYS[5], ARGV[3], 'GT')
	if redis.call('PTTL', KEYS[5]) < 0 then redis.call('PEXPIREAT', KEYS[5], ARGV[3]) end
end
return 1
`)

// indexAddScript: KEYS = user index; ARGV = member, expires_at ms. Adds a
// session to a user's set and keeps the set alive as long as its longest
// session.
var indexAddScript = redis.NewScript(`
redis.call('SADD', KEYS[1], ARGV[1])
local ttl = redis.call('PTTL', KEYS[1])
if ttl < 0 then
	redis.call('PEXPIREAT', KEYS[1], ARGV[2])
else
	redis.call('PEXPIREAT', KEYS[1], ARGV[2], 'GT')
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
