-- POST /blacklist/check with JSON bodies read from a file, one body a line, in turn.
-- Usage: wrk ... -s check_bulk.lua -H 'Authorization: Bearer …' http://127.0.0.1:PORT -- BODIES_FILE
-- Each line: {"phone_numbers": [...]}; every request is formatted once in init().

package.path = debug.getinfo(1, "S").source:match("^@(.*/)") .. "?.lua;" .. package.path
local report = require("report")

local requests = {}

function init(args)
   local path = args[1] or error("check_bulk.lua: pass the bodies file after --")
   -- wrk.format's headers replace wrk.headers (the -H ones) rather than add to them.
   local headers = {["Content-Type"] = "application/json"}
   for name, value in pairs(wrk.headers) do headers[name] = value end
   for line in io.lines(path) do
      if line ~= "" then
         requests[#requests + 1] = wrk.format("POST", "/blacklist/check", headers, line)
      end
   end
   if #requests == 0 then error("check_bulk.lua: no bodies in " .. path) end
end

request = report.in_turn(requests)
setup = report.setup
response = report.response
done = report.done
