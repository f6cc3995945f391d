#!/usr/bin/env bash
# Instructions per delivered frame: a CPU figure that does not depend on the machine's noise.
#
# The release server runs under valgrind's callgrind (every thread counted into one total),
# the load tool drives a fixed chat workload against it over loopback, and the server is
# stopped with SIGTERM (a graceful shutdown, after which callgrind writes its totals). This is
# done for a short and a long run; start-up, logins and shutdown are the same in both, so
#
#     Ir per delivered frame = (Ir_long - Ir_short) / (deliveries_long - deliveries_short)
#
# is what the steady chat costs per frame delivered to a client: decoding the sender's
# packet, the permission check, storing the message (the storage thread counts too), encoding
# once, queueing on every recipient, waking the writers and the write calls (user space only:
# callgrind does not see the kernel).
#
# Usage (builds nothing; build first):
#   cargo build --release && cargo build --release --example loadgen
#   benches/instructions.sh [--runs N] [--clients 100] [--senders 10] [--rate 50]
#                           [--short 10] [--long 20] [--server-bin PATH] [--loadgen PATH]
#                           [--keep DIR]
#
# The default load is 100 clients in `general`, 10 of them sending 50 msg/s in total (5 000
# deliveries/s). Under callgrind the server runs ~50 times slower and on one core at a time:
# at the issue's 100 msg/s it used ~0.93 of a core and fell behind (p50 latency ~40 ms, p99
# up to seconds), so its writers coalesced frames by lagging and the figure depended on how
# far behind it was. At 50 msg/s it uses ~0.4–0.6 of a core, nearly every frame is its own
# write (as on a Pi at this rate), and the figure is repeatable. Check `lost` (must be 0)
# and the latencies in the printed lines when changing the load.
#
# Prints one line per pair of runs and, at the end, the median and min–max of the figure as
# one JSON line on stdout. Not run by CI or `cargo test`: it takes ~1 minute per pair.
# Needs valgrind (>= 3.19), jq.
set -euo pipefail

here="$(cd "$(dirname "$0")/.." && pwd)"
server_bin="$here/target/release/originchats-server"
loadgen="$here/target/release/examples/loadgen"
runs=3
clients=100
senders=10
rate=50
short=10
long=20
keep=""

while [ $# -gt 0 ]; do
    case "$1" in
    --runs) runs="$2"; shift 2 ;;
    --clients) clients="$2"; shift 2 ;;
    --senders) senders="$2"; shift 2 ;;
    --rate) rate="$2"; shift 2 ;;
    --short) short="$2"; shift 2 ;;
    --long) long="$2"; shift 2 ;;
    --server-bin) server_bin="$2"; shift 2 ;;
    --loadgen) loadgen="$2"; shift 2 ;;
    --keep) keep="$2"; shift 2 ;;
    -h | --help) sed -n '2,34p' "$0"; exit 0 ;;
    *) echo "unknown option $1 (see --help)" >&2; exit 2 ;;
    esac
done

for tool in valgrind jq; do
    command -v "$tool" >/dev/null || { echo "$tool is needed" >&2; exit 1; }
done
for bin in "$server_bin" "$loadgen"; do
    [ -x "$bin" ] || {
        echo "$bin not found: cargo build --release && cargo build --release --example loadgen" >&2
        exit 1
    }
done

work="$(mktemp -d)"
server_pid=""
cleanup() {
    if [ -n "$server_pid" ] && kill -0 "$server_pid" 2>/dev/null; then
        kill -TERM "$server_pid" 2>/dev/null || true
        wait "$server_pid" 2>/dev/null || true
    fi
    if [ -n "$keep" ]; then
        mkdir -p "$keep" && cp -r "$work"/. "$keep"/
    fi
    rm -rf "$work"
}
trap cleanup EXIT

# The load tool's own settings for a server it starts (see start_server in
# examples/loadgen.rs), here for a server started under callgrind.
config() {
    cat <<EOF
{
  "websocket": {"host": "127.0.0.1", "port": 0},
  "auth_mode": "cracked",
  "cracked": {"allow_registration": true, "bcrypt_cost": 4},
  "welcome": {"enabled": false},
  "rate_limiting": {"enabled": false},
  "connections": {"max": $((clients + 64))},
  "abuse": {"exempt_addresses": ["127.0.0.1"]},
  "storage": {"sync": "normal"}
}
EOF
}

