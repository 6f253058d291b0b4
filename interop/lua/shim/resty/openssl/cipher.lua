-- Stand-in for resty.openssl.cipher (harness code): new(name),
-- :encrypt(key, iv, s, no_padding, aead_aad), :get_aead_tag(size),
-- :decrypt(key, iv, s, no_padding, aead_aad, aead_tag).
local ffi = require "ffi"
local openssl = require "resty.openssl"
local C = openssl.C

local EVP_CTRL_AEAD_SET_IVLEN = 0x9
local EVP_CTRL_AEAD_GET_TAG   = 0x10
local EVP_CTRL_AEAD_SET_TAG   = 0x11

local mt = {}
mt.__index = mt

local function run(self, enc, key, iv, s, no_padding, aad, tag)
  local ctx = self.ctx
  C.EVP_CIPHER_CTX_reset(ctx)
  if C.EVP_CipherInit_ex(ctx, self.cipher, nil, nil, nil, enc) ~= 1 then
    return nil, openssl.err("cipher: EVP_CipherInit_ex() failed")
  end
  if iv and #iv ~= 12 then
    if C.EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_SET_IVLEN, #iv, nil) ~= 1 then
      return nil, openssl.err("cipher: set iv length failed")
    end
  end
  if C.EVP_CipherInit_ex(ctx, nil, nil, key, iv, enc) ~= 1 then
    return nil, openssl.err("cipher: EVP_CipherInit_ex() failed")
  end
  if no_padding then
    C.EVP_CIPHER_CTX_set_padding(ctx, 0)
  end
  local outl = ffi.new("int[1]")
  if aad then
    if C.EVP_CipherUpdate(ctx, nil, outl, aad, #aad) ~= 1 then
      return nil, openssl.err("cipher: aad update failed")
    end
  end
  if enc == 0 and tag then
    local t = ffi.new("unsigned char[?]", #tag)
    ffi.copy(t, tag, #tag)
    if C.EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_SET_TAG, #tag, t) ~= 1 then
      return nil, openssl.err("cipher: set tag failed")
    end
  end
  local out = ffi.new("unsigned char[?]", #s + 64)
  if C.EVP_CipherUpdate(ctx, out, outl, s, #s) ~= 1 then
    return nil, openssl.err("cipher:update: EVP_CipherUpdate() failed")
  end
  local n = outl[0]
  if C.EVP_CipherFinal_ex(ctx, out + n, outl) ~= 1 then
    return nil, openssl.err("cipher:final: EVP_CipherFinal_ex() failed")
  end
  n = n + outl[0]
  return ffi.string(out, n)
end

function mt:encrypt(key, iv, s, no_padding, aad)
  return run(self, 1, key, iv, s, no_padding, aad)
end

function mt:decrypt(key, iv, s, no_padding, aad, tag)
  return run(self, 0, key, iv, s, no_padding, aad, tag)
end

function mt:get_aead_tag(size)
  local buf = ffi.new("unsigned char[?]", size or 16)
  if C.EVP_CIPHER_CTX_ctrl(self.ctx, EVP_CTRL_AEAD_GET_TAG, size or 16, buf) ~= 1 then
    return nil, openssl.err("cipher:get_aead_tag: EVP_CIPHER_CTX_ctrl() failed")
  end
  return ffi.string(buf, size or 16)
end

local _M = {}

function _M.new(name)
  local cipher = C.EVP_get_cipherbyname(name)
  if cipher == nil then
    return nil, "cipher.new: invalid cipher type \"" .. tostring(name) .. "\""
  end
  local ctx = C.EVP_CIPHER_CTX_new()
  if ctx == nil then
    return nil, openssl.err("cipher.new: EVP_CIPHER_CTX_new() failed")
  end
  ffi.gc(ctx, C.EVP_CIPHER_CTX_free)
  return setmetatable({ cipher = cipher, ctx = ctx }, mt)
end

return _M
