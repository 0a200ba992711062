#!/usr/bin/env bash
# wasml against the reference Python ML backend (HumanSignal/label-studio-ml-backend), in one
# run on one machine, with the project's load harness (tests/benches/load/, copied from the
# project's shared bench harness; its README says how the reference was set up for the
# numbers quoted in issues, and this script does exactly that):
#   - load: tests/benches/load/predict_load.sh on the "simplest backend" (the reference's
#     the_simplest_backend app; wasml's `simplest` model, the same repeater): POST /predict
#     with 1 and with 100 tasks, POST /webhook (fit); req/s, tasks/s, server CPU per request;
#   - interactive: the same harness, 1-task /predict only, with Label Studio's real interactive
#     request (tests/data/protocol/predict-interactive.request.json) on the reference's
#     interactive_substring_matching app and on wasml's substring-matching builds in Rust, C,
#     JavaScript and Python (after a /setup with that request's label config, and a check that
#     each answers 200 with regions);
#   - large: a label config of one <Choices> with 200,000 <Choice>s on a <Text> (about 6 MB),
#     sent with one task to `simplest`: median time of 24 sequential /predict requests and the
#     server's RSS idle, right after them and 5 s later (the reference as well, within a time
#     budget: it takes seconds per request);
#   - cold: tests/benches/load/cold_start.sh, launch to the first 200 on /health and the idle
#     RSS, for wasml serving `simplest` only (empty compile cache, and with it warm) and for
#     the reference.
# Every server runs pinned to core 0 (the reference exactly as its Dockerfile runs it:
# gunicorn --preload, 1 worker, 8 threads), the load generator on core 1, the server tree and
# the harness boosted to nice -10 (BOOST_NICE); each server starts fresh, with an empty
# store. Prints the harness's own output, then one markdown table with wasml/reference ratios.
#
#   tests/benches/predict.sh      # full run: about 12 min on a quiet machine (+2 min the first time)
#   DURATION=2s REPS=1 QUIET_MAX_BUSY=0 MAX_FOREIGN=100 tests/benches/predict.sh   # smoke run
#
# Prerequisites: Linux with 2+ cores, bash, curl, taskset, setsid, ss, python3 and python3.11
# (PYTHON), wrk (installed with apt-get when missing and running as root); the reference
# repository's git directory (REF_GIT), e.g. from the search library's fetch of
# github:HumanSignal/label-studio-ml-backend: the script takes the reference's source from it
# (commit REF_COMMIT, the simplest backend's model.py from SIMPLEST_COMMIT) and sets up the
# rest once, idempotently: a venv (target/bench/ref-venv; label-studio-sdk, gunicorn and Flask
# from PyPI) and the two apps (target/bench/ref-apps/, made with `label-studio-ml create`).
# Once set up, REF_GIT is no longer needed. wasml's host (target/release/wasml) and models
# (target/bench/models, scripts/build-models; toolchains from scripts/install-toolchains) are
# built when missing.
#
# Environment knobs (defaults in brackets):
#   PARTS ["load interactive large cold"]  which parts to run
#   DURATION [10s] REPS [3] CONNS [16] THREADS [2] SCENARIOS ["predict_1 predict_100 webhook"]
#   QUIET_MAX_BUSY [20] QUIET_WAIT_MAX [180] MAX_FOREIGN [15] RETRIES [2] WRK_CPUS [1]
#   BOOST_NICE [-10] ("" for none)            all passed through to the harness
#   INTERACTIVE_MODELS ["substring-matching substring-matching-c substring-matching-js
#                       substring-matching-python"]
#   LARGE_CHOICES [200000] LARGE_REQS [24] LARGE_REF [1] (0: wasml only)
#   LARGE_REF_BUDGET_S [240]  the reference stops sending after this many seconds
#   COLD_REPS [5]
#   REF_GIT [/work/.mirror/HumanSignal+label-studio-ml-backend/repo]
#   REF_COMMIT [d02cedf35d0e5d21f2f437c120174c62f66bf57a]
#   SIMPLEST_COMMIT [b235e7f0125126aa7ef5e900deaaca1b5f7acb5c]
#   PYTHON [python3.11]  MODELS [target/bench/models]  WASML_PORT [9090]  REF_PORT [9191]
#   RESULTS [target/bench/predict-results/<date>]  CSVs and logs; the table is printed again
#                                                  from them by tests/benches/predict_table.py
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
load="$root/tests/benches/load"
host_bin="$root/target/release/wasml"
models="${MODELS:-$root/target/bench/models}"
bench="$root/target/bench"
venv="$bench/ref-venv"
apps="$bench/ref-apps"
PYTHON="${PYTHON:-python3.11}"
REF_GIT="${REF_GIT:-/work/.mirror/HumanSignal+label-studio-ml-backend/repo}"
REF_COMMIT="${REF_COMMIT:-d02cedf35d0e5d21f2f437c120174c62f66bf57a}"
SIMPLEST_COMMIT="${SIMPLEST_COMMIT:-b235e7f0125126aa7ef5e900deaaca1b5f7acb5c}"
PARTS="${PARTS:-load interactive large cold}"
INTERACTIVE_MODELS="${INTERACTIVE_MODELS:-substring-matching substring-matching-c substring-matching-js substring-matching-python}"
LARGE_CHOICES="${LARGE_CHOICES:-200000}"
LARGE_REQS="${LARGE_REQS:-24}"
LARGE_REF="${LARGE_REF:-1}"
LARGE_REF_BUDGET_S="${LARGE_REF_BUDGET_S:-240}"
COLD_REPS="${COLD_REPS:-5}"
WASML_PORT="${WASML_PORT:-9090}"
REF_PORT="${REF_PORT:-9191}"
RESULTS="${RESULTS:-$bench/predict-results/$(date +%Y%m%d-%H%M%S)}"
# Passed through to the harness (and cold_start.sh).
export DURATION="${DURATION:-10s}" REPS="${REPS:-3}" BOOST_NICE="${BOOST_NICE--10}"
export QUIET_MAX_BUSY="${QUIET_MAX_BUSY:-20}" MAX_FOREIGN="${MAX_FOREIGN:-15}"
SCENARIOS="${SCENARIOS:-predict_1 predict_100 webhook}"
wasml_url="http://127.0.0.1:$WASML_PORT"
ref_url="http://127.0.0.1:$REF_PORT"

