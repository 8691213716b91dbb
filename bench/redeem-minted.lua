-- wrk script: redeems tokens minted beforehand (by issue.lua, files <prefix>.0, <prefix>.1, ...: thread n reads
-- file n % files), one request per token, each answered with the file. A thread that runs out asks for tokens
-- instead (counted as `fallback`, not as redemptions). Arguments: session id, couple id, token file prefix, files,
-- expected body length. `done` reports redemptions (a 200 carrying the whole file) per second and the p99 latency.
dofile(debug.getinfo(1, "S").source:match("^@(.-)[^/]*$") .. "threads.lua")

function init(args)
  session = args[1]
  couple = args[2]
  tokens = {}
  for line in io.lines(args[3] .. "." .. (id % tonumber(args[4]))) do
    table.insert(tokens, line)
  end
  length = tonumber(args[5])
  redeemed = 0
  fallback = 0
  wrong = 0
end

function request()
  local token = table.remove(tokens)
  if token then
    return wrk.format("GET", "/callrec/sendcallfile.mp3;jsessionid=" .. session .. "?token=" .. token)
  end
  return wrk.format("GET", "/callrec/downloadtoken;jsessionid=" .. session .. "?id_call[]=" .. couple .. "&action=download")
end

function response(status, headers, body)
  if status == 200 and body and #body == length then
    redeemed = redeemed + 1
  elseif status == 200 and body and string.match(body, "<reply>(%w+)</reply>") then
    fallback = fallback + 1
  else
    wrong = wrong + 1
  end
end

function done(summary, latency, requests)
  local r, f, w = totals("redeemed", "fallback", "wrong")
  io.write(string.format("redeemed %d fallback %d wrong %d seconds %.3f p99_ms %.2f\n", r, f, w, summary.duration / 1e6, latency:percentile(99) / 1000))
end
