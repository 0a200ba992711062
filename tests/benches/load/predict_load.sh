#!/usr/bin/env bash
# (Copied from the project's shared bench harness, shared/bench/; kept as it is there, so its
# numbers compare with the ones quoted in issues. Used by tests/benches/predict.sh.)
# Load-test a Label Studio ML backend (Python reference or the Rust rewrite).
#
#   bench/predict_load.sh [BASE_URL]          # default http://127.0.0.1:9090
#
# Sequence: wait for GET /health -> POST /setup once -> (optional) POST /webhook once
# (ANNOTATION_CREATED, so "repeater" backends such as the simplest backend return
# non-empty predictions) -> check /predict answers 200 with one result per task ->
# wrk load on POST /predict with 1 task/request and with 100 tasks/request
# (-> optionally POST /webhook), each REPS times; prints every run and a median table.
#
# Environment knobs (defaults in brackets):
#   DURATION [10s]  CONNS [16]  THREADS [2]  REPS [3]  TIMEOUT [30s] (wrk --timeout)
#   WRK_CPUS [1]    cpu list for `taskset -c` on wrk and the RSS sampler ("" = no pinning)
#   SERVER_PID      root pid of the server process tree for RSS/PSS sampling
#                   (default: pids listening on the port, found with `ss`, plus descendants)
#   SEED_WEBHOOK [1]  POST the webhook payload once before the predict runs
#   SCENARIOS ["predict_1 predict_100 webhook"]  any subset; webhook = /webhook fit round trip
#   QUIET_MAX_BUSY [20]  before each run wait (<= QUIET_WAIT_MAX [180] s) until machine-wide
#                   CPU busy% over 1 s is below this (0 disables); the value seen is printed
#   MAX_FOREIGN [15]  a run during which other processes (not the server tree, not this
#                   script/wrk) used more than this % of the whole machine's CPU is re-run,
#                   up to RETRIES [2] times; the run with the least foreign CPU is kept and its
#                   foreign% is printed (column "foreign%") so noisy numbers can be spotted
#   BOOST_NICE      e.g. -10: on a shared, busy machine give the server tree and this script
#                   (incl. wrk) scheduler priority: sets the nice of their autogroups
#                   (/proc/PID/autogroup; needs root and CONFIG_SCHED_AUTOGROUP) and renices
#                   the processes. Off by default. Use the same setting for every server compared.
#   PAYLOAD_DIR [bench/payloads]  CSV (append one row per run)  LABEL [server] (CSV label)
#
# Needs: bash, curl, wrk (apt-get install -y wrk), ss (iproute2), awk; python3 optional
# (only for the response sanity check).
set -euo pipefail

BASE_URL="${1:-${BASE_URL:-http://127.0.0.1:9090}}"
BASE_URL="${BASE_URL%/}"
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
PAYLOAD_DIR="${PAYLOAD_DIR:-$HERE/payloads}"
LUA="$HERE/post_json.lua"
DURATION="${DURATION:-10s}"
CONNS="${CONNS:-16}"
THREADS="${THREADS:-2}"
REPS="${REPS:-3}"
TIMEOUT="${TIMEOUT:-30s}"
WRK_CPUS="${WRK_CPUS-1}"
SEED_WEBHOOK="${SEED_WEBHOOK:-1}"
SCENARIOS="${SCENARIOS:-predict_1 predict_100 webhook}"
QUIET_MAX_BUSY="${QUIET_MAX_BUSY:-20}"
QUIET_WAIT_MAX="${QUIET_WAIT_MAX:-180}"
LABEL="${LABEL:-server}"
MAX_FOREIGN="${MAX_FOREIGN:-15}"
BOOST_NICE="${BOOST_NICE:-}"
RETRIES="${RETRIES:-2}"
CSV="${CSV:-}"