log() { echo "[$(date +%H:%M:%S)] $*" >&2; }
die() { echo "predict.sh: $*" >&2; exit 1; }

# ---------- prerequisites ----------
for tool in curl taskset setsid ss python3; do
    command -v "$tool" >/dev/null || die "$tool is missing"
done
if ! command -v wrk >/dev/null; then
    if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null; then
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends wrk
    else
        die "wrk is missing (apt-get install -y wrk)"
    fi
fi
[ "$(nproc)" -ge 2 ] || log "WARNING: fewer than 2 cores: server and load generator share one"
for url in "$wasml_url" "$ref_url"; do
    if curl -s -o /dev/null --max-time 2 "$url/health"; then die "something already listens at $url; stop it first"; fi
done

if [ ! -x "$host_bin" ]; then
    log "building the host: cargo build --release -p wasml"
    (cd "$root" && cargo build --release -p wasml)
fi
needed=(simplest)
for m in $INTERACTIVE_MODELS; do needed+=("$m"); done
langs=""
for m in "${needed[@]}"; do
    [ -f "$models/$m.wasm" ] && continue
    case "$m" in
        *-python) lang=python ;; *-js) lang=js ;; *-c) lang=c ;; *) lang=rust ;;
    esac
    case " $langs " in *" $lang "*) ;; *) langs="$langs $lang" ;; esac
done
if [ -n "$langs" ]; then
    log "building the example models ($langs) into $models"
    WASML_LANGS="${langs# }" "$root/scripts/build-models" "$models" >/dev/null
fi
for m in "${needed[@]}"; do [ -f "$models/$m.wasm" ] || die "$models/$m.wasm is missing after scripts/build-models"; done

