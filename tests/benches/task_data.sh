#!/usr/bin/env bash
# Task-data throughput and cache, measured over HTTP on whole /predict requests: a release
# host serves the `misbehave` test component, whose `fetch` action fetches a 20 MiB file
# from a local HTTP server (python3 -m http.server) granted in its manifest.
#   tests/benches/task_data.sh            (after `cargo build --release -p wasml` and a
#                                          `cargo build -p wasml-tests --tests`)
# Prints the median time of 10 fetches without the cache (MiB/s), then a first and repeated
# retrieval with the cache, and the cache's hit rate from GET /models.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
host_bin="$root/target/release/wasml"
component="$(ls -t "$root"/target/debug/build/wasml-tests-*/out/misbehave.wasm | head -1)"
work="$(mktemp -d)"
trap 'kill $(jobs -p) 2>/dev/null; rm -rf "$work"' EXIT
mkdir -p "$work/files" "$work/models"
head -c $((20 << 20)) /dev/urandom > "$work/files/big.bin"
file_port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
(cd "$work/files" && exec python3 -m http.server "$file_port" --bind 127.0.0.1 >/dev/null 2>&1) &
cp "$component" "$work/models/m.wasm"
printf '[limits]\nfetch_mib = 64\n[capabilities]\nfetch = ["http://127.0.0.1:%s"]\n' "$file_port" > "$work/models/m.toml"

run_host() { # cache MiB, port
    "$host_bin" serve --models "$work/models" --data-dir "$work/data-$1" --host 127.0.0.1 \
        --port "$2" --fetch-cache-mib "$1" --no-watch 2>"$work/host-$1.log" &
    for _ in $(seq 100); do curl -sf "127.0.0.1:$2/models/m/health" >/dev/null && return; sleep 0.1; done
    echo "host did not start" >&2; cat "$work/host-$1.log" >&2; exit 1
}
body="{\"tasks\": [{\"id\": 1, \"data\": {\"action\": \"fetch\", \"url\": \"http://127.0.0.1:$file_port/big.bin\"}}]}"
once() { curl -s -o "$work/answer" -w '%{time_total}\n' -H 'Content-Type: application/json' -d "$body" "127.0.0.1:$1/models/m/predict"; }

sleep 0.5
run_host 0 19101
for _ in 1 2; do once 19101 >/dev/null; done # warm up
grep -q '"size":20971520' "$work/answer" || { cat "$work/answer"; exit 1; }
times=$(for _ in $(seq 10); do once 19101; done | sort -n)
median=$(echo "$times" | sed -n 5,6p | awk '{s+=$1} END {print s/2}')
echo "no cache: median of 10 whole requests fetching 20 MiB: ${median}s = $(awk -v t="$median" 'BEGIN {printf "%.0f", 20/t}') MiB/s"

run_host 1024 19102
first=$(once 19102)
repeats=$(for _ in $(seq 9); do once 19102; done | sort -n | sed -n 5p)
echo "cache: first retrieval ${first}s, repeated (median of 9) ${repeats}s"
curl -s 127.0.0.1:19102/models | python3 -c 'import json,sys; c=json.load(sys.stdin)["task_data"]["cache"]; print("cache:", c, "hit rate %.0f%%" % (100*c["hits"]/(c["hits"]+c["misses"])))'