command -v wrk >/dev/null || { echo "wrk not found (apt-get install -y wrk)" >&2; exit 2; }
[ -f "$LUA" ] || { echo "missing $LUA" >&2; exit 2; }
for f in setup.json predict_1.json predict_100.json webhook_annotation_created.json; do
  [ -f "$PAYLOAD_DIR/$f" ] || { echo "missing $PAYLOAD_DIR/$f (run bench/gen_payloads.py)" >&2; exit 2; }
done

PIN=()
if [ -n "$WRK_CPUS" ] && command -v taskset >/dev/null; then PIN=(taskset -c "$WRK_CPUS"); fi

log() { echo "[$(date +%H:%M:%S)] $*" >&2; }

post() { # post PATH FILE -> prints "HTTP_CODE" and leaves body in $TMPD/resp.json
  curl -sS -o "$TMPD/resp.json" -w '%{http_code}' -X POST \
    -H 'Content-Type: application/json' --data-binary "@$2" "$BASE_URL$1"
}

TMPD="$(mktemp -d)"
SAMPLER_PID=""
SELF_AG_NICE=""
cleanup() {
  if [ -n "$SAMPLER_PID" ]; then kill "$SAMPLER_PID" 2>/dev/null || true; fi
  # give the caller's autogroup its old nice back (BOOST_NICE changes it)
  if [ -n "$SELF_AG_NICE" ]; then echo "$SELF_AG_NICE" > "/proc/$$/autogroup" 2>/dev/null || true; fi
  rm -rf "$TMPD"
}
trap cleanup EXIT

