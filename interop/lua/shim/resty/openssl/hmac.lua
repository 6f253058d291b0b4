-- Stand-in for resty.openssl.hmac (harness code): new(key, digest), :final(s).
local ffi = require "ffi"
local openssl = require "resty.openssl"
local C = openssl.C

local mt = {}
mt.__index = mt

function mt:update(...)
  self.buffer = (self.buffer or "") .. table.concat({ ... })
  return true
end

function mt:final(s)
  s = (self.buffer or "") .. (s or "")
  self.buffer = nil
  local out = ffi.new("unsigned char[64]")
  local len = ffi.new("unsigned int[1]")
  if C.HMAC(self.md, self.key, #self.key, s, #s, out, len) == nil then
    return nil, openssl.err("hmac:final: HMAC() failed")
  end
  return ffi.string(out, len[0])
end

function mt:reset()
  self.buffer = nil
  return true
end

local _M = {}

function _M.new(key, name)
  local md = C.EVP_get_digestbyname(name or "sha1")
  if md == nil then
    return nil, "hmac.new: invalid digest type \"" .. tostring(name) .. "\""
  end
  return setmetatable({ md = md, key = key }, mt)
end

return _M
