package redisstore

import "github.com/redis/go-redis/v9"

// Every script touches only keys of one hash slot: a session hash and the
// expiry index shard that shares its hash tag. Values live in fields
// "v:<key>"; metadata in fields starting with "_" (see fields): "_m"
// created (and for a logged-in session ",auth" relative to it), "_l" last seen, "_i" idle expiry, "_a" absolute expiry (ms),
// "_v" the version, "_s" the values' size, and when not at their default
// "_o" idle timeout, "_c" expire on close, "_u", "_ip",
// "_ua". No value field can collide with them. A shard member is the
// digest (32 raw bytes) followed by the user id, so the cleaner can prune
// the user index of sessions Redis expired itself.

// Each redis.call costs Redis more than the Lua around it, and each
// function a script defines is a closure Redis builds on every call, so
// the scripts make as few calls as they can (HMGET for several fields; a
// write without activity uses the version's increment as its existence
// check) and inline their loops. Each argument and each field read or
// written costs about as much as a small command, so the scripts take and
// touch as few as they can.

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

// saveExpiryLua ends the scripts that move a session's expiry: with ie
// its new idle expiry, abs its absolute expiry and member its entry in the
// expiry shard KEYS[2] (the digest followed by the user id), it moves the
// TTL of session k and the entry's score to the earlier of the two.
const saveExpiryLua = `
local exp = abs
if tonumber(ie) < tonumber(abs) then exp = ie end
redis.call('PEXPIREAT', k, exp)
redis.call('ZADD', KEYS[2], exp, member)
return 1
`

// createScript: KEYS = session, shard, and optionally the user index;
// ARGV = expires_at ms, member, then field/value pairs. Insert if absent;
// the user index gets the digest (the member's first 32 bytes) only when
// the session was created. On Cluster the user index is in another slot and
// the caller adds to it itself.
var createScript = redis.NewScript(`
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
if #ARGV <= 202 then
	redis.call('HSET', KEYS[1], unpack(ARGV, 3))
else
` + chunkedLua("HSET", "KEYS[1]", "3", "#ARGV") + `
end
redis.call('PEXPIREAT', KEYS[1], ARGV[1])
redis.call('ZADD', KEYS[2], ARGV[1], ARGV[2])
if KEYS[3] then redis.call('HSET', KEYS[3], string.sub(ARGV[2], 1, 32), '') end
return 1
`)

