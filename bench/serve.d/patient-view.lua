-- wrk script of bench/serve: POSTs a CDS Hooks patient-view request and counts the answers by
-- status (wrk itself only counts "non-2xx").
--
--   BENCH_BODY    the request body (default bench/serve.d/patient-view.json)
--   BENCH_TOKENS  optional: a file of signed JWTs, one a line; then every request carries a
--                 fresh one (`Authorization: Bearer ...`), thread i using lines i, i+n, i+2n...
--                 A token is never sent twice unless the file runs out (the server then
--                 refuses the replay with 401, counted under "401").
--   BENCH_THREADS the number of wrk threads (-t), needed with BENCH_TOKENS
--   BENCH_STATUSES  set (to anything) to count answers by status (200, 503, 401, other) in a
--                 Lua response hook. Unset, wrk's own counter splits them only into 2xx and
--                 the rest (reported as 200 and "other"): the hook makes wrk hand every answer's
--                 headers and body to Lua, which costs wrk about a third of its CPU, on the
--                 same two cores as the server.
--
-- The last lines of wrk's output are machine-readable (STATUS, LATENCY, TOTAL) for
-- bench/serve_load.py.

local function slurp(path)
  local f = assert(io.open(path, "rb"))
  local s = f:read("*a")
  f:close()
  return s
end

wrk.method = "POST"
wrk.body = slurp(os.getenv("BENCH_BODY") or "bench/serve.d/patient-view.json")
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Accept"] = "application/json"

local tokens_path = os.getenv("BENCH_TOKENS")
local tokens = nil
if tokens_path then
  tokens = {}
  for line in io.lines(tokens_path) do
    if #line > 0 then tokens[#tokens + 1] = line end
  end
end

local threads = {}

function setup(thread)
  thread:set("tid", #threads)
  table.insert(threads, thread)
end

function init(args)
  s200, s401, s503, sother = 0, 0, 0, 0
  sent = 0
end

if tokens then
  local nthreads = tonumber(os.getenv("BENCH_THREADS") or "1")
  function request()
    local i = (tid + sent * nthreads) % #tokens + 1
    sent = sent + 1
    wrk.headers["Authorization"] = "Bearer " .. tokens[i]
    return wrk.format()
  end
end

local by_status = os.getenv("BENCH_STATUSES") ~= nil

if by_status then
  function response(status, headers, body)
    if status == 200 then
      s200 = s200 + 1
    elseif status == 503 then
      s503 = s503 + 1
    elseif status == 401 then
      s401 = s401 + 1
    else
      sother = sother + 1
    end
  end
end

function done(summary, latency, requests)
  local a, b, c, d = 0, 0, 0, 0
  if by_status then
    for _, t in ipairs(threads) do
      a = a + t:get("s200")
      b = b + t:get("s503")
      c = c + t:get("s401")
      d = d + t:get("sother")
    end
  else
    -- wrk's own count: answers that were not 2xx (all 2xx answers here are 200).
    a, d = summary.requests - summary.errors.status, summary.errors.status
  end
  io.write(string.format("STATUS 200=%d 503=%d 401=%d other=%d\n", a, b, c, d))
  io.write(string.format("LATENCY p50_us=%d p90_us=%d p99_us=%d max_us=%d mean_us=%.0f\n",
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max,
    latency.mean))
  local e = summary.errors
  io.write(string.format(
    "TOTAL requests=%d duration_us=%d connect=%d read=%d write=%d status=%d timeout=%d\n",
    summary.requests, summary.duration, e.connect, e.read, e.write, e.status, e.timeout))
end
