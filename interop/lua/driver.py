#!/usr/bin/env python3
"""Cross-implementation interop check: cookies minted by the Rust `session` CLI are
opened by the real lua-resty-session (through the nginx harness), and cookies minted by
lua-resty-session are opened by the Rust CLI, for every config group of the vectors file,
plus chunked / deflated / remember-only / touched / refreshed / multi-audience / bound /
redis cases.  Prints one line per check and a closing "N passed, N failed" line.

Usage: driver.py [VECTORS_JSON]   (harness must be running: run.sh)
Env:   HARNESS_URL, SESSION_BIN, INTEROP_REDIS_DB (default 14), REDIS_OPEN_BIN (optional
       helper that opens Redis-backed sessions with the Rust RedisStorage, see README).
"""
import base64
import json
import os
import subprocess
import sys
import time

from lualib import (UA, cookie_header, load_rust_records, lua_mint, lua_open, redis,
                    rust_inspect, rust_mint)

VECTORS = sys.argv[1] if len(sys.argv) > 1 else "/work/shared/vectors/lua-resty-session-4.1.5.json"
REDIS_OPEN_BIN = os.environ.get("REDIS_OPEN_BIN", "/tmp/lua-interop/target/debug/redis-open")
CASES = {c["name"]: c for c in json.load(open(VECTORS))["cases"]}

results = []
NOTES = []


def note(msg):
    NOTES.append(msg)
    print("NOTE " + msg)


def check(name, cond, detail=""):
    results.append((name, bool(cond)))
    print(("PASS " if cond else "FAIL ") + name + ("" if cond else "  -- " + detail))
    return cond


def b64d(s):
    return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))


def header_fields(value):
    """Decode the 82-byte header of a cookie value (first 110 base64url chars)."""
    h = b64d(value[:110])
    le = lambda b: int.from_bytes(b, "little")
    return {"flags": le(h[1:3]), "creation_time": le(h[35:40]), "rolling_offset": le(h[40:44]),
            "data_size": le(h[44:47]), "idling_offset": le(h[63:66])}


def cookie_value(set_cookie, name):
    for sc in set_cookie:
        n, _, v = sc.split(";", 1)[0].partition("=")
        if n == name:
            return v
    return None


def attrs(sc):
    """Cookie name + attributes, with the Expires date masked (it depends on the second)."""
    name = sc.split("=", 1)[0]
    parts = [p.strip() for p in sc.split(";")[1:]]
    parts = ["Expires=<date>" if p.startswith("Expires=") else p for p in parts]
    return name + "; " + "; ".join(parts)


def rust_open(config, cookie, audience=None, ua=UA):
    if config.get("storage") == "redis":
        if not os.path.exists(REDIS_OPEN_BIN):
            return {"ok": False, "err": "no redis-open helper (see README)", "skipped": True}
        p = subprocess.run([REDIS_OPEN_BIN, json.dumps(config), cookie, audience or "", ua or ""],
                           capture_output=True, text=True, timeout=60)
        if p.returncode != 0:
            return {"ok": False, "err": p.stderr.strip()[-300:]}
        return json.loads(p.stdout)
    return rust_inspect(config, cookie, audience=audience, ua=ua)


def norm(v):
    """Lua cannot tell an empty array from an empty object: compare [] and {} as equal."""
    if isinstance(v, dict):
        return {k: norm(x) for k, x in v.items()}
    if isinstance(v, list):
        return [norm(x) for x in v] if v else {}
    return v


def same_view(got, data, subject, audience, remember):
    got = dict(got, data=norm(got.get("data")))
    exp = {"ok": True, "data": norm(data if data is not None else {}), "subject": subject,
           "audience": audience or "default", "remember": bool(remember)}
    have = {k: got.get(k) for k in exp}
    return have == exp, f"expected {json.dumps(exp)[:300]} got {json.dumps(have)[:300]} err={got.get('err')}"


