-- wrk script: each thread keeps a queue of issued tokens; a request redeems one when it has one, otherwise
-- asks for a new token. `done` reports redemptions (a 200 carrying the file) per second.
dofile(debug.getinfo(1, "S").source:match("^@(.-)[^/]*$") .. "threads.lua")

function init(args)
  session = args[1]
  couple = args[2]
  tokens = {}
  redeemed = 0
  issued = 0
  wrong = 0
end

function request()
  local token = table.remove(tokens)
  if token then
    return wrk.format("GET", "/callrec/sendcallfile.mp3;jsessionid=" .. session .. "?token=" .. token)
  end
  return wrk.format("GET", "/callrec/downloadtoken;jsessionid=" .. session .. "?id_call[]=" .. couple .. "&action=download")
end

-- Responses of a thread's connections arrive in any order, so each is classified by what it carries.
function response(status, headers, body)
  local token = status == 200 and body and string.match(body, "<reply>(%w+)</reply>")
  if token then
    table.insert(tokens, token)
    issued = issued + 1
  elseif status == 200 and body and #body == 40521 then
    redeemed = redeemed + 1
  else
    wrong = wrong + 1
  end
end

function done(summary, latency, requests)
  local r, w = totals("redeemed", "wrong")
  io.write(string.format("redeemed %d wrong %d seconds %.3f\n", r, w, summary.duration / 1e6))
end