# ---------- the reference: source, venv, apps (once) ----------
ref_src="$bench/ref-src/label-studio-ml-backend-${REF_COMMIT:0:12}"
simplest_src="$bench/ref-src/the_simplest_backend-${SIMPLEST_COMMIT:0:12}"
ref_pkgs=(label-studio-sdk==2.1.2 gunicorn==22.0.0 'Flask>2.3' 'colorama~=0.4' 'requests~=2.31' 'semver~=3.0.2')
stamp="label-studio-ml@$REF_COMMIT ${ref_pkgs[*]}"
need_git() {
    [ -d "$REF_GIT" ] || die "the reference's git directory is not at REF_GIT=$REF_GIT (set REF_GIT, or fetch github:HumanSignal/label-studio-ml-backend with the search library and point REF_GIT at it)"
    git --git-dir="$REF_GIT" cat-file -e "$1^{commit}" 2>/dev/null || die "commit $1 is not in $REF_GIT"
}
if [ ! -f "$ref_src/setup.py" ]; then
    need_git "$REF_COMMIT"
    log "extracting label-studio-ml-backend $REF_COMMIT into $ref_src"
    rm -rf "$ref_src.tmp" && mkdir -p "$ref_src.tmp"
    # Only the package and the example it needs: snapshots of the repository may lack the
    # large blobs of other examples, which would break a whole-tree `git archive`.
    mapfile -t pkg_paths < <(git --git-dir="$REF_GIT" ls-tree --name-only "$REF_COMMIT" label_studio_ml/ | grep -vx label_studio_ml/examples)
    # (git may still complain about those missing blobs on stderr, harmlessly: kept aside)
    if ! git --git-dir="$REF_GIT" archive "$REF_COMMIT" setup.py README.md requirements.txt MANIFEST.in LICENSE \
        "${pkg_paths[@]}" label_studio_ml/examples/interactive_substring_matching 2>"$bench/ref-src/archive.err" |
        tar -x -C "$ref_src.tmp"; then
        cat "$bench/ref-src/archive.err" >&2
        die "could not extract $REF_COMMIT from $REF_GIT"
    fi
    rm -rf "$ref_src"
    mv "$ref_src.tmp" "$ref_src"
fi
if [ ! -f "$simplest_src/model.py" ]; then
    need_git "$SIMPLEST_COMMIT"
    mkdir -p "$simplest_src"
    git --git-dir="$REF_GIT" show "$SIMPLEST_COMMIT:label_studio_ml/examples/the_simplest_backend/model.py" > "$simplest_src/model.py.tmp"
    mv "$simplest_src/model.py.tmp" "$simplest_src/model.py"
fi
if [ "$(cat "$venv/.wasml-bench" 2>/dev/null)" != "$stamp" ] ||
    ! "$venv/bin/python" -c 'import label_studio_ml, label_studio_sdk, gunicorn, flask' 2>/dev/null; then
    command -v "$PYTHON" >/dev/null || die "$PYTHON is missing (the reference runs on Python 3.11; set PYTHON)"
    log "setting up the reference's venv in $venv"
    rm -rf "$venv"
    "$PYTHON" -m venv "$venv"
    "$venv/bin/pip" install --quiet --disable-pip-version-check --no-deps -e "$ref_src"
    "$venv/bin/pip" install --quiet --disable-pip-version-check "${ref_pkgs[@]}"
    echo "$stamp" > "$venv/.wasml-bench"
fi
make_app() { # name script
    [ -f "$apps/$1/_wsgi.py" ] && [ -f "$apps/$1/model.py" ] && return
    mkdir -p "$apps"
    rm -rf "${apps:?}/$1"
    (cd "$apps" && "$venv/bin/label-studio-ml" create "$1" --script "$2" >/dev/null)
    [ -f "$apps/$1/_wsgi.py" ] || die "label-studio-ml create $1 made no _wsgi.py"
}
make_app simplest "$simplest_src/model.py"
make_app interactive_substring_matching "$ref_src/label_studio_ml/examples/interactive_substring_matching/model.py"

