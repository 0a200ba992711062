-- (Copied from the project's shared bench harness, shared/bench/; used by tests/benches/predict.sh.)
-- wrk script: POST a JSON file with Content-Type: application/json and print
-- a machine-readable RESULT line at the end.
--   WRK_BODY=/path/body.json wrk -s post_json.lua -c16 -t2 -d10s --timeout 30s http://127.0.0.1:9090/predict
-- Latencies from wrk are in microseconds; printed in milliseconds.
local path = os.getenv("WRK_BODY")
assert(path, "set WRK_BODY to the JSON body file")
local f = assert(io.open(path, "rb"))
local body = f:read("*a")
f:close()

wrk.method = "POST"
wrk.body = body
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Accept"] = "application/json"

function done(summary, latency, requests)
  local dur_s = summary.duration / 1e6
  local e = summary.errors
  io.write(string.format(
    "RESULT requests=%d duration_s=%.3f req_s=%.2f p50_ms=%.3f p90_ms=%.3f p99_ms=%.3f max_ms=%.3f mean_ms=%.3f " ..
    "err_connect=%d err_read=%d err_write=%d err_status=%d err_timeout=%d bytes_read=%d\n",
    summary.requests, dur_s, summary.requests / dur_s,
    latency:percentile(50) / 1000, latency:percentile(90) / 1000, latency:percentile(99) / 1000,
    latency.max / 1000, latency.mean / 1000,
    e.connect, e.read, e.write, e.status, e.timeout, summary.bytes))
end
