-- wrk script: a player fleet seeking. Each thread takes one token minted beforehand (by issue.lua, file
-- <prefix>.<thread id>), redeems it with its first range request and then asks for random 16 KiB ranges of the
-- same file within the token's range lease, as a player seeking through a recording does. Arguments: session id,
-- token file prefix, file length. `done` reports range answers (206 with exactly the range asked for) per second
-- and the p99 latency; the few requests racing the redemption of their thread's token are counted as refused.
dofile(debug.getinfo(1, "S").source:match("^@(.-)[^/]*$") .. "threads.lua")

function init(args)
  session = args[1]
  for line in io.lines(args[2] .. "." .. id) do
    token = line
    break
  end
  length = tonumber(args[3])
  span = 16384
  ranges = 0
  refused = 0
  wrong = 0
  math.randomseed(id + 1)
end

function request()
  local from = math.random(0, length - span)
  return wrk.format("GET", "/callrec/sendcallfile.mp3;jsessionid=" .. session .. "?token=" .. token,
    { Range = "bytes=" .. from .. "-" .. (from + span - 1) })
end

function response(status, headers, body)
  if status == 206 and body and #body == span then
    ranges = ranges + 1
  elseif status == 403 then
    refused = refused + 1
  else
    wrong = wrong + 1
  end
end

function done(summary, latency, requests)
  local r, f, w = totals("ranges", "refused", "wrong")
  io.write(string.format("ranges %d refused %d wrong %d seconds %.3f p99_ms %.2f\n", r, f, w, summary.duration / 1e6, latency:percentile(99) / 1000))
end
