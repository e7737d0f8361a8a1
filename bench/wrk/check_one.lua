-- GET /blacklist/check?phone_number=<E.164>, cycling through the numbers of a file.
-- Usage: wrk ... -s check_one.lua -H 'Authorization: Bearer …' http://127.0.0.1:PORT -- NUMBERS_FILE [QUERY]
-- NUMBERS_FILE: one E.164 number ("+48…") a line; '+' is sent URL-encoded as %2B.
-- QUERY: appended to every URL as given, e.g. "&channel=sms&sender=ACME" (a scoped check).
-- Every request is formatted once in init(); request() only hands the next one out.

package.path = debug.getinfo(1, "S").source:match("^@(.*/)") .. "?.lua;" .. package.path
local report = require("report")

local requests = {}

function init(args)
   local path = args[1] or error("check_one.lua: pass the numbers file after --")
   local query = args[2] or ""
   for line in io.lines(path) do
      if line ~= "" then
         local encoded = line:gsub("%+", "%%2B")
         requests[#requests + 1] = wrk.format("GET", "/blacklist/check?phone_number=" .. encoded .. query)
      end
   end
   if #requests == 0 then error("check_one.lua: no numbers in " .. path) end
end

request = report.in_turn(requests)
setup = report.setup
response = report.response
done = report.done
