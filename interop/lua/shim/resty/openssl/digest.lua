-- Stand-in for resty.openssl.digest (harness code): new(name), :final(s), :reset().
local ffi = require "ffi"
local openssl = require "resty.openssl"
local C = openssl.C

local mt = {}
mt.__index = mt

function mt:final(s)
  s = (self.buffer or "") .. (s or "")
  self.buffer = nil
  local out = ffi.new("unsigned char[64]")
  local len = ffi.new("unsigned int[1]")
  if C.EVP_Digest(s, #s, out, len, self.md, nil) ~= 1 then
    return nil, openssl.err("digest:final: EVP_Digest() failed")
  end
  return ffi.string(out, len[0])
end

function mt:update(...)
  self.buffer = (self.buffer or "") .. table.concat({ ... })
  return true
end

function mt:reset()
  self.buffer = nil
  return true
end

local _M = {}

function _M.new(name)
  local md = C.EVP_get_digestbyname(name or "sha1")
  if md == nil then
    return nil, "digest.new: invalid digest type \"" .. tostring(name) .. "\""
  end
  return setmetatable({ md = md }, mt)
end

return _M
