-- Minimal stand-in for lua-resty-redis (harness code, not the real library).
-- RESP2 over ngx.socket.tcp, with the calls lua-resty-session's redis storage
-- makes: new, set_timeouts, connect, getreusedtimes / get_reused_times,
-- set_keepalive, close, init_pipeline, commit_pipeline, and any command as a
-- method (red:set(...), red:get(...), red:zadd(...), ...). Error replies
-- return false, "ERR ..." as lua-resty-redis does.
-- If the real lua-resty-redis is on lua_package_path before this directory,
-- it is used instead.
local tcp = ngx.socket.tcp
local null = ngx.null
local sub = string.sub
local byte = string.byte
local concat = table.concat

local _M = { _VERSION = "shim-0.1" }
local mt = {}

local function gen_req(args)
  local req = { "*", #args, "\r\n" }
  for i = 1, #args do
    local arg = args[i]
    if type(arg) ~= "string" then
      arg = tostring(arg)
    end
    req[#req + 1] = "$" .. #arg .. "\r\n" .. arg .. "\r\n"
  end
  return concat(req)
end

local function read_reply(sock)
  local line, err = sock:receive()
  if not line then
    return nil, err
  end
  local prefix = byte(line)
  if prefix == 36 then -- $
    local size = tonumber(sub(line, 2))
    if size < 0 then
      return null
    end
    local data, err2 = sock:receive(size)
    if not data then
      return nil, err2
    end
    sock:receive(2)
    return data
  elseif prefix == 43 then -- +
    return sub(line, 2)
  elseif prefix == 42 then -- *
    local n = tonumber(sub(line, 2))
    if n < 0 then
      return null
    end
    local vals = {}
    for i = 1, n do
      local res, err2 = read_reply(sock)
      if res then
        vals[i] = res
      elseif res == nil then
        return nil, err2
      else
        vals[i] = { false, err2 }
      end
    end
    return vals
  elseif prefix == 58 then -- :
    return tonumber(sub(line, 2))
  elseif prefix == 45 then -- -
    return false, sub(line, 2)
  end
  return nil, "unknown prefix: \"" .. tostring(prefix) .. "\""
end

local function do_cmd(self, ...)
  local req = gen_req({ ... })
  local reqs = rawget(self, "_reqs")
  if reqs then
    reqs[#reqs + 1] = req
    return
  end
  local sock = self._sock
  local bytes, err = sock:send(req)
  if not bytes then
    return nil, err
  end
  return read_reply(sock)
end

function _M.new()
  local sock, err = tcp()
  if not sock then
    return nil, err
  end
  return setmetatable({ _sock = sock }, mt)
end

function _M.set_timeouts(self, c, s, r)
  self._sock:settimeouts(c, s, r)
end

function _M.set_timeout(self, t)
  self._sock:settimeout(t)
end

function _M.connect(self, host, port, opts)
  if type(port) == "table" or port == nil then
    return self._sock:connect(host, port)
  end
  return self._sock:connect(host, port, opts)
end

function _M.get_reused_times(self)
  return self._sock:getreusedtimes()
end
_M.getreusedtimes = _M.get_reused_times

function _M.set_keepalive(self, ...)
  return self._sock:setkeepalive(...)
end

function _M.close(self)
  return self._sock:close()
end

function _M.init_pipeline(self)
  self._reqs = {}
end

function _M.cancel_pipeline(self)
  self._reqs = nil
end

function _M.commit_pipeline(self)
  local reqs = rawget(self, "_reqs")
  if not reqs then
    return nil, "no pipeline"
  end
  self._reqs = nil
  local sock = self._sock
  local bytes, err = sock:send(concat(reqs))
  if not bytes then
    return nil, err
  end
  local vals = {}
  for i = 1, #reqs do
    local res, err2 = read_reply(sock)
    if res then
      vals[i] = res
    elseif res == nil then
      return nil, err2
    else
      vals[i] = { false, err2 }
    end
  end
  return vals
end

mt.__index = function(_, cmd)
  local f = _M[cmd]
  if f then
    return f
  end
  return function(self, ...)
    return do_cmd(self, cmd, ...)
  end
end

-- redis.set / redis.get style access on the module (used by some callers)
setmetatable(_M, {
  __index = function(_, cmd)
    return function(self, ...)
      return do_cmd(self, cmd, ...)
    end
  end,
})

return _M