# ---------- server process tree (for RSS/PSS) ----------
PORT="$(echo "$BASE_URL" | sed -E 's#^[a-z]+://[^:/]+:?([0-9]*).*#\1#')"
PORT="${PORT:-80}"
root_pids() {
  if [ -n "${SERVER_PID:-}" ]; then echo "$SERVER_PID"; return; fi
  ss -Hltnp "sport = :$PORT" 2>/dev/null | grep -o 'pid=[0-9]*' | cut -d= -f2 | sort -un
}
tree_pids() { # roots + all descendants
  local roots; roots="$(root_pids | tr '\n' ' ')"
  [ -n "$roots" ] || return 0
  ps -e -o pid=,ppid= | awk -v roots="$roots" '
    { par[$1]=$2; pids[NR]=$1 }
    END {
      n=split(roots, r, " "); for (i=1;i<=n;i++) keep[r[i]]=1
      changed=1
      while (changed) { changed=0
        for (k in pids) { p=pids[k]; if (!(p in keep) && (par[p] in keep)) { keep[p]=1; changed=1 } } }
      for (p in keep) print p
    }'
}
mem_now() { # prints "rss_kb pss_kb nprocs" summed over the tree
  local rss=0 pss=0 n=0 p v
  for p in $(tree_pids); do
    v="$(awk '/^VmRSS:/{print $2}' "/proc/$p/status" 2>/dev/null || true)"
    [ -n "$v" ] || continue
    rss=$((rss + v)); n=$((n + 1))
    v="$(awk '/^Pss:/{print $2}' "/proc/$p/smaps_rollup" 2>/dev/null || true)"
    [ -n "$v" ] && pss=$((pss + v))
  done
  echo "$rss $pss $n"
}
start_sampler() { # peak mem over the run -> $TMPD/peak
  echo "0 0 0" > "$TMPD/peak"
  (
    peak_r=0; peak_p=0; peak_n=0
    while :; do
      read -r r p n < <(mem_now)
      if [ "$r" -gt "$peak_r" ]; then peak_r=$r; peak_n=$n; fi
      if [ "$p" -gt "$peak_p" ]; then peak_p=$p; fi
      echo "$peak_r $peak_p $peak_n" > "$TMPD/peak.tmp" && mv "$TMPD/peak.tmp" "$TMPD/peak"
      sleep 0.2
    done
  ) &
  SAMPLER_PID=$!
  if [ ${#PIN[@]} -gt 0 ]; then taskset -pc "$WRK_CPUS" "$SAMPLER_PID" >/dev/null 2>&1 || true; fi
}
stop_sampler() { kill "$SAMPLER_PID" 2>/dev/null || true; wait "$SAMPLER_PID" 2>/dev/null || true; SAMPLER_PID=""; }

cpu_busy_pct() { # machine-wide CPU busy % over 1 s (user+nice+system+irq+softirq+steal; iowait counts as idle)
  local a b
  a="$(awk '/^cpu /{print $2+$3+$4+$7+$8+$9, $5+$6}' /proc/stat)"; sleep 1
  b="$(awk '/^cpu /{print $2+$3+$4+$7+$8+$9, $5+$6}' /proc/stat)"
  echo "$a $b" | awk '{ busy=$3-$1; idle=$4-$2; t=busy+idle; if (t<=0) print 0; else printf "%.0f", 100*busy/t }'
}
wait_quiet() {
  local busy waited=0
  busy="$(cpu_busy_pct)"
  if [ "$QUIET_MAX_BUSY" = "0" ]; then echo "$busy"; return; fi
  while [ "$busy" -ge "$QUIET_MAX_BUSY" ] && [ "$waited" -lt "$QUIET_WAIT_MAX" ]; do
    log "machine busy ${busy}% (>= ${QUIET_MAX_BUSY}%), waiting..."
    sleep 4; waited=$((waited + 5)); busy="$(cpu_busy_pct)"
  done
  echo "$busy"
}

HZ="$(getconf CLK_TCK 2>/dev/null || echo 100)"
machine_busy_s() { awk -v hz="$HZ" '/^cpu /{printf "%.3f %.3f\n", ($2+$3+$4+$7+$8+$9)/hz, ($2+$3+$4+$5+$6+$7+$8+$9)/hz}' /proc/stat; }
tree_cpu_s() { # utime+stime of the server tree, seconds
  local p t=0 v
  for p in $(tree_pids); do
    v="$(awk '{print $14+$15}' "/proc/$p/stat" 2>/dev/null || true)"; [ -n "$v" ] && t=$((t + v))
  done
  awk -v t="$t" -v hz="$HZ" 'BEGIN{printf "%.3f", t/hz}'
}
# CPU used by this shell's reaped children (wrk, the sampler, ...). `times` must run in this
# shell, not in a $(...) subshell, so it writes to a file first.
children_cpu_s() { tail -1 "$TMPD/times" | awk '{ s=0; for (i=1;i<=2;i++) { split($i, a, /[ms]/); s+=a[1]*60+a[2] } printf "%.3f", s }'; }
median() { sort -g | awk '{a[NR]=$1} END { if (NR==0) {print "nan"; exit} if (NR%2) print a[(NR+1)/2]; else printf "%.3f\n", (a[NR/2]+a[NR/2+1])/2 }'; }

# ---------- warm-up / protocol checks ----------
log "waiting for $BASE_URL/health"
for _ in $(seq 1 600); do curl -sf "$BASE_URL/health" >/dev/null 2>&1 && break; sleep 0.1; done
curl -sf "$BASE_URL/health" >/dev/null || { echo "server not healthy at $BASE_URL" >&2; exit 1; }
log "health: $(curl -s "$BASE_URL/health")"

code="$(post /setup "$PAYLOAD_DIR/setup.json")"
log "POST /setup -> $code $(head -c 200 "$TMPD/resp.json")"
[ "$code" = 200 ] || { echo "/setup failed" >&2; exit 1; }
if [ "$SEED_WEBHOOK" = 1 ]; then
  code="$(post /webhook "$PAYLOAD_DIR/webhook_annotation_created.json")"
  log "POST /webhook (seed) -> $code $(head -c 200 "$TMPD/resp.json")"
fi
for n in 1 100; do
  code="$(post /predict "$PAYLOAD_DIR/predict_$n.json")"
  [ "$code" = 200 ] || { echo "/predict ($n tasks) -> HTTP $code: $(head -c 500 "$TMPD/resp.json")" >&2; exit 1; }
  if command -v python3 >/dev/null; then
    got="$(python3 -c 'import json,sys; print(len(json.load(open(sys.argv[1]))["results"]))' "$TMPD/resp.json")"
    log "POST /predict ($n tasks) -> 200, results=$got, $(wc -c <"$TMPD/resp.json") bytes"
    [ "$got" = "$n" ] || log "WARNING: expected $n results, got $got (empty model? set SEED_WEBHOOK=1)"
  fi
done
if [ -n "$BOOST_NICE" ]; then
  SELF_AG_NICE="$(awk '{print $3}' /proc/$$/autogroup 2>/dev/null || true)"
  for p in $(tree_pids) $$; do
    renice -n "$BOOST_NICE" -p "$p" >/dev/null 2>&1 || true
    echo "$BOOST_NICE" > "/proc/$p/autogroup" 2>/dev/null || true
  done
  log "boost: nice $BOOST_NICE; autogroups: server $(cat "/proc/$(tree_pids | head -1)/autogroup" 2>/dev/null), self $(cat /proc/$$/autogroup 2>/dev/null)"
fi
read -r idle_rss idle_pss idle_n < <(mem_now)
log "server tree: pids=[$(tree_pids | tr '\n' ' ')] idle RSS=${idle_rss} kB PSS=${idle_pss} kB"

# ---------- load ----------
declare -A RES
[ -n "$CSV" ] && [ ! -s "$CSV" ] && echo "label,scenario,rep,tasks_per_req,req_s,p50_ms,p90_ms,p99_ms,max_ms,tasks_s,non2xx,timeouts,sock_err,peak_rss_kb,peak_pss_kb,cpu_busy_before_pct,foreign_cpu_during_pct,server_cpu_ms_per_req" > "$CSV"
for sc in $SCENARIOS; do
  case "$sc" in
    predict_1)   path=/predict; body="$PAYLOAD_DIR/predict_1.json"; ntasks=1 ;;
    predict_100) path=/predict; body="$PAYLOAD_DIR/predict_100.json"; ntasks=100 ;;
    webhook)     path=/webhook; body="$PAYLOAD_DIR/webhook_annotation_created.json"; ntasks=0 ;;
    *) echo "unknown scenario $sc" >&2; exit 2 ;;
  esac
  for rep in $(seq 1 "$REPS"); do
    best_line=""; best_foreign=""; best_peak=""; best_busy=""; best_cpu=""
    for attempt in $(seq 0 "$RETRIES"); do
      busy="$(wait_quiet)"
      start_sampler
      times > "$TMPD/times"; read -r m0_busy m0_tot < <(machine_busy_s); s0="$(tree_cpu_s)"; c0="$(children_cpu_s)"
      out="$(WRK_BODY="$body" "${PIN[@]}" wrk -t"$THREADS" -c"$CONNS" -d"$DURATION" --timeout "$TIMEOUT" -s "$LUA" "$BASE_URL$path" 2>&1)" || true
      read -r m1_busy m1_tot < <(machine_busy_s); s1="$(tree_cpu_s)"
      sleep 0.3; stop_sampler; times > "$TMPD/times"; c1="$(children_cpu_s)"
      foreign="$(awk -v b="$(awk -v a="$m0_busy" -v b="$m1_busy" 'BEGIN{print b-a}')" -v t="$(awk -v a="$m0_tot" -v b="$m1_tot" 'BEGIN{print b-a}')" \
                    -v s="$(awk -v a="$s0" -v b="$s1" 'BEGIN{print b-a}')" -v c="$(awk -v a="$c0" -v b="$c1" 'BEGIN{print b-a}')" \
                    'BEGIN{ f=(b-s-c)/(t>0?t:1)*100; if (f<0) f=0; printf "%.0f", f }')"
      line="$(echo "$out" | grep '^RESULT' || true)"
      [ -n "$line" ] || { echo "wrk failed: $out" >&2; exit 1; }
      # server CPU (user+sys of the whole tree) per request: robust to a noisy machine
      nreq="$(echo "$line" | tr ' ' '\n' | awk -F= '$1=="requests"{print $2}')"
      cpu_ms="$(awk -v a="$s0" -v b="$s1" -v n="$nreq" 'BEGIN{ if (n>0) printf "%.3f", (b-a)*1000/n; else print "nan" }')"
      if [ -z "$best_foreign" ] || [ "$foreign" -lt "$best_foreign" ]; then
        best_line="$line"; best_foreign="$foreign"; best_peak="$(cat "$TMPD/peak")"; best_busy="$busy"; best_cpu="$cpu_ms"
      fi
      [ "$foreign" -le "$MAX_FOREIGN" ] && break
      log "$sc rep $rep: other processes used ${foreign}% of the machine during the run; re-running"
    done
    line="$best_line"; foreign="$best_foreign"; busy="$best_busy"; cpu_ms="$best_cpu"
    read -r prss ppss pn <<< "$best_peak"
    val() { echo "$line" | tr ' ' '\n' | awk -F= -v k="$1" '$1==k{print $2}'; }
    rq="$(val req_s)"; p50="$(val p50_ms)"; p90="$(val p90_ms)"; p99="$(val p99_ms)"; mx="$(val max_ms)"
    st="$(val err_status)"; to="$(val err_timeout)"; se=$(( $(val err_connect) + $(val err_read) + $(val err_write) ))
    ts="$(awk -v r="$rq" -v n="$ntasks" 'BEGIN{printf "%.1f", r*n}')"
    printf '%-12s rep %d: %9.1f req/s  p50 %8.2f ms  p99 %8.2f ms  tasks/s %9s  server CPU %s ms/req  non2xx %s timeouts %s sockerr %s  peakRSS %s kB  PSS %s kB  (busy before %s%%, foreign during %s%%)\n' \
      "$sc" "$rep" "$rq" "$p50" "$p99" "$ts" "$cpu_ms" "$st" "$to" "$se" "$prss" "$ppss" "$busy" "$foreign"
    [ -n "$CSV" ] && echo "$LABEL,$sc,$rep,$ntasks,$rq,$p50,$p90,$p99,$mx,$ts,$st,$to,$se,$prss,$ppss,$busy,$foreign,$cpu_ms" >> "$CSV"
    RES[$sc.rq]+="$rq "; RES[$sc.p50]+="$p50 "; RES[$sc.p99]+="$p99 "; RES[$sc.ts]+="$ts "
    RES[$sc.rss]+="$prss "; RES[$sc.pss]+="$ppss "; RES[$sc.err]+="$((st + to + se)) "; RES[$sc.fg]+="$foreign "; RES[$sc.cpu]+="$cpu_ms "
  done