// updateScript: KEYS = session, shard; ARGV = digest (or the whole shard
// member, digest and user id, when ARGV[6] is not empty), clear, last
// seen, idle expiry, set expiry, absolute expiry ms (or "" when the caller
// does not know it), unused, maximum size
// (0: none), number of deleted keys, number of set keys, the version the
// caller read (-1: unknown), the size it read, the size it computed with
// the change, deleted fields..., the set keys' field/value pairs, other
// field/value pairs ("_ip", "_ua", and "_o", "_c" when the expiry policy
// is set), then, when the change records activity (last seen not 0) or
// sets the expiry policy, the placeholders "_v", "", "_l", "", "_i", ""
// for the script to fill in, ending with the pair "_s", "" when the change
// touches values. Applies a change to an existing session only; returns 0
// when the session is gone.
//
// A change without activity increments the version first, which is its
// existence check: when it yields 1 and the hash holds nothing else, there
// was no session and the increment created the hash, which goes again (a
// session always holds "_m" too); when it yields less than 1, the key is a
// tombstone (see killScript), which is left as it was. A change with
// activity reads the version with the expiry fields instead (a session
// always holds "_l"; a tombstone has not) and writes the incremented
// version, last seen and idle expiry in the HSET of its values: four
// commands (HMGET, HSET, PEXPIREAT, ZADD) where it took six.
//
// "_s" keeps the size of the session's values (Record.Size). When the
// version shows that nothing was written since the caller read the
// session, the caller's sizes are the stored ones. Otherwise a change of
// values reads the size with the old values of the fields it changes, in
// one HMGET, and computes the merged size. Either way, before writing
// anything: beyond the maximum, and larger than before (a change that
// shrinks a session over a lowered limit goes through), it writes nothing
// and returns -1; otherwise the new size is written in the HSET of the
// values.
//
// A change that records no activity (last seen 0) and keeps the expiry
// policy writes the changed fields, the size and the version only: the
// common write, two commands.
var updateScript = redis.NewScript(`
local k = KEYS[1]
local n = #ARGV
local sized = ARGV[n - 1] == '_s'
local meta = n
if sized then meta = n - 2 end
local activity = ARGV[3] ~= '0' or ARGV[5] == '1'
local v, cur
if activity then
	-- ARGV[6] is the absolute expiry and ARGV[1] the whole shard member
	-- when the caller knows them (they do not change in a session's life);
	-- otherwise they are read. Each field read or written costs Redis
	-- about as much as a small command.
	if ARGV[6] == '' then
		cur = redis.call('HMGET', k, '_v', '_l', '_i', '_a', '_u')
	else
		cur = redis.call('HMGET', k, '_v', '_l', '_i')
	end
	if not cur[2] then return 0 end
	v = tonumber(cur[1]) + 1
else
	v = redis.call('HINCRBY', k, '_v', 1)
	if v < 2 then
		if v == 1 and redis.call('HLEN', k) == 1 then
			redis.call('DEL', k)
			return 0
		end
		if v < 1 then
			redis.call('HINCRBY', k, '_v', -1)
			return 0
		end
	end
end
local ndel, nset = tonumber(ARGV[9]), tonumber(ARGV[10])
local first = 14 + ndel
local last = first + 2 * nset - 2
if sized then
	local size, before
	if v == tonumber(ARGV[11]) + 1 then
		-- Nothing was written since the caller read the session: its view
		-- of the sizes is the stored one.
		size, before = tonumber(ARGV[13]), tonumber(ARGV[12])
	elseif ARGV[2] == '1' then
		size, before = 0, 0
		for i = first, last, 2 do size = size + #ARGV[i] - 2 + #ARGV[i + 1] end
	else
		local q = {'_s'}
		for i = 14, 13 + ndel do q[#q + 1] = ARGV[i] end
		for i = first, last, 2 do q[#q + 1] = ARGV[i] end
		local old
		if #q <= 200 then
			old = redis.call('HMGET', k, unpack(q))
		else
			old = {}
			for i = 1, #q, 200 do
				local part = redis.call('HMGET', k, unpack(q, i, math.min(i + 199, #q)))
				for j = 1, #part do old[#old + 1] = part[j] end
			end
		end
		size = tonumber(old[1]) or 0
		before = size
		for j = 2, #q do
			if old[j] then size = size - #q[j] + 2 - #old[j] end
		end
		for i = first, last, 2 do size = size + #ARGV[i] - 2 + #ARGV[i + 1] end
	end
	local max = tonumber(ARGV[8])
	if max > 0 and size > max and size > before then
		if not activity then redis.call('HINCRBY', k, '_v', -1) end
		return -1
	end
	ARGV[n] = size
end
if ARGV[2] == '1' then
	local vs = {}
	for _, f in ipairs(redis.call('HKEYS', k)) do
		if string.sub(f, 1, 2) == 'v:' then vs[#vs + 1] = f end
	end
	for i = 1, #vs, 200 do redis.call('HDEL', k, unpack(vs, i, math.min(i + 199, #vs))) end
end
if ndel > 0 then
` + chunkedLua("HDEL", "k", "14", "13 + ndel") + `
end
if not activity then
	if first <= n then
` + chunkedLua("HSET", "k", "first", "n") + `
	end
	return 1
end
local ls, ie, abs, member = cur[2], cur[3], ARGV[6], ARGV[1]
if abs == '' then abs, member = cur[4], ARGV[1] .. (cur[5] or '') end
if tonumber(ARGV[3]) > tonumber(ls) then ls = ARGV[3] end
if ARGV[5] == '1' then
	ie = ARGV[4]
elseif tonumber(ARGV[4]) > tonumber(ie) then
	ie = ARGV[4]
end
ARGV[meta - 4], ARGV[meta - 2], ARGV[meta] = v, ls, ie
` + chunkedLua("HSET", "k", "first", "n") + saveExpiryLua)

