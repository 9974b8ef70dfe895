-- create-log uploads for wrk: a new camera serial and distinct JPEG bytes per request.
--
--   wrk -t8 -c8 -d60s --timeout 30s -s uploads.lua URL -- FRAMES_DIR COUNT TOKEN PREFIX OUT
--
-- One connection per thread, so each reply answers the thread's last request: the serials
-- of the accepted uploads are written to OUT (one per line) for the lost-write check.
-- Each upload is frame (n mod COUNT) of FRAMES_DIR (frame-000.jpg ...) with a JPEG comment
-- segment holding "<thread>:<n>" after the SOI marker: same pixels, same decode cost, new
-- bytes (a new SHA-256), as a real camera never sends the same frame twice.

local boundary = "wrkbench7d1f0c2b9a"
local frames = {}
local token, prefix
local n = 0
local serial = nil
accepted = {}
statuses = {}

function setup(thread)
  thread_count = (thread_count or 0) + 1
  thread:set("tid", thread_count)
  threads = threads or {}
  table.insert(threads, thread)
end

function init(args)
  local dir, count = args[1], tonumber(args[2])
  token, prefix, out_path = args[3], args[4], args[5]
  for i = 0, count - 1 do
    local file = assert(io.open(string.format("%s/frame-%03d.jpg", dir, i), "rb"))
    local jpeg = file:read("*a")
    file:close()
    frames[#frames + 1] = jpeg:sub(3) -- everything after the SOI marker
  end
end

local function comment(text)
  local size = #text + 2
  return "\255\216\255\254" .. string.char(math.floor(size / 256), size % 256) .. text
end

function request()
  n = n + 1
  serial = string.format("%s-%d-%06d", prefix, tid, n)
  local frame = frames[(n % #frames) + 1]
  local body = "--" .. boundary .. "\r\n"
    .. 'Content-Disposition: form-data; name="camera_id"\r\n\r\n' .. serial .. "\r\n"
    .. "--" .. boundary .. "\r\n"
    .. 'Content-Disposition: form-data; name="upload"; filename="frame.jpg"\r\n'
    .. "Content-Type: image/jpeg\r\n\r\n"
    .. comment(tid .. ":" .. n) .. frame .. "\r\n"
    .. "--" .. boundary .. "--\r\n"
  return wrk.format("POST", nil, {
    ["Authorization"] = "Token " .. token,
    ["Content-Type"] = "multipart/form-data; boundary=" .. boundary,
  }, body)
end

function response(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
  if status >= 200 and status < 300 and serial ~= nil then
    accepted[#accepted + 1] = serial
  end
  serial = nil
end

function done(summary, latency, requests)
  local out = assert(io.open(threads[1]:get("out_path"), "w"))
  local codes = {}
  for _, thread in ipairs(threads) do
    for _, s in ipairs(thread:get("accepted")) do
      out:write(s, "\n")
    end
    for code, count in pairs(thread:get("statuses")) do
      codes[code] = (codes[code] or 0) + count
    end
  end
  out:close()
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
