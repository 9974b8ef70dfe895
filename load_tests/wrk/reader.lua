-- A dashboard beside the upload storm: GET one page of a camera list, paced.
--
--   wrk -t1 -c1 -d60s --timeout 30s -s reader.lua URL -- TOKEN INTERVAL_MS

local token, interval
statuses = {}

function setup(thread)
  threads = threads or {}
  table.insert(threads, thread)
end

function init(args)
  token, interval = args[1], tonumber(args[2])
end

function request()
  return wrk.format("GET", nil, {["Authorization"] = "Token " .. token})
end

function delay()
  return interval
end

function response(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
end

function done(summary, latency, requests)
  local codes = {}
  for _, thread in ipairs(threads) do
    for code, count in pairs(thread:get("statuses")) do
      codes[code] = (codes[code] or 0) + count
    end
  end
  local parts = {}
  for code, count in pairs(codes) do
    parts[#parts + 1] = string.format('"%d": %d', code, count)
  end
  local e = summary.errors
  io.write(string.format(
    'RESULT {"seconds": %.3f, "requests": %d, "p50_ms": %.2f, "p99_ms": %.2f, '
      .. '"max_ms": %.2f, "errors": {"connect": %d, "read": %d, "write": %d, '
      .. '"status": %d, "timeout": %d}, "statuses": {%s}}\n',
    summary.duration / 1e6, summary.requests, latency:percentile(50) / 1000,
    latency:percentile(99) / 1000, latency.max / 1000, e.connect, e.read, e.write,
    e.status, e.timeout, table.concat(parts, ", ")))
end