# ---------- servers ----------
mkdir -p "$RESULTS/logs"
work="$(mktemp -d)"
SERVERS=()
SELF_AG="$(awk '{print $3}' "/proc/$$/autogroup" 2>/dev/null || true)"
cleanup() {
    local pid
    for pid in "${SERVERS[@]}"; do stop_server "$pid"; done
    # cold_start.sh boosts the autogroup it shares with this script and leaves it so
    if [ -n "$SELF_AG" ]; then echo "$SELF_AG" > "/proc/$$/autogroup" 2>/dev/null || true; fi
    rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

stop_server() { # pid (a process group leader: started with setsid)
    kill -TERM -- "-$1" 2>/dev/null || return 0
    for _ in $(seq 100); do kill -0 "$1" 2>/dev/null || break; sleep 0.1; done
    kill -KILL -- "-$1" 2>/dev/null || true
    wait "$1" 2>/dev/null || true
}
forget_server() { local keep=() p; for p in "${SERVERS[@]}"; do [ "$p" = "$1" ] || keep+=("$p"); done; SERVERS=("${keep[@]}"); }
wait_healthy() { # url pid log seconds
    for _ in $(seq $(($4 * 10))); do
        curl -sf -o /dev/null "$1/health" && return 0
        kill -0 "$2" 2>/dev/null || break
        sleep 0.1
    done
    tail -20 "$3" >&2
    die "no 200 from $1/health"
}
# Start the reference app $1; sets SERVER to its gunicorn master's pid.
start_ref() {
    local dir
    dir="$(mktemp -d "$work/ref-model-dir.XXXX")"
    (cd "$apps/$1" && PYTHONUNBUFFERED=1 PYTHONDONTWRITEBYTECODE=1 MODEL_DIR="$dir" exec setsid taskset -c 0 \
        "$venv/bin/gunicorn" --preload --bind "127.0.0.1:$REF_PORT" --workers 1 --threads 8 --timeout 0 _wsgi:app \
        >"$RESULTS/logs/ref-$1.$2.log" 2>&1) &
    SERVER=$!
    SERVERS+=("$SERVER")
    wait_healthy "$ref_url" "$SERVER" "$RESULTS/logs/ref-$1.$2.log" 60
}
# Start wasml serving the models named in $2 ($1: a name for the logs); sets SERVER.
start_wasml() {
    local dir m
    dir="$(mktemp -d "$work/wasml.XXXX")"
    mkdir -p "$dir/models"
    for m in $2; do cp "$models/$m.wasm" "$dir/models/"; done
    (exec setsid taskset -c 0 "$host_bin" serve --models "$dir/models" --data-dir "$dir/data" \
        --host 127.0.0.1 --port "$WASML_PORT" >"$RESULTS/logs/wasml-$1.log" 2>&1) &
    SERVER=$!
    SERVERS+=("$SERVER")
    for m in $2; do wait_healthy "$wasml_url/models/$m" "$SERVER" "$RESULTS/logs/wasml-$1.log" 600; done
}
stop() { stop_server "$SERVER"; forget_server "$SERVER"; SERVER=""; }

FAILED=()
harness() { # label base_url [env assignments...]
    local label="$1" url="$2"
    shift 2
    log "harness: $label at $url"
    if ! env "$@" SERVER_PID="$SERVER" CSV="$RESULTS/load.csv" LABEL="$label" \
        "$load/predict_load.sh" "$url" 2>&1 | tee "$RESULTS/logs/harness-$label.log"; then
        FAILED+=("harness $label")
    fi
}
tree_rss_kb() { # pid and its descendants, VmRSS summed
    local p total=0 v
    for p in $1 $(ps -e -o pid=,ppid= | awk -v r="$1" '$2==r{print $1}'); do
        v="$(awk '/^VmRSS:/{print $2}' "/proc/$p/status" 2>/dev/null || true)"
        [ -n "$v" ] && total=$((total + v))
    done
    echo "$total"
}
boost() { # pids...: nice and autogroup nice BOOST_NICE, as the harness does for the server tree
    [ -n "$BOOST_NICE" ] || return 0
    local p
    for p in "$@"; do
        renice -n "$BOOST_NICE" -p "$p" >/dev/null 2>&1 || true
        echo "$BOOST_NICE" > "/proc/$p/autogroup" 2>/dev/null || true
    done
}

log "results and logs: $RESULTS"
{
    echo "date=$(date -Is) host=$(uname -n) cores=$(nproc) kernel=$(uname -r)"
    echo "DURATION=$DURATION REPS=$REPS CONNS=${CONNS:-16} THREADS=${THREADS:-2} BOOST_NICE=$BOOST_NICE QUIET_MAX_BUSY=$QUIET_MAX_BUSY MAX_FOREIGN=$MAX_FOREIGN"
    echo "reference: label-studio-ml-backend $REF_COMMIT, the simplest backend from $SIMPLEST_COMMIT; $("$venv/bin/python" --version); $("$venv/bin/pip" list --disable-pip-version-check 2>/dev/null | awk '$1=="label-studio-sdk"||$1=="gunicorn"||$1=="Flask"{printf "%s %s; ", $1, $2}')"
    echo "wasml: $(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo '?') host $(stat -c %y "$host_bin" | cut -d. -f1)"
} > "$RESULTS/settings.txt"
cat "$RESULTS/settings.txt" >&2

# ---------- load: the simplest backend ----------
if [[ " $PARTS " == *" load "* ]]; then
    start_ref simplest load
    harness reference "$ref_url" SCENARIOS="$SCENARIOS"
    stop
    start_wasml load simplest
    harness wasml "$wasml_url/models/simplest" SCENARIOS="$SCENARIOS"
    stop
fi

# ---------- interactive substring matching ----------
if [[ " $PARTS " == *" interactive "* ]]; then
    ip="$work/interactive"
    mkdir -p "$ip"
    python3 - "$root/tests/data/protocol/predict-interactive.request.json" "$ip" "$load/payloads" <<'EOF'
import copy, json, os, shutil, sys
req = json.load(open(sys.argv[1]))
out = sys.argv[2]
def dump(name, body):
    with open(os.path.join(out, name), "w") as f:
        json.dump(body, f, separators=(",", ":"))
dump("predict_1.json", req)
many = copy.deepcopy(req)
many["tasks"] = [dict(req["tasks"][0], id=i + 1) for i in range(100)]
dump("predict_100.json", many)  # only for the harness's correctness check
dump("setup.json", {"project": req["project"], "schema": req["label_config"],
                    "hostname": "http://localhost:8080", "access_token": "0" * 40,
                    "model_version": None, "extra_params": None})
shutil.copy(os.path.join(sys.argv[3], "webhook_annotation_created.json"), out)
EOF
    check_interactive() { # label url: one answer, 200, with regions
        local code n
        code="$(curl -s -o "$work/answer.json" -w '%{http_code}' -H 'Content-Type: application/json' \
            --data-binary "@$ip/predict_1.json" "$2/predict")"
        n="$(python3 -c 'import json,sys; r=json.load(open(sys.argv[1]))["results"]; print(len(r), sum(len(p.get("result") or []) for p in r))' "$work/answer.json" 2>/dev/null || echo "0 0")"
        log "interactive $1: /predict -> $code, results=${n% *}, regions=${n#* }"
        if [ "$code" != 200 ] || [ "${n#* }" = 0 ]; then
            FAILED+=("interactive $1: HTTP $code, $(head -c 300 "$work/answer.json")")
            return 1
        fi
    }
    icommon=(PAYLOAD_DIR="$ip" SCENARIOS=predict_1 SEED_WEBHOOK=0)
    start_ref interactive_substring_matching interactive
    curl -sf -o /dev/null -H 'Content-Type: application/json' --data-binary "@$ip/setup.json" "$ref_url/setup" || true
    if check_interactive reference "$ref_url"; then harness interactive-reference "$ref_url" "${icommon[@]}"; fi
    stop
    start_wasml interactive "$INTERACTIVE_MODELS"
    for m in $INTERACTIVE_MODELS; do
        curl -sf -o /dev/null -H 'Content-Type: application/json' --data-binary "@$ip/setup.json" "$wasml_url/models/$m/setup" || true
        if check_interactive "$m" "$wasml_url/models/$m"; then harness "interactive-$m" "$wasml_url/models/$m" "${icommon[@]}"; fi
    done
    stop
fi

# ---------- large label config ----------
if [[ " $PARTS " == *" large "* ]]; then
    big="$work/large.json"
    python3 - "$big" "$LARGE_CHOICES" <<'EOF'
import json, sys
choices = "".join(f'<Choice value="choice-{i}"/>' for i in range(int(sys.argv[2])))
config = f'<View><Text name="text" value="$text"/><Choices name="choice" toName="text">{choices}</Choices></View>'
body = {"tasks": [{"id": 1, "data": {"text": "A short review: the delivery was fast."}}],
        "project": "1.1700000000", "label_config": config, "params": {"context": None}}
with open(sys.argv[1], "w") as f:
    json.dump(body, f, separators=(",", ":"))
print(len(config), file=open(sys.argv[1] + ".config-bytes", "w"))
EOF
    config_bytes="$(cat "$big.config-bytes")"
    [ -s "$RESULTS/large.csv" ] || echo "label,choices,config_bytes,requests,median_s,min_s,max_s,non200,rss_idle_kb,rss_after_kb,rss_after_5s_kb" > "$RESULTS/large.csv"
    large() { # label url budget_s
        local rss0 rss1 rss2 line
        # shellcheck disable=SC2046 # pids
        boost "$SERVER" $(ps -e -o pid=,ppid= | awk -v r="$SERVER" '$2==r{print $1}')
        sleep 2
        rss0="$(tree_rss_kb "$SERVER")"
        : > "$work/large.times"
        (
            boost "$BASHPID"
            t0="$(date +%s)"
            for _ in $(seq "$LARGE_REQS"); do
                taskset -c "${WRK_CPUS:-1}" curl -s -o "$work/large.answer" -w '%{http_code} %{time_total}\n' --max-time 600 \
                    -H 'Content-Type: application/json' --data-binary "@$big" "$2/predict" || echo "000 0"
                [ $(($(date +%s) - t0)) -lt "$3" ] || { log "large $1: time budget of $3 s spent"; break; }
            done >> "$work/large.times"
        )
        rss1="$(tree_rss_kb "$SERVER")"
        sleep 5
        rss2="$(tree_rss_kb "$SERVER")"
        line="$(sort -g -k2 "$work/large.times" | awk '{ if ($1 != 200) bad++; t[NR] = $2 } END {
            n = NR; m = (n % 2) ? t[(n + 1) / 2] : (t[n / 2] + t[n / 2 + 1]) / 2
            printf "%d,%.4f,%.4f,%.4f,%d", n, m, t[1], t[n], bad }')"
        echo "$1,$LARGE_CHOICES,$config_bytes,$line,$rss0,$rss1,$rss2" >> "$RESULTS/large.csv"
        log "large $1: $line (requests,median s,min,max,non200); RSS idle $rss0 kB, after $rss1 kB, 5 s later $rss2 kB"
        if grep -qv '^200 ' "$work/large.times"; then
            FAILED+=("large $1: $(grep -cv '^200 ' "$work/large.times") requests failed")
        fi
    }
    start_wasml large simplest
    large wasml "$wasml_url/models/simplest" 100000
    stop
    if [ "$LARGE_REF" = 1 ]; then
        start_ref simplest large
        large reference "$ref_url" "$LARGE_REF_BUDGET_S"
        stop
    fi
