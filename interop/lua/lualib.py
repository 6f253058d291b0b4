"""Small clients for the nginx harness (Lua side) and the `session` CLI (Rust side)."""
import json
import os
import subprocess
import urllib.request

HARNESS = os.environ.get("HARNESS_URL", "http://127.0.0.1:18479")
ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
SESSION_BIN = os.environ.get("SESSION_BIN", os.path.join(ROOT, "target", "debug", "session"))
REDIS_DB = os.environ.get("INTEROP_REDIS_DB", "14")
REDIS_PORT = os.environ.get("INTEROP_REDIS_PORT", "6379")
UA = "lua-interop/1.0"


def _post(path, body, cookie=None, ua=UA):
    data = json.dumps(body).encode()
    req = urllib.request.Request(HARNESS + path, data=data, method="POST")
    req.add_header("Content-Type", "application/json")
    if ua is not None:
        req.add_header("User-Agent", ua)
    else:
        req.add_header("User-Agent", "")
    if cookie:
        req.add_header("Cookie", cookie)
    with urllib.request.urlopen(req, timeout=60) as resp:
        return json.loads(resp.read().decode())


def lua_mint(config, audience=None, subject=None, data=None, remember=None, ua=UA):
    body = {"config": config}
    if audience is not None:
        body["audience"] = audience
    if subject is not None:
        body["subject"] = subject
    if data is not None:
        body["data"] = data
    if remember is not None:
        body["remember"] = remember
    return _post("/mint", body, ua=ua)


def lua_open(config, cookie, audience=None, op=None, ua=UA, data=None, subject=None, force=None):
    body = {"config": config}
    if subject is not None:
        body["subject"] = subject
    if force is not None:
        body["force"] = force
    if audience is not None:
        body["audience"] = audience
    if op is not None:
        body["op"] = op
    if data is not None:
        body["data"] = data
    return _post("/open", body, cookie=cookie, ua=ua)


def _cli(args):
    p = subprocess.run([SESSION_BIN] + args, capture_output=True, text=True, timeout=120)
    if p.returncode != 0:
        return {"ok": False, "err": "cli: " + p.stderr.strip(), "cli_failed": True}
    return json.loads(p.stdout)


def _req_args(ua, remote_addr="127.0.0.1", scheme="http", now=None, audience=None):
    args = ["--remote-addr", remote_addr, "--scheme", scheme]
    if ua is not None:
        args += ["--user-agent", ua]
    if now is not None:
        args += ["--now", str(now)]
    if audience is not None:
        args += ["--audience", audience]
    return args


def rust_mint(config, audience=None, subject=None, data=None, remember=None, cookie=None, ua=UA, now=None):
    args = ["mint", "--config", json.dumps(config)] + _req_args(ua, now=now, audience=audience)
    if subject is not None:
        args += ["--subject", subject]
    if data is not None:
        args += ["--data", json.dumps(data)]
    if remember is not None:
        args += ["--remember", "true" if remember else "false"]
    if cookie is not None:
        args += ["--cookie", cookie]
    return _cli(args)


def rust_inspect(config, cookie, audience=None, ua=UA, now=None):
    args = ["inspect", "--config", json.dumps(config), "--cookie", cookie]
    return _cli(args + _req_args(ua, now=now, audience=audience))


def cookie_header(set_cookie, only=None, exclude=()):
    """Cookie request header from Set-Cookie values (drops deleted cookies)."""
    pairs = []
    for sc in set_cookie or []:
        pair = sc.split(";", 1)[0]
        name, _, value = pair.partition("=")
        if value == "" or "Max-Age=0" in sc:
            continue
        if only is not None and name not in only:
            continue
        if name in exclude:
            continue
        pairs.append(f"{name}={value}")
    return "; ".join(pairs)


def redis(*args):
    p = subprocess.run(["redis-cli", "-h", "127.0.0.1", "-p", REDIS_PORT, "-n", REDIS_DB] + [str(a) for a in args],
                       capture_output=True, text=True, timeout=30)
    return p.stdout.strip()


def load_rust_records(records, now):
    """Write the storage records printed by `session mint` into Redis, as the Lua storage would."""
    for r in records or []:
        name = f"{r['name']}:{r['key']}"
        redis("SET", name, r["value"], "EX", r["ttl"])
        md = r.get("metadata")
        if md:
            for aud, sub in zip(md["audiences"], md["subjects"]):
                k = f"{r['name']}:{aud}:{sub}"
                redis("ZADD", k, now + r["ttl"], r["key"])
                redis("EXPIRE", k, r["ttl"])


def decrypt_payload(config, cookie_value_str, chunks=()):
    """Plaintext JSON (inflated) of a cookie-storage session cookie (HKDF keys, not remember)."""
    import base64
    import hashlib
    import hmac
    import zlib
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    def b64d(s):
        return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))

    if "ikm_hex" in config:
        ikm = bytes.fromhex(config["ikm_hex"])
    elif "ikm" in config:
        ikm = config["ikm"].encode()
    else:
        ikm = hashlib.sha256(config["secret"].encode()).digest()
    header = b64d(cookie_value_str[:110])
    payload = b64d(cookie_value_str[110:] + "".join(chunks))
    sid = header[3:35]
    prk = hmac.new(b"\0" * 32, ikm, hashlib.sha256).digest()
    okm, t, i = b"", b"", 1
    while len(okm) < 44:
        t = hmac.new(prk, t + b"encryption:" + sid + bytes([i]), hashlib.sha256).digest()
        okm += t
        i += 1
    key, iv = okm[:32], okm[32:44]
    pt = AESGCM(key).decrypt(iv, payload + header[47:63], header[:47])
    flags = int.from_bytes(header[1:3], "little")
    if flags & 0x10:
        pt = zlib.decompress(pt, -15)
    return pt
