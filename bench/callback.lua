-- callback.lua: wrk script for bench/run.sh. Sends POST /api/clay/enriched
-- with the bodies of a file written by signed_bodies.js, one per request, in
-- order, each with its signature:
--   wrk -t1 -s callback.lua URL -- FILE hmac|static SECRET
-- hmac: X-Clay-Signature: <hex> (what SEED.md's handler checks and what
-- clay-function's hmac scheme accepts); static: X-Clay-Secret: SECRET (a
-- real Clay HTTP API column's static header). A file of one line is the
-- duplicate path. Requests are formatted once in init, so request() costs a
-- table lookup. If the file runs out the script starts over (then bodies
-- repeat: done() prints "wrapped N" so bench/run.sh can reject the sample).
local reqs, n, i, wrapped = {}, 0, 0, 0
local threads = {}

function setup(thread)
   table.insert(threads, thread)
end

function init(args)
   local file, mode, secret = args[1], args[2], args[3]
   local f = assert(io.open(file, "r"))
   for line in f:lines() do
      local tab = line:find("\t", 1, true)
      local sig, body = line:sub(1, tab - 1), line:sub(tab + 1)
      local headers = {["Content-Type"] = "application/json"}
      if mode == "static" then
         headers["X-Clay-Secret"] = secret
      else
         headers["X-Clay-Signature"] = sig
      end
      n = n + 1
      reqs[n] = wrk.format("POST", "/api/clay/enriched", headers, body)
   end
   f:close()
end

function request()
   i = i + 1
   if i > n then
      i = 1
      wrapped = wrapped + 1
   end
   return reqs[i]
end

function done(summary, latency, requests)
   local w = 0
   for _, t in ipairs(threads) do
      w = w + (t:get("wrapped") or 0)
   end
   io.write(string.format("wrapped %d\n", w))
end