fi

# ---------- cold start ----------
if [[ " $PARTS " == *" cold "* ]]; then
    cold() { # label command...
        local label="$1"
        shift
        log "cold start: $label"
        if ! LOG_DIR="$RESULTS/logs/cold-$label" "$load/cold_start.sh" -n "$COLD_REPS" -u "$url" -- "$@" \
            2>&1 | tee "$RESULTS/cold-$label.txt"; then
            FAILED+=("cold start $label")
        fi
    }
    cd_dir="$work/cold"
    mkdir -p "$cd_dir/models"
    cp "$models/simplest.wasm" "$cd_dir/models/"
    url="$wasml_url"
    serve=(taskset -c 0 "$host_bin" serve --models "$cd_dir/models" --data-dir "$cd_dir/data" --host 127.0.0.1 --port "$WASML_PORT")
    # Each rep with an empty data dir: the component is compiled before /health says 200.
    # shellcheck disable=SC2016 # $0 is expanded by that bash
    cold wasml-empty-cache bash -c 'rm -rf "$0" && exec "$@"' "$cd_dir/data" "${serve[@]}"
    # The data dir as the last rep left it: the compiled component is taken from its cache.
    cold wasml-warm-cache "${serve[@]}"
    url="$ref_url"
    mkdir -p "$cd_dir/ref-model-dir"
    cold reference env -C "$apps/simplest" PYTHONUNBUFFERED=1 PYTHONDONTWRITEBYTECODE=1 MODEL_DIR="$cd_dir/ref-model-dir" \
        taskset -c 0 "$venv/bin/gunicorn" --preload --bind "127.0.0.1:$REF_PORT" --workers 1 --threads 8 --timeout 0 _wsgi:app
fi

echo
python3 "$root/tests/benches/predict_table.py" "$RESULTS"
if [ ${#FAILED[@]} -gt 0 ]; then
    printf 'FAILED: %s\n' "${FAILED[@]}" >&2
    exit 1
fi