// touchScript: KEYS = session, shard; ARGV = digest, last seen, idle expiry.
// Moves the expiry forward only; returns 0 when the session is gone (every
// session has "_l"; a tombstone has not).
var touchScript = redis.NewScript(`
local k = KEYS[1]
local cur = redis.call('HMGET', k, '_l', '_i', '_a', '_u')
if not cur[1] then return 0 end
local ls, ie, abs, member = cur[1], cur[2], cur[3], ARGV[1] .. (cur[4] or '')
if tonumber(ARGV[2]) > tonumber(ls) then ls = ARGV[2] end
if tonumber(ARGV[3]) > tonumber(ie) then ie = ARGV[3] end
redis.call('HSET', k, '_l', ls, '_i', ie)
` + saveExpiryLua)

// deleteScript: KEYS = session, shard; ARGV = digest, user id when known
// ("" otherwise). Returns the user id of the deleted session ("" for
// anonymous) or false when there was none. A tombstone stays: it is not
// a session, and it must outlive the creation it is there to stop.
var deleteScript = redis.NewScript(`
local cur = redis.call('HMGET', KEYS[1], '_u', '_t')
if cur[2] then return false end
local user = cur[1] or ARGV[2]
local n = redis.call('DEL', KEYS[1])
redis.call('ZREM', KEYS[2], ARGV[1] .. user)
if n == 0 then return false end
return user
`)

// takeScript (Cluster logins): KEYS = session, shard; ARGV = digest.
// Deletes the session and its shard entry and returns its fields and
// values as HGETALL does, or false when there was none, so that the caller
// can put it back if the session replacing it cannot be created. A
// tombstone counts as no session.
var takeScript = redis.NewScript(`
local h = redis.call('HGETALL', KEYS[1])
if #h == 0 then return false end
local user = ''
for i = 1, #h, 2 do
	if h[i] == '_u' then user = h[i + 1] end
	if h[i] == '_t' then return false end
end
redis.call('DEL', KEYS[1])
redis.call('ZREM', KEYS[2], ARGV[1] .. user)
return h
`)

