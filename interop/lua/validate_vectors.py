#!/usr/bin/env python3
"""Sanity check of the assembled Lua stack: the harness must open every
roundtrip cookie of the vectors file with the recorded result."""
import json
import sys
import time

from lualib import lua_open, redis

VECTORS = sys.argv[1] if len(sys.argv) > 1 else "/work/shared/vectors/lua-resty-session-4.1.5.json"
cases = json.load(open(VECTORS))["cases"]
fails = 0
n = 0
for c in cases:
    if c["kind"] != "roundtrip":
        continue
    op = c["open"]
    if op["request"].get("now"):
        continue
    cfg = op.get("config") or c["config"]
    st = c.get("storage")
    if st:
        redis("SET", st["key"], st["value"], "EX", 600)
    ua = op["request"].get("user_agent")
    r = lua_open(cfg, op["request"]["cookie"], audience=op.get("audience"), ua=ua)
    exp = c["expected"]
    n += 1
    good = (r["ok"] == exp["ok"] and r.get("data") == exp.get("data") and r.get("subject") == exp.get("subject")
            and r.get("audience") == exp.get("audience"))
    if not good:
        fails += 1
        print("FAIL", c["name"], json.dumps(r)[:300], "expected", json.dumps(exp)[:200])
print(f"{n - fails} passed, {fails} failed")
sys.exit(1 if fails else 0)