# The calls of writev (the frame writer's system call, one per batch of frames) recorded in
# a callgrind output file (names are compressed: "(id) name" the first time, "(id)" after).
writes() {
    awk '
        /^fn=/ { id = $1; sub(/^fn=/, "", id); if (NF > 1) name[id] = $2; next }
        /^cfn=/ { id = $1; sub(/^cfn=/, "", id); if (NF > 1) name[id] = $2; callee = name[id]; next }
        /^calls=/ { if (callee == "writev") { split($1, c, "="); n += c[2] } callee = "" }
        END { print n + 0 }
    ' "$1"
}

# One run of `secs` seconds on a fresh server: prints "Ir writes deliveries lost p99_ms".
run_once() {
    local secs="$1" dir="$work/run-$2"
    mkdir -p "$dir/data"
    config >"$dir/config.json"
    RUST_LOG=info valgrind --tool=callgrind --trace-children=no --separate-threads=no \
        --callgrind-out-file="$dir/callgrind.out" \
        "$server_bin" --config "$dir/config.json" --data-dir "$dir/data" \
        >"$dir/server.out" 2>"$dir/server.log" &
    server_pid=$!
    local addr="" waited=0
    while [ -z "$addr" ]; do
        sleep 0.5
        waited=$((waited + 1))
        addr="$(sed -n 's/.*listening on \([^ ]*\).*/\1/p' "$dir/server.log" | head -n1)"
        if [ $waited -gt 240 ] || ! kill -0 "$server_pid" 2>/dev/null; then
            echo "the server did not start; its log:" >&2
            cat "$dir/server.log" >&2
            exit 1
        fi
    done
    # The settle pause lets the logins' presence traffic end before the measured sending.
    "$loadgen" fanout --addr "$addr" --pid "$server_pid" --clients "$clients" \
        --senders "$senders" --rate "$rate" --duration "$secs" --settle 2 \
        >"$dir/loadgen.json" 2>"$dir/loadgen.log"
    kill -TERM "$server_pid"
    wait "$server_pid" || true
    server_pid=""
    local ir
    ir="$(sed -n 's/^totals: *\([0-9]*\).*/\1/p' "$dir/callgrind.out" | head -n1)"
    [ -n "$ir" ] || ir="$(sed -n 's/^summary: *\([0-9]*\).*/\1/p' "$dir/callgrind.out" | head -n1)"
    [ -n "$ir" ] || { echo "no totals in $dir/callgrind.out" >&2; exit 1; }
    echo "$ir $(writes "$dir/callgrind.out") $(jq -r '[.deliveries, .lost, .latency_ms.p99] | map(tostring) | join(" ")' \
        "$dir/loadgen.json")"
}

figures=()
for i in $(seq 1 "$runs"); do
    read -r ir_s wr_s del_s lost_s p99_s < <(run_once "$short" "$i-short")
    read -r ir_l wr_l del_l lost_l p99_l < <(run_once "$long" "$i-long")
    if [ "$del_l" -le "$del_s" ]; then
        echo "run $i: the long run delivered no more than the short one" >&2
        exit 1
    fi
    per=$(((ir_l - ir_s) / (del_l - del_s)))
    figures+=("$per")
    # Above 1, the writers coalesced frames: the server was behind (see the load above).
    per_write="$(jq -n "($del_l - $del_s) / ([$wr_l - $wr_s, 1] | max) * 100 | round / 100")"
    echo "run $i: ${short}s: Ir $ir_s, $del_s deliveries (lost $lost_s, p99 ${p99_s} ms);" \
        "${long}s: Ir $ir_l, $del_l deliveries (lost $lost_l, p99 ${p99_l} ms):" \
        "$per Ir per delivered frame, $per_write deliveries per write" >&2
    if [ "$lost_s" != 0 ] || [ "$lost_l" != 0 ]; then
        echo "run $i: messages were lost: the server did not keep up under callgrind;" \
            "lower --rate" >&2
    fi
done

printf '%s\n' "${figures[@]}" | sort -n | jq -s -c \
    --argjson clients "$clients" --argjson senders "$senders" --argjson rate "$rate" \
    --argjson short "$short" --argjson long "$long" \
    '{bench: "instructions per delivered frame", clients: $clients, senders: $senders,
      rate: $rate, short_s: $short, long_s: $long, runs: ., median: .[(length / 2 | floor)],
      min: min, max: max}'