def scenario(label, mint_cfg, open_cfg=None, audience=None, subject=None, data=None, remember=None):
    open_cfg = open_cfg or mint_cfg
    rem = remember if remember is not None else bool(mint_cfg.get("remember"))
    redis_cfg = mint_cfg.get("storage") == "redis"

    # Rust mints -> Lua opens
    r = rust_mint(mint_cfg, audience=audience, subject=subject, data=data, remember=remember)
    if not check(f"{label}: rust mint", r.get("set_cookie"), json.dumps(r)[:300]):
        return
    if redis_cfg:
        load_rust_records(r.get("storage"), int(time.time()))
    hdr = cookie_header(r["set_cookie"])
    lo = lua_open(open_cfg, hdr, audience=audience)
    check(f"{label}: rust->lua open", *same_view(lo, data, subject, audience, rem))

    # Lua mints -> Rust opens
    lm = lua_mint(mint_cfg, audience=audience, subject=subject, data=data, remember=remember)
    if not check(f"{label}: lua mint", lm.get("ok"), json.dumps(lm)[:300]):
        return
    lhdr = cookie_header(lm["set_cookie"])
    ro = rust_open(open_cfg, lhdr, audience=audience)
    if ro.get("skipped"):
        print(f"SKIP {label}: lua->rust open ({ro['err']})")
    else:
        check(f"{label}: lua->rust open", *same_view(ro, data, subject, audience, rem))

    # Set-Cookie parity: same cookie names, same attributes, same header flags, same sizes
    ra = [attrs(s) for s in r["set_cookie"]]
    la = [attrs(s) for s in lm["set_cookie"]]
    check(f"{label}: set-cookie names+attributes equal", ra == la, f"rust={ra} lua={la}")
    rn = [s.split("=", 1)[0] for s in r["set_cookie"]]
    for name in rn:
        rv, lv = cookie_value(r["set_cookie"], name), cookie_value(lm["set_cookie"], name)
        if rv and lv and len(rv) >= 110 and len(lv) >= 110 and name[-1:] not in "23456789":
            rf, lf = header_fields(rv), header_fields(lv)
            check(f"{label}: {name} header flags equal", rf["flags"] == lf["flags"], f"rust={rf} lua={lf}")
            if rf["data_size"] != lf["data_size"] and rf["flags"] & 0x10:
                note(f"{label}: {name} deflated data_size differs: rust {rf['data_size']} vs lua {lf['data_size']} "
                     "(different deflate output; each side inflates the other's)")
            else:
                check(f"{label}: {name} data_size equal", rf["data_size"] == lf["data_size"], f"rust={rf} lua={lf}")
    rl = [len(s.split(';')[0]) for s in r["set_cookie"]]
    ll = [len(s.split(';')[0]) for s in lm["set_cookie"]]
    check(f"{label}: cookie count equal", len(rl) == len(ll), f"rust={rl} lua={ll}")

    # remember-only opens, both ways
    if rem and not redis_cfg:
        rname = next((n for n in rn if "remember" in n), None)
        if rname:
            only = cookie_header(r["set_cookie"], only={rname})
            lo2 = lua_open(open_cfg, only, audience=audience)
            ok, why = same_view(lo2, data, subject, audience, rem)
            names = sorted(s.split("=", 1)[0] for s in lo2.get("set_cookie", []))
            check(f"{label}: rust remember-only -> lua open", ok and len(names) == 2, why + f" set={names}")
            lonly = cookie_header(lm["set_cookie"], only={rname})
            ro2 = rust_inspect(open_cfg, lonly, audience=audience)
            ok, why = same_view(ro2, data, subject, audience, rem)
            names = sorted(s.split("=", 1)[0] for s in ro2.get("set_cookie", []))
            check(f"{label}: lua remember-only -> rust open", ok and len(names) == 2, why + f" set={names}")
            # the cookies the other side issued on a remember-only open must open again
            lo3 = rust_inspect(open_cfg, cookie_header(lo2.get("set_cookie")), audience=audience)
            check(f"{label}: lua-reissued cookies -> rust open", same_view(lo3, data, subject, audience, rem)[0],
                  json.dumps(lo3)[:300])
            ro3 = lua_open(open_cfg, cookie_header(ro2.get("set_cookie")), audience=audience)
            check(f"{label}: rust-reissued cookies -> lua open", same_view(ro3, data, subject, audience, rem)[0],
                  json.dumps(ro3)[:300])
    return r, lm


