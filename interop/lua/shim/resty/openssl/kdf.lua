-- Stand-in for resty.openssl.kdf (harness code): the OpenSSL 3 style
-- kdf.new(name) / :derive(outlen, options) / :reset() API, over EVP_KDF + OSSL_PARAM.
local ffi = require "ffi"
local openssl = require "resty.openssl"
local C = openssl.C

local OSSL_PARAM_INTEGER          = 1
local OSSL_PARAM_UNSIGNED_INTEGER = 2
local OSSL_PARAM_UTF8_STRING      = 4
local OSSL_PARAM_OCTET_STRING     = 5
local UNMODIFIED = ffi.cast("size_t", -1)

-- option name -> OSSL_PARAM key and type
local PARAMS = {
  digest = { "digest", OSSL_PARAM_UTF8_STRING },
  key    = { "key",    OSSL_PARAM_OCTET_STRING },
  salt   = { "salt",   OSSL_PARAM_OCTET_STRING },
  info   = { "info",   OSSL_PARAM_OCTET_STRING },
  pass   = { "pass",   OSSL_PARAM_OCTET_STRING },
  mode   = { "mode",   OSSL_PARAM_INTEGER },
  pkcs5  = { "pkcs5",  OSSL_PARAM_INTEGER },
  iter   = { "iter",   OSSL_PARAM_UNSIGNED_INTEGER },
}
local ORDER = { "digest", "mode", "pkcs5", "iter", "key", "pass", "salt", "info" }

local mt = {}
mt.__index = mt

function mt:derive(outlen, options)
  options = options or {}
  local params = ffi.new("OSSL_PARAM[?]", #ORDER + 1)
  local keep = {}
  local n = 0
  for _, name in ipairs(ORDER) do
    local value = options[name]
    if value ~= nil then
      local spec = PARAMS[name]
      local p = params[n]
      p.key = spec[1]
      p.data_type = spec[2]
      p.return_size = UNMODIFIED
      if spec[2] == OSSL_PARAM_INTEGER then
        local v = ffi.new("int[1]", value)
        keep[#keep + 1] = v
        p.data, p.data_size = v, ffi.sizeof("int")
      elseif spec[2] == OSSL_PARAM_UNSIGNED_INTEGER then
        local v = ffi.new("uint64_t[1]", value)
        keep[#keep + 1] = v
        p.data, p.data_size = v, ffi.sizeof("uint64_t")
      else
        local v = ffi.new("char[?]", #value + 1)
        ffi.copy(v, value, #value)
        keep[#keep + 1] = v
        p.data, p.data_size = v, #value
      end
      n = n + 1
    end
  end
  params[n].key = nil

  local out = ffi.new("unsigned char[?]", outlen)
  if C.EVP_KDF_derive(self.ctx, out, outlen, params) ~= 1 then
    return nil, openssl.err("kdf:derive: EVP_KDF_derive() failed")
  end
  return ffi.string(out, outlen)
end

function mt:reset()
  C.EVP_KDF_CTX_reset(self.ctx)
  return true
end

local _M = {
  HKDEF_MODE_EXTRACT_AND_EXPAND = 0,
  HKDEF_MODE_EXTRACT_ONLY = 1,
  HKDEF_MODE_EXPAND_ONLY = 2,
}

function _M.new(name)
  local kdf = C.EVP_KDF_fetch(nil, name, nil)
  if kdf == nil then
    return nil, openssl.err("kdf.new: EVP_KDF_fetch() failed")
  end
  local ctx = C.EVP_KDF_CTX_new(kdf)
  C.EVP_KDF_free(kdf)
  if ctx == nil then
    return nil, openssl.err("kdf.new: EVP_KDF_CTX_new() failed")
  end
  ffi.gc(ctx, C.EVP_KDF_CTX_free)
  return setmetatable({ ctx = ctx }, mt)
end

return _M