done

# ---------- summary ----------
m() { echo "${RES[$1]}" | tr ' ' '\n' | grep -v '^$' | median; }
mx() { echo "${RES[$1]}" | tr ' ' '\n' | grep -v '^$' | sort -g | tail -1; }
echo
echo "## $LABEL  ($BASE_URL; wrk -t$THREADS -c$CONNS -d$DURATION, $REPS reps, medians; wrk cpus='${WRK_CPUS}')"
echo "idle server tree RSS ${idle_rss} kB, PSS ${idle_pss} kB, ${idle_n} process(es)"
echo
echo "| scenario | req/s | p50 ms | p99 ms | tasks/s | server CPU ms/req | peak RSS kB (max) | peak PSS kB (max) | errors (sum) | foreign CPU % (max) |"
echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
for sc in $SCENARIOS; do
  errs="$(echo "${RES[$sc.err]}" | tr ' ' '\n' | awk '{s+=$1} END{print s+0}')"
  tsm="$(m "$sc.ts")"; [ "$sc" = webhook ] && tsm="-"
  echo "| $sc | $(m "$sc.rq") | $(m "$sc.p50") | $(m "$sc.p99") | $tsm | $(m "$sc.cpu") | $(mx "$sc.rss") | $(mx "$sc.pss") | $errs | $(mx "$sc.fg") |"
done
