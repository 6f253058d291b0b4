-- Stand-in for resty.openssl.rand (harness code).
local ffi = require "ffi"
local openssl = require "resty.openssl"
local C = openssl.C

local _M = {}

function _M.bytes(length)
  local buf = ffi.new("unsigned char[?]", length)
  if C.RAND_bytes(buf, length) ~= 1 then
    return nil, openssl.err("rand.bytes: RAND_bytes() failed")
  end
  return ffi.string(buf, length)
end

return _M