def from_case(name, **over):
    c = CASES[name]
    inp = c.get("input") or {}
    o = c.get("open") or {}
    kw = dict(mint_cfg=c["config"], open_cfg=o.get("config"), audience=inp.get("audience"),
              subject=inp.get("subject"), data=inp.get("data"), remember=None)
    kw.update(over)
    return scenario(name, **kw)


# ---- one or more roundtrip cases per config group -----------------------------------------
for name in ["cookie_secret/small", "cookie_secret/no-subject", "cookie_secret/empty-data",
             "cookie_secret/rich-json", "cookie_secret/at-key",
             "cookie_ikm/small", "cookie_ikm/ascii-ikm",
             "rotation/minted-with-current", "rotation/minted-with-fallback-1", "rotation/minted-with-fallback-2",
             "ikm_rotation/minted-with-fallback", "ikm_rotation/minted-with-current",
             "compressed/repetitive", "compressed/tiny-not-compressed", "compressed/incompressible-small",
             "compressed/large-chunked", "compressed/default-threshold-2k",
             "chunked/1-chunks", "chunked/2-chunks", "chunked/3-chunks", "chunked/4-chunks",
             "remember_none/both-cookies", "remember_low/both-cookies", "remember_medium/both-cookies",
             "remember_high/both-cookies", "remember_very_high/both-cookies",
             "multi_audience/first", "bind/scheme-user-agent", "bind_ip/ip-scheme-user-agent",
             "host_prefix/basic", "host_prefix/remember-domain-path-overridden",
             "secure_prefix/basic", "cookie_attrs/all", "cookie_attrs/samesite-none",
             "timeouts/defaults-fresh", "timeouts/idling-100-fresh", "timeouts/rolling-100-fresh",
             "timeouts/absolute-100-fresh", "timeouts/remember-rolling-fresh",
             "redis/plain", "redis_meta/hashed", "redis_meta/unhashed"]:
    if name in CASES:
        from_case(name)
    else:
        print("SKIP (no such case)", name)

# ---- extras ----------------------------------------------------------------------------------
now = int(time.time())

# chunk count of the 3-chunk case, both sides
c3 = CASES["chunked/3-chunks"]
r = rust_mint(c3["config"], subject=c3["input"].get("subject"), data=c3["input"]["data"])
lm = lua_mint(c3["config"], subject=c3["input"].get("subject"), data=c3["input"]["data"])
check("extra chunked: both sides write 3 chunks",
      len(r["set_cookie"]) == 3 and len(lm["set_cookie"]) == 3,
      f"rust={len(r['set_cookie'])} lua={len(lm['set_cookie'])}")

# deflate flag set by both
cd = CASES["compressed/repetitive"]
r = rust_mint(cd["config"], subject=cd["input"].get("subject"), data=cd["input"]["data"])
lm = lua_mint(cd["config"], subject=cd["input"].get("subject"), data=cd["input"]["data"])
check("extra deflate: both set DEFLATE (0x10)",
      header_fields(cookie_value(r["set_cookie"], "session"))["flags"] & 0x10 and
      header_fields(cookie_value(lm["set_cookie"], "session"))["flags"] & 0x10)

# touched cookie: Rust mints 300 s ago (default timeouts), Lua touches, Rust opens
tcfg = CASES["timeouts/defaults-fresh"]["config"]
r = rust_mint(tcfg, subject="toucher", data={"t": 1}, now=now - 300)
lo = lua_open(tcfg, cookie_header(r["set_cookie"]), op="touch")
touched = cookie_value(lo.get("set_cookie", []), "session")
check("extra touch: lua touched a rust cookie", lo.get("ok") and lo.get("op_ok") and touched, json.dumps(lo)[:300])
if touched:
    hf = header_fields(touched)
    check("extra touch: idling_offset ~300", 299 <= hf["idling_offset"] <= 302, str(hf))
    ro = rust_inspect(tcfg, "session=" + touched)
    check("extra touch: rust opens lua-touched cookie", ro.get("ok") and ro.get("data") == {"t": 1}
          and ro["properties"].get("idling-timeout") in (899, 900, 901), json.dumps(ro)[:400])
