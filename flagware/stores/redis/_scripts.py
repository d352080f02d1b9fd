"""The Lua scripts that read and change a namespace, each one atomic step.

They classify the ruleset hash as :mod:`._layout` does (a version must be a plain decimal
integer up to ``MAX_VERSION``, the document there and matching its digest), so that a
compare-and-set can name a *corrupt* hash and replace it.
"""

from __future__ import annotations

__all__ = ["COMMIT", "FETCH", "HEAD", "RENUMBER", "RESTORE_IF_EMPTY"]

# Shared by the scripts: how the hash is classified (as Head.state/token do), the newest
# entry of the audit stream (a write after a loss of the hash goes on counting from its
# version; a reader compares its digest), and how an entry is appended.
_STATE = """
local function version_of(raw)
  if raw and #raw <= 13 and string.match(raw, '^[1-9][0-9]*$') and tonumber(raw) <= 1e12 then
    return tonumber(raw)
  end
  return nil
end
local function state(key)
  local kind = redis.call('TYPE', key).ok
  if kind == 'none' then return 'empty', '0', 0 end
  if kind ~= 'hash' then return 'corrupt', 'corrupt', 0 end
  local raw = redis.call('HGET', key, 'version')
  local has_doc = redis.call('HEXISTS', key, 'doc') == 1
  local version = version_of(raw)
  if version then
    if has_doc then return 'ok', raw, version end
    return 'corrupt', 'corrupt', version
  end
  return 'corrupt', 'corrupt', 0
end
local function newest(stream)
  if redis.call('TYPE', stream).ok ~= 'stream' then return false, false end
  local entry = redis.call('XREVRANGE', stream, '+', '-', 'COUNT', 1)[1]
  if not entry then return false, false end
  local version, digest = false, false
  local fields = entry[2]
  for i = 1, #fields, 2 do
    if fields[i] == 'version' then version = fields[i + 1] end
    if fields[i] == 'digest' then digest = fields[i + 1] end
  end
  return version, digest
end
local function last_recorded(stream)
  return version_of(newest(stream)) or 0
end
local function audit(stream, maxlen, version, previous, actor, at, action, summary, doc, digest)
  local kind = redis.call('TYPE', stream).ok
  if kind ~= 'stream' and kind ~= 'none' then redis.call('DEL', stream) end
  redis.call('XADD', stream, 'MAXLEN', '~', maxlen, '*', 'version', version,
    'previous', previous, 'actor', actor, 'at', at, 'action', action,
    'summary', summary, 'doc', doc, 'digest', digest)
end
"""

# KEYS: ruleset hash, audit stream. HEAD returns {type, version, digest, has doc, newest
# audit version, its digest, document length}: enough to tell whether the document must be fetched,
# without fetching it; FETCH returns the same with the document itself, all of one write.
# A key of another type is reported, not read.
HEAD = (
    _STATE
    + """
local kind = redis.call('TYPE', KEYS[1]).ok
local recorded, recorded_digest = newest(KEYS[2])
if kind ~= 'hash' then return {kind, false, false, 0, recorded, recorded_digest, 0} end
return {kind, redis.call('HGET', KEYS[1], 'version'), redis.call('HGET', KEYS[1], 'digest'),
  redis.call('HEXISTS', KEYS[1], 'doc'), recorded, recorded_digest,
  redis.call('HSTRLEN', KEYS[1], 'doc')}
"""
)
FETCH = (
    _STATE
    + """
local kind = redis.call('TYPE', KEYS[1]).ok
local recorded, recorded_digest = newest(KEYS[2])
if kind ~= 'hash' then return {kind, false, false, false, recorded, recorded_digest} end
return {kind, redis.call('HGET', KEYS[1], 'version'), redis.call('HGET', KEYS[1], 'digest'),
  redis.call('HGET', KEYS[1], 'doc'), recorded, recorded_digest}
"""
)

# KEYS: ruleset hash, audit stream. ARGV: expected token ("" = any), document, digest,
# actor, time, action, summary, channel, audit length, the writer's version, publish
# command. The new version is above Redis's, the audit stream's and the writer's, so
# versions only move forward even when Redis lost data (followers ignore anything not
# newer than what they serve).
COMMIT = (
    _STATE
    + """
local kind, token, current = state(KEYS[1])
if ARGV[1] ~= '' and ARGV[1] ~= token then return {0, token} end
local version = math.max(current, last_recorded(KEYS[2]), version_of(ARGV[10]) or 0) + 1
if version > 1e12 then return {-1, 'limit'} end
local v = string.format('%d', version)
redis.call('DEL', KEYS[1])
redis.call('HSET', KEYS[1], 'doc', ARGV[2], 'version', v, 'digest', ARGV[3])
audit(KEYS[2], ARGV[9], v, current, ARGV[4], ARGV[5], ARGV[6], ARGV[7], ARGV[2], ARGV[3])
redis.call(ARGV[11], ARGV[8], v)
return {1, v}
"""
)

# Put a ruleset back into a namespace that lost it (Redis restarted without persistence,
# FLUSHDB): only into an empty one, never over a document someone wrote meanwhile. It
# keeps the version it restores, and refuses (-1) if the audit stream recorded a newer
# one, unless told to 'force' (the newer one's recorded document is restored instead).
# ARGV: document, digest, version, actor, time, channel, audit length, action, summary,
# publish command, 'force' or ''.
RESTORE_IF_EMPTY = (
    _STATE
    + """
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
if ARGV[11] ~= 'force' and last_recorded(KEYS[2]) > tonumber(ARGV[3]) then return -1 end
redis.call('HSET', KEYS[1], 'doc', ARGV[1], 'version', ARGV[3], 'digest', ARGV[2])
if last_recorded(KEYS[2]) ~= tonumber(ARGV[3]) then
  audit(KEYS[2], ARGV[7], ARGV[3], 0, ARGV[4], ARGV[5], ARGV[8], ARGV[9], ARGV[1], ARGV[2])
end
redis.call(ARGV[10], ARGV[6], ARGV[3])
return 1
"""
)

# Redis holds an older version than a process served (it lost data, then someone wrote
# into it, or a backup came back): what Redis holds wins, under a new version above the
# one the process served, so every process applies it. The version the process served is
# recorded in the audit stream first, if the stream lost it, so it can be restored.
# ARGV: expected version, expected digest ("" = none stored), the served version, the
# served document, actor, time, summary, channel, audit length, digest of the stored
# document, publish command, digest of the served document.
RENUMBER = (
    _STATE
    + """
local kind, token, current = state(KEYS[1])
local digest = redis.call('HGET', KEYS[1], 'digest') or ''
if kind ~= 'ok' or token ~= ARGV[1] or digest ~= ARGV[2] then return {0, token} end
local served = tonumber(ARGV[3])
local recorded = last_recorded(KEYS[2])
local version = math.max(current, served, recorded) + 1
if version > 1e12 then return {-1, 'limit'} end
if recorded < served then
  audit(KEYS[2], ARGV[9], ARGV[3], 0, ARGV[5], ARGV[6], 'held when Redis went back', '{}',
    ARGV[4], ARGV[12])
end
local v = string.format('%d', version)
local doc = redis.call('HGET', KEYS[1], 'doc')
redis.call('HSET', KEYS[1], 'version', v, 'digest', ARGV[10])
audit(KEYS[2], ARGV[9], v, current, ARGV[5], ARGV[6], 'renumber after data loss', ARGV[7],
  doc, ARGV[10])
redis.call(ARGV[11], ARGV[8], v)
return {1, v}
"""
)
