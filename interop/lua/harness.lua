-- HTTP harness around lua-resty-session for the interop driver (harness code).
--
-- POST /mint  body: {"config": {...}, "audience": A?, "subject": S?, "data": {...}?,
--                    "remember": bool?, "op": "save"}
--             -> {"ok":..., "err":..., "set_cookie": [...]}
-- POST /open  body: {"config": {...}, "audience": A?, "op": null|"touch"|"refresh"|"save"|"logout"|"destroy"|"set_data",
--                    "data": {...}? (for set_data), "force": bool? (run op even when open failed,
--                    e.g. to add a new audience to an existing cookie)}
--             The session cookies come from the request's real Cookie header;
--             remote_addr / scheme / User-Agent are the real connection values.
--             -> {"ok", "err", "exists", "state", "data", "audience", "subject",
--                 "remember", "properties", "set_cookie", "op_ok", "op_err"}
local cjson = require "cjson.safe"
local session = require "resty.session"

local REDIS_DB = tonumber(os.getenv("INTEROP_REDIS_DB") or "") or 14
local REDIS_PORT = tonumber(os.getenv("INTEROP_REDIS_PORT") or "") or 6379

local function fromhex(h)
  return (h:gsub("..", function(c) return string.char(tonumber(c, 16)) end))
end

local function strip_nulls(t)
  if type(t) ~= "table" then
    return t
  end
  for k, v in pairs(t) do
    if v == cjson.null then
      t[k] = nil
    else
      strip_nulls(v)
    end
  end
  return t
end

local function lua_config(cfg)
  cfg = strip_nulls(cfg or {})
  if cfg.ikm_hex then
    cfg.ikm = fromhex(cfg.ikm_hex)
    cfg.ikm_hex = nil
  end
  if cfg.ikm_fallbacks_hex then
    local t = {}
    for i, h in ipairs(cfg.ikm_fallbacks_hex) do
      t[i] = fromhex(h)
    end
    cfg.ikm_fallbacks = t
    cfg.ikm_fallbacks_hex = nil
  end
  if cfg.storage == "redis" then
    local r = cfg.redis or {}
    r.host = r.host or "127.0.0.1"
    r.port = r.port or REDIS_PORT
    r.database = r.database or REDIS_DB
    cfg.redis = r
  end
  return cfg
end

local function set_cookies()
  local c = ngx.header["Set-Cookie"]
  if c == nil then
    return setmetatable({}, cjson.array_mt)
  end
  if type(c) == "string" then
    return { c }
  end
  return c
end

local function reply(t)
  ngx.header["Content-Type"] = "application/json"
  local body = cjson.encode(t)
  -- keep the session cookies out of the real response headers: they are in the body
  ngx.header["Set-Cookie"] = nil
  ngx.say(body)
end

local function read_body()
  ngx.req.read_body()
  local body = ngx.req.get_body_data()
  if not body then
    local file = ngx.req.get_body_file()
    if file then
      local f = io.open(file, "rb")
      body = f:read("*a")
      f:close()
    end
  end
  local req, err = cjson.decode(body or "{}")
  if not req then
    ngx.status = 400
    reply({ ok = false, err = "bad request json: " .. tostring(err) })
    return nil
  end
  -- JSON nulls are dropped from the request fields and the config, but kept inside
  -- "data" (cjson.null round-trips as null, as it would in an application)
  for k, v in pairs(req) do
    if v == cjson.null then
      req[k] = nil
    end
  end
  return req
end

local PROPS = { "id", "timeout", "idling-timeout", "rolling-timeout", "absolute-timeout" }

local function view(s, ok, err)
  local out = { ok = ok and true or false, err = err or cjson.null, state = s.state }
  out.exists = out.ok
  if s.state ~= "closed" then
    out.data = s:get_data()
    out.audience = s:get_audience()
    out.subject = s:get_subject() or cjson.null
    out.remember = s:get_remember() and true or false
    local props = {}
    for _, name in ipairs(PROPS) do
      local v = ok and s:get_property(name) or nil
      props[name] = v == nil and cjson.null or v
    end
    out.properties = props
  end
  return out
end

local _M = {}

function _M.mint()
  local req = read_body()
  if not req then return end
  local okc, s = pcall(session.new, lua_config(req.config))
  if not okc then
    return reply({ ok = false, err = "config: " .. tostring(s) })
  end
  if req.audience then s:set_audience(req.audience) end
  if req.subject then s:set_subject(req.subject) end
  if req.data then s:set_data(req.data) end
  if req.remember ~= nil then s:set_remember(req.remember) end
  local ok, err = s:save()
  reply({ ok = ok and true or false, err = err or cjson.null, set_cookie = set_cookies() })
end

function _M.open()
  local req = read_body()
  if not req then return end
  local okc, s = pcall(session.new, lua_config(req.config))
  if not okc then
    return reply({ ok = false, err = "config: " .. tostring(s) })
  end
  if req.audience then s:set_audience(req.audience) end
  local ok, err = s:open()
  local out = view(s, ok, err)
  local op = req.op
  if op and (ok or req.force) then
    if op == "set_data" then
      s:set_data(req.data)
      if req.subject then s:set_subject(req.subject) end
      op = "save"
    end
    local op_ok, op_err = s[op](s)
    out.op_ok = op_ok and true or false
    out.op_err = op_err or cjson.null
  end
  out.set_cookie = set_cookies()
  reply(out)
end

return _M