# refresh past 3/4 of the rolling timeout: Lua re-saves (new sid, rolling offset kept)
rcfg0 = dict(tcfg, idling_timeout=0)
r = rust_mint(rcfg0, subject="roller", data={"t": 2}, now=now - 2800)
lo = lua_open(rcfg0, cookie_header(r["set_cookie"]), op="refresh")
rolled = cookie_value(lo.get("set_cookie", []), "session")
check("extra refresh: lua re-saved a rust cookie", lo.get("op_ok") and rolled, json.dumps(lo)[:300])
if rolled:
    hf = header_fields(rolled)
    ro = rust_inspect(rcfg0, "session=" + rolled)
    check("extra refresh: rust opens it (rolling_offset ~2800)",
          ro.get("ok") and 2799 <= hf["rolling_offset"] <= 2802 and ro.get("data") == {"t": 2},
          json.dumps(ro)[:300] + str(hf))
# Lua-minted cookie touched by nobody, re-saved by Rust (mint --cookie) 100 s later, opened by Lua
lm = lua_mint(tcfg, subject="resaver", data={"t": 3})
r = rust_mint(tcfg, cookie=cookie_header(lm["set_cookie"]), data={"t": 4}, now=now + 100)
if check("extra resave: rust re-saved a lua cookie", r.get("set_cookie"), json.dumps(r)[:300]):
    hf = header_fields(cookie_value(r["set_cookie"], "session"))
    lo = lua_open(tcfg, cookie_header(r["set_cookie"]))
    check("extra resave: lua opens it (rolling_offset ~100, same subject)",
          lo.get("ok") and lo.get("data") == {"t": 4} and lo.get("subject") == "resaver"
          and 99 <= hf["rolling_offset"] <= 102, json.dumps(lo)[:300] + str(hf))

# multi-audience: Lua aud1, Rust adds aud2, Lua opens both, Lua logs out aud1, Rust sees aud2 only
mcfg = CASES["multi_audience/first"]["config"]
lm = lua_mint(mcfg, audience="app-one", subject="alice@example.com", data={"who": "one"})
r = rust_mint(mcfg, audience="api-two", subject="alice@example.com", data={"who": "two"},
              cookie=cookie_header(lm["set_cookie"]))
hdr = cookie_header(r.get("set_cookie"))
a1 = lua_open(mcfg, hdr, audience="app-one")
a2 = lua_open(mcfg, hdr, audience="api-two")
check("extra multi-aud: lua opens aud1 of rust-extended cookie", a1.get("ok") and a1.get("data") == {"who": "one"}, json.dumps(a1)[:300])
check("extra multi-aud: lua opens aud2 of rust-extended cookie", a2.get("ok") and a2.get("data") == {"who": "two"}, json.dumps(a2)[:300])
lo = lua_open(mcfg, hdr, audience="app-one", op="logout")
hdr2 = cookie_header(lo.get("set_cookie"))
b2 = rust_inspect(mcfg, hdr2, audience="api-two")
b1 = rust_inspect(mcfg, hdr2, audience="app-one")
check("extra multi-aud: after lua logout(aud1) rust opens aud2", b2.get("ok") and b2.get("data") == {"who": "two"}, json.dumps(b2)[:300])
check("extra multi-aud: after lua logout(aud1) rust rejects aud1", not b1.get("ok"), json.dumps(b1)[:300])
# reverse: Rust aud1, Lua adds aud2 (open with missing audience, set data, save), Rust opens both
r = rust_mint(mcfg, audience="app-one", subject="bob", data={"who": "r1"})
lo = lua_open(mcfg, cookie_header(r["set_cookie"]), audience="api-two", op="set_data",
              data={"who": "l2"}, subject="bob", force=True)
hdr = cookie_header(lo.get("set_cookie"))
c1 = rust_inspect(mcfg, hdr, audience="app-one")
c2 = rust_inspect(mcfg, hdr, audience="api-two")
check("extra multi-aud: rust opens aud1 of lua-extended cookie", c1.get("ok") and c1.get("data") == {"who": "r1"}, json.dumps(c1)[:300])
check("extra multi-aud: rust opens aud2 of lua-extended cookie", c2.get("ok") and c2.get("data") == {"who": "l2"}, json.dumps(c2)[:300])

