-- Shared by the wrk scripts (loaded by each, beside it): numbers every thread (`id`, from 0) and adds up the
-- counters each thread keeps, for `done`.
local threads = {}
local counter = 0

function setup(thread)
  thread:set("id", counter)
  counter = counter + 1
  table.insert(threads, thread)
end

-- The sums over every thread of the named counters, in the order named.
function totals(...)
  local sums = {}
  for i, name in ipairs({...}) do
    sums[i] = 0
    for _, t in ipairs(threads) do
      sums[i] = sums[i] + t:get(name)
    end
  end
  return unpack(sums)
end
