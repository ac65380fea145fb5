#!/usr/bin/env bash
# A local ClickHouse cluster for tests and benchmarks: N shards (default 2), one server process each,
# on 127.0.0.1 with their own config file, ports and data folder under DIR. No ZooKeeper: tables are
# created on each node (no ON CLUSTER DDL). The cluster is named `tagverse` in remote_servers.
#
#   scripts/clickhouse-cluster.sh start DIR [SHARDS] [BASE_PORT]   # prints one HTTP URL per line
#   scripts/clickhouse-cluster.sh stop DIR
#
# Node i (0-based) listens on http BASE_PORT+10*i, tcp BASE_PORT+10*i+1, interserver BASE_PORT+10*i+2.
set -euo pipefail

cmd=${1:-}
dir=${2:-}
if [ -z "$cmd" ] || [ -z "$dir" ]; then
  echo "usage: $0 start|stop DIR [SHARDS] [BASE_PORT]" >&2
  exit 2
fi

stop() {
  local pidfile pid
  for pidfile in "$dir"/node*/server.pid; do
    [ -f "$pidfile" ] || continue
    pid=$(cat "$pidfile")
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$pid" 2>/dev/null || true
    rm -f "$pidfile"
  done
}

case "$cmd" in
stop)
  stop
  exit 0
  ;;
start) ;;
*)
  echo "unknown command '$cmd' (start or stop)" >&2
  exit 2
  ;;
esac

shards=${3:-2}
base=${4:-19120}
server=$(command -v clickhouse-server || true)
[ -n "$server" ] || { echo "clickhouse-server is not installed (apt-get install clickhouse-server)" >&2; exit 3; }
mkdir -p "$dir"
dir=$(cd "$dir" && pwd)

replicas=""
for i in $(seq 0 $((shards - 1))); do
  replicas+="<shard><replica><host>127.0.0.1</host><port>$((base + 10 * i + 1))</port></replica></shard>"
done

for i in $(seq 0 $((shards - 1))); do
  node="$dir/node$i"
  mkdir -p "$node/data" "$node/tmp" "$node/user_files" "$node/format_schemas" "$node/log"
  cat >"$node/config.xml" <<XML
<?xml version="1.0"?>
<yandex>
  <logger><level>warning</level><log>$node/log/server.log</log><errorlog>$node/log/error.log</errorlog><size>100M</size><count>2</count></logger>
  <http_port>$((base + 10 * i))</http_port>
  <tcp_port>$((base + 10 * i + 1))</tcp_port>
  <interserver_http_port>$((base + 10 * i + 2))</interserver_http_port>
  <interserver_http_host>127.0.0.1</interserver_http_host>
  <listen_host>127.0.0.1</listen_host>
  <max_connections>256</max_connections>
  <keep_alive_timeout>3</keep_alive_timeout>
  <max_concurrent_queries>64</max_concurrent_queries>
  <uncompressed_cache_size>1073741824</uncompressed_cache_size>
  <mark_cache_size>268435456</mark_cache_size>
  <path>$node/data/</path>
  <tmp_path>$node/tmp/</tmp_path>
  <user_files_path>$node/user_files/</user_files_path>
  <format_schema_path>$node/format_schemas/</format_schema_path>
  <users_config>$node/users.xml</users_config>
  <default_profile>default</default_profile>
  <default_database>default</default_database>
  <timezone>UTC</timezone>
  <mlock_executable>false</mlock_executable>
  <remote_servers><tagverse>$replicas</tagverse></remote_servers>
  <builtin_dictionaries_reload_interval>3600</builtin_dictionaries_reload_interval>
  <max_session_timeout>3600</max_session_timeout>
  <default_session_timeout>60</default_session_timeout>
</yandex>
XML
  cat >"$node/users.xml" <<XML
<?xml version="1.0"?>
<yandex>
  <profiles><default><max_memory_usage>8000000000</max_memory_usage><load_balancing>random</load_balancing></default></profiles>
  <users><default><password></password><networks><ip>127.0.0.1</ip><ip>::1</ip></networks><profile>default</profile><quota>default</quota></default></users>
  <quotas><default><interval><duration>3600</duration><queries>0</queries><errors>0</errors><result_rows>0</result_rows><read_rows>0</read_rows><execution_time>0</execution_time></interval></default></quotas>
</yandex>
XML
  if [ -f "$node/server.pid" ] && kill -0 "$(cat "$node/server.pid")" 2>/dev/null; then continue; fi
  rm -f "$node/server.pid"
  (cd "$node" && setsid nohup "$server" --config-file="$node/config.xml" \
    </dev/null >"$node/log/stdout.log" 2>&1 &)
done

for i in $(seq 0 $((shards - 1))); do
  url="http://127.0.0.1:$((base + 10 * i))/"
  ok=""
  for _ in $(seq 1 300); do
    if [ "$(curl -s "$url" 2>/dev/null)" = "Ok." ] && [ -s "$dir/node$i/server.pid" ]; then ok=1; break; fi
    pid=$(pgrep -f -x -- "$server --config-file=$dir/node$i/config.xml" || true)
    if [ -n "$pid" ]; then echo "$pid" >"$dir/node$i/server.pid"; fi
    sleep 0.1
  done
  if [ -z "$ok" ]; then
    echo "node $i did not start; see $dir/node$i/log" >&2
    tail -20 "$dir/node$i/log/stdout.log" "$dir/node$i/log/error.log" >&2 2>/dev/null || true
    stop
    exit 1
  fi
  echo "$url"
done
