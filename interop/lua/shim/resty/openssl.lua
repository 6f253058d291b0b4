-- Minimal stand-in for lua-resty-openssl (harness code, not the real library).
-- Provides only what lua-resty-session 4.1.x uses: resty.openssl.get_fips_mode,
-- resty.openssl.{rand,digest,hmac,kdf,cipher}, with the same call shapes,
-- implemented over OpenSSL 3 (libcrypto) through the LuaJIT FFI.
-- If the real lua-resty-openssl is on lua_package_path before this directory,
-- it is used instead and this file is never loaded.
local ffi = require "ffi"

ffi.cdef [[
typedef struct ossl_lib_ctx_st OSSL_LIB_CTX;
typedef struct evp_md_st EVP_MD;
typedef struct evp_cipher_st EVP_CIPHER;
typedef struct evp_cipher_ctx_st EVP_CIPHER_CTX;
typedef struct evp_kdf_st EVP_KDF;
typedef struct evp_kdf_ctx_st EVP_KDF_CTX;
typedef struct engine_st ENGINE;
typedef struct ossl_param_st {
  const char *key;
  unsigned int data_type;
  void *data;
  size_t data_size;
  size_t return_size;
} OSSL_PARAM;

int EVP_default_properties_is_fips_enabled(OSSL_LIB_CTX *libctx);
int RAND_bytes(unsigned char *buf, int num);
unsigned long ERR_get_error(void);
void ERR_error_string_n(unsigned long e, char *buf, size_t len);

const EVP_MD *EVP_get_digestbyname(const char *name);
int EVP_Digest(const void *data, size_t count, unsigned char *md, unsigned int *size,
               const EVP_MD *type, ENGINE *impl);
unsigned char *HMAC(const EVP_MD *evp_md, const void *key, int key_len,
                    const unsigned char *data, size_t data_len,
                    unsigned char *md, unsigned int *md_len);

EVP_KDF *EVP_KDF_fetch(OSSL_LIB_CTX *libctx, const char *algorithm, const char *properties);
void EVP_KDF_free(EVP_KDF *kdf);
EVP_KDF_CTX *EVP_KDF_CTX_new(EVP_KDF *kdf);
void EVP_KDF_CTX_free(EVP_KDF_CTX *ctx);
void EVP_KDF_CTX_reset(EVP_KDF_CTX *ctx);
int EVP_KDF_derive(EVP_KDF_CTX *ctx, unsigned char *key, size_t keylen, const OSSL_PARAM params[]);

const EVP_CIPHER *EVP_get_cipherbyname(const char *name);
EVP_CIPHER_CTX *EVP_CIPHER_CTX_new(void);
void EVP_CIPHER_CTX_free(EVP_CIPHER_CTX *ctx);
int EVP_CIPHER_CTX_reset(EVP_CIPHER_CTX *ctx);
int EVP_CipherInit_ex(EVP_CIPHER_CTX *ctx, const EVP_CIPHER *type, ENGINE *impl,
                      const unsigned char *key, const unsigned char *iv, int enc);
int EVP_CipherUpdate(EVP_CIPHER_CTX *ctx, unsigned char *out, int *outl,
                     const unsigned char *in, int inl);
int EVP_CipherFinal_ex(EVP_CIPHER_CTX *ctx, unsigned char *outm, int *outl);
int EVP_CIPHER_CTX_ctrl(EVP_CIPHER_CTX *ctx, int type, int arg, void *ptr);
int EVP_CIPHER_CTX_set_padding(EVP_CIPHER_CTX *c, int pad);
]]

local C
do
  local ok, lib = pcall(ffi.load, "libcrypto.so.3")
  C = ok and lib or ffi.C
end

local _M = { _VERSION = "shim-0.1", C = C }

function _M.err(msg)
  local code = C.ERR_get_error()
  if code == 0 then
    return msg
  end
  local buf = ffi.new("char[256]")
  C.ERR_error_string_n(code, buf, 256)
  return msg .. ": " .. ffi.string(buf)
end

function _M.get_fips_mode()
  return C.EVP_default_properties_is_fips_enabled(nil) == 1
end

return _M
