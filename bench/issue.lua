-- wrk script: asks for download tokens, nothing else, and writes every token it gets to <file>.<thread> (one a
-- line) for redeem-minted.lua. Arguments: session id, couple id, token file prefix. `done` reports tokens per second.
dofile(debug.getinfo(1, "S").source:match("^@(.-)[^/]*$") .. "threads.lua")

function init(args)
  session = args[1]
  couple = args[2]
  out = io.open(args[3] .. "." .. id, "w")
  issued = 0
  wrong = 0
  req = wrk.format("GET", "/callrec/downloadtoken;jsessionid=" .. session .. "?id_call[]=" .. couple .. "&action=download")
end

function request()
  return req
end

function response(status, headers, body)
  local token = status == 200 and body and string.match(body, "<reply>(%w+)</reply>")
  if token then
    out:write(token, "\n")
    issued = issued + 1
  else
    wrong = wrong + 1
  end
end

function done(summary, latency, requests)
  local i, w = totals("issued", "wrong")
  io.write(string.format("issued %d wrong %d seconds %.3f p99_ms %.2f\n", i, w, summary.duration / 1e6, latency:percentile(99) / 1000))
end