# bound cookies: a different User-Agent must be rejected, both ways
bcfg = CASES["bind_ip/ip-scheme-user-agent"]["config"]
r = rust_mint(bcfg, data={"b": 1}, ua="agent-A")
lo_ok = lua_open(bcfg, cookie_header(r["set_cookie"]), ua="agent-A")
lo_bad = lua_open(bcfg, cookie_header(r["set_cookie"]), ua="agent-B")
check("extra bind: lua opens rust cookie with same UA", lo_ok.get("ok"), json.dumps(lo_ok)[:300])
check("extra bind: lua rejects rust cookie with other UA", not lo_bad.get("ok"), json.dumps(lo_bad)[:300])
lm = lua_mint(bcfg, data={"b": 2}, ua="agent-A")
ro_ok = rust_inspect(bcfg, cookie_header(lm["set_cookie"]), ua="agent-A")
ro_bad = rust_inspect(bcfg, cookie_header(lm["set_cookie"]), ua="agent-B")
ro_ip = rust_inspect(bcfg, cookie_header(lm["set_cookie"]), ua="agent-A") if False else None
check("extra bind: rust opens lua cookie with same UA", ro_ok.get("ok"), json.dumps(ro_ok)[:300])
check("extra bind: rust rejects lua cookie with other UA", not ro_bad.get("ok"), json.dumps(ro_bad)[:300])
# no User-Agent at save: the bind input is then only "http" (ip/scheme skipped when empty)
ucfg = CASES["bind/scheme-user-agent"]["config"]
lm = lua_mint(ucfg, data={"b": 3}, ua=None)
ro = rust_inspect(ucfg, cookie_header(lm["set_cookie"]), ua=None)
check("extra bind: lua cookie saved without UA opens in rust without UA", ro.get("ok"), json.dumps(ro)[:300])
r = rust_mint(ucfg, data={"b": 4}, ua=None)
lo = lua_open(ucfg, cookie_header(r["set_cookie"]), ua=None)
check("extra bind: rust cookie saved without UA opens in lua without UA", lo.get("ok"), json.dumps(lo)[:300])

# redis: the record Lua writes equals in shape what Rust records (key name, JSON value, TTL, metadata)
rcfg = CASES["redis_meta/hashed"]["config"]
lm = lua_mint(rcfg, audience="aud-x", subject="carol@example.com", data={"r": 1})
r = rust_mint(rcfg, audience="aud-x", subject="carol@example.com", data={"r": 1})
rec = (r.get("storage") or [{}])[0]
lv = cookie_value(lm["set_cookie"], "session")
import hashlib
sid = b64d(lv[:110])[3:35]
lkey = base64.urlsafe_b64encode(hashlib.sha256(sid).digest()).decode().rstrip("=")
stored = redis("GET", f"session:{lkey}")
ttl = int(redis("TTL", f"session:{lkey}") or -1)
mkey = f"session:{rec['metadata']['audiences'][0]}:{rec['metadata']['subjects'][0]}" if rec.get("metadata") else None
score = redis("ZSCORE", mkey, lkey) if mkey else ""
check("extra redis: lua record is a JSON array like rust's", stored.startswith('["') and rec.get("value", "").startswith('["')
      and len(json.loads(stored)) == len(json.loads(rec["value"])), f"lua={stored[:80]} rust={rec.get('value', '')[:80]}")
check("extra redis: lua TTL == rust TTL", abs(ttl - rec.get("ttl", 0)) <= 2, f"lua={ttl} rust={rec.get('ttl')}")
check("extra redis: lua metadata set name == rust metadata set name (score now+ttl)",
      score != "" and abs(float(score) - (now + rec.get("ttl", 0))) <= 5, f"key={mkey} score={score!r}")

passed = sum(1 for _, ok in results if ok)
failed = len(results) - passed
print(f"{len(NOTES)} notes (differences that do not break interop)")
print(f"{passed} passed, {failed} failed")
sys.exit(1 if failed else 0)