// renewScript (single-node deployments only): KEYS = old session, old
// shard, new session, new shard, user index (or the new session again when
// anonymous); ARGV = old digest, new member, expires_at ms, user, then
// field/value pairs. Moves a session atomically: 0 when the old one is
// gone (or, for a session of the same user, when its index entry is: a
// revocation claimed it, see claimUserScript; or when its lineage is being
// revoked, see markLineageScript), -1 when the new key exists, 1 on
// success.
var renewScript = redis.NewScript(`
local old = redis.call('HMGET', KEYS[1], '_m', '_u')
if not old[1] then return 0 end
if redis.call('EXISTS', KEYS[3]) == 1 then return -1 end
local olduser = old[2] or ''
if ARGV[4] ~= '' and olduser == ARGV[4] then
	local lineage = 'L:' .. (string.match(old[1], '^[^,]*'))
	if redis.call('HEXISTS', KEYS[5], lineage) == 1 or redis.call('HDEL', KEYS[5], ARGV[1]) == 0 then return 0 end
end
redis.call('DEL', KEYS[1])
redis.call('ZREM', KEYS[2], ARGV[1] .. olduser)
` + chunkedLua("HSET", "KEYS[3]", "5", "#ARGV") + `
redis.call('PEXPIREAT', KEYS[3], ARGV[3])
redis.call('ZADD', KEYS[4], ARGV[3], ARGV[2])
if ARGV[4] ~= '' then redis.call('HSET', KEYS[5], string.sub(ARGV[2], 1, 32), '') end
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

// Revocation of a user's sessions. On Cluster a user's index and sessions
// live on different nodes and no script can cover both; on one node a
// single script could, but it would block Redis for as long as it takes to
// delete every session of the user (seconds for a hundred thousand). So on
// both the index is the gate:
//
//   - claimUserScript empties the index (but the kept session) and returns
//     what it held, in one step on the index's node;
//   - a renewal of a logged-in session moves its entry: on one node in its
//     atomic renewScript, which changes nothing when the old entry is gone;
//     on Cluster with moveIndexScript, in the pipeline that creates the
//     new session once the old one was taken, undone when the old entry was
//     gone. Either way, a renewal whose entry a revocation claimed does not
//     happen;
//   - the claimed sessions are then killed by killScript on their nodes. A
//     digest without a session may be a creation still in flight (the new
//     session of a renewal whose index entry the revocation claimed, or a
//     session being put back), so it gets a tombstone: a hash {"_t": "1",
//     "_v": "-2"} with a short TTL that makes that creation fail (it is
//     insert-if-absent) and that every script and Load read as no session;
//   - a session taken by a failed renewal is put back only when
//     restoreIndexScript finds its entry (or its successor's) still in the
//     index, i.e. not claimed by a revocation.

// claimUserScript: KEYS = user index; ARGV = digest to keep (32
// raw bytes, or empty). Removes and returns every member of the index but
// the kept one and the lineage markers (see markLineageScript), which stay.
var claimUserScript = redis.NewScript(`
local out = {}
for _, m in ipairs(redis.call('HKEYS', KEYS[1])) do
	if m ~= ARGV[1] and (#m == 32 or string.sub(m, 1, 2) ~= 'L:') then out[#out + 1] = m end
end
for i = 1, #out, 1000 do redis.call('HDEL', KEYS[1], unpack(out, i, math.min(i + 999, #out))) end
return out
`)

// killScript: KEYS = session, shard; ARGV = digest, user id,
// tombstone TTL ms. Deletes the user's session and returns 1; leaves a
// tombstone where there is no session (returns 0); leaves a tombstone or
// another user's session alone (returns 0).
var killScript = redis.NewScript(`
local cur = redis.call('HMGET', KEYS[1], '_m', '_t', '_u')
if cur[2] then return 0 end
if cur[1] then
	if (cur[3] or '') ~= ARGV[2] then return 0 end
	redis.call('DEL', KEYS[1])
	redis.call('ZREM', KEYS[2], ARGV[1] .. ARGV[2])
	return 1
end
redis.call('DEL', KEYS[1])
redis.call('HSET', KEYS[1], '_t', '1', '_v', '-2')
redis.call('PEXPIRE', KEYS[1], ARGV[3])
return 0
`)

// moveIndexScript (Cluster renewals): KEYS = user index; ARGV = old digest,
// new digest, the session's creation time (ms). Replaces the old entry by
// the new one and returns 1 when the old entry was there, 0 when it was not
// (claimed by a revocation, or not this user's); returns -1 and changes
// nothing when the session's lineage is being revoked (markLineageScript).
var moveIndexScript = redis.NewScript(`
if redis.call('HEXISTS', KEYS[1], 'L:' .. ARGV[3]) == 1 then return -1 end
local was = redis.call('HDEL', KEYS[1], ARGV[1])
redis.call('HSET', KEYS[1], ARGV[2], '')
return was
`)

// restoreIndexScript (Cluster, undoing a renewal): KEYS = user index of the
// taken session; ARGV = its digest, the new digest. Puts the old entry back
// and returns 1 when the new entry or the old one is still there (no
// revocation claimed them); otherwise returns 0, and the session must stay
// gone.
var restoreIndexScript = redis.NewScript(`
if redis.call('HDEL', KEYS[1], ARGV[2]) == 1 or redis.call('HEXISTS', KEYS[1], ARGV[1]) == 1 then
	redis.call('HSET', KEYS[1], ARGV[1], '')
	return 1
end
return 0
`)

// claimMembersScript: KEYS = user index; ARGV = members. Removes the given
// members that are there and returns them (a member not there was moved by
// a renewal, or removed with its session).
var claimMembersScript = redis.NewScript(`
local out = {}
for i = 1, #ARGV do
	if redis.call('HDEL', KEYS[1], ARGV[i]) == 1 then out[#out + 1] = ARGV[i] end
end
return out
`)

// markLineageScript: KEYS = user index; ARGV = creation time (ms). Adds the
// lineage marker "L:<ms>" to the index, which stops every renewal of a
// session of that lineage (renewScript, moveIndexScript), and returns the
// index's members, so that the revocation of the lineage cannot be outrun
// by a client renewing in a loop. The marker (not a digest: listing and
// revocation skip it) is removed when the revocation ends.
var markLineageScript = redis.NewScript(`
redis.call('HSET', KEYS[1], 'L:' .. ARGV[1], '')
return redis.call('HKEYS', KEYS[1])
`)
