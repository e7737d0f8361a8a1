-- Shared by the check benchmark's wrk scripts: requests handed out in turn, the first answer
-- of 400 or more that any thread saw, and one JSON line with what bench/check.py reads
-- (prefixed BENCH-JSON).

local M = {}
local threads = {}

-- Runs in each thread's state: a request() that hands out `requests` (filled by init()) in turn.
function M.in_turn(requests)
   local next_index = 0
   return function()
      next_index = next_index % #requests + 1
      return requests[next_index]
   end
end

-- Runs in each thread's state: keep the first bad answer (wrk itself counts them all).
function M.response(status, headers, body)
   if status >= 400 and first_error == nil then
      first_error = status .. " " .. (body or ""):sub(1, 300)
   end
end

-- Runs in the main state, once per thread, before they start.
function M.setup(thread)
   threads[#threads + 1] = thread
end

local function quoted(text)
   return '"' .. text:gsub('[%c"\\]', function(c) return string.format("\\u%04x", c:byte()) end) .. '"'
end

-- Runs in the main state after every thread has finished.
function M.done(summary, latency, requests)
   local e = summary.errors
   local first = "null"
   for _, thread in ipairs(threads) do
      local seen = thread:get("first_error")
      if seen then first = quoted(seen) break end
   end
   io.write(string.format(
      'BENCH-JSON {"requests": %d, "duration_us": %d, "bytes": %d, '
         .. '"errors": {"connect": %d, "read": %d, "write": %d, "status": %d, "timeout": %d}, '
         .. '"latency_us": {"p50": %d, "p99": %d, "max": %d}, "first_error": %s}\n',
      summary.requests, summary.duration, summary.bytes,
      e.connect, e.read, e.write, e.status, e.timeout,
      latency:percentile(50), latency:percentile(99), latency.max, first))
end

return M
