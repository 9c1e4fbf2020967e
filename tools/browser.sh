# Sourced by tests/run.sh: the browser the page tests drive. Debian's chromium from apt
# (a test tool's own browser download is not reachable from CI), and playwright-core
# from npm, pinned in tests/browser/package-lock.json; nothing is downloaded at run time.

# ensure_chromium: prints the browser's path, installing Debian's package if missing.
ensure_chromium() {
  if ! command -v chromium > /dev/null; then
    echo "installing Debian's chromium (apt)" >&2
    local sudo=""
    [[ "$(id -u)" == 0 ]] || sudo="sudo"
    export DEBIAN_FRONTEND=noninteractive
    $sudo apt-get install -y --no-install-recommends chromium > /dev/null 2>&1 \
      || { $sudo apt-get update > /dev/null && $sudo apt-get install -y --no-install-recommends chromium > /dev/null; }
  fi
  command -v chromium
}

# ensure_playwright: installs tests/browser's node modules when the lock file changed.
ensure_playwright() {
  local dir=tests/browser
  local stamp="$dir/node_modules/.lock.sha256" want
  want="$(sha256sum "$dir/package-lock.json" | cut -d' ' -f1)"
  if [[ ! -f "$stamp" || "$(cat "$stamp")" != "$want" ]]; then
    echo "installing playwright-core (npm ci, pinned in $dir/package-lock.json)" >&2
    (cd "$dir" && npm ci --no-audit --no-fund --ignore-scripts > /dev/null)
    echo "$want" > "$stamp"
  fi
}

# browser_story STACK_ARGS...: starts `hashbuy-local serve` with these arguments on a free
# port, runs the account story in the browser against it, and stops it.
browser_story() {
  local name="$1"
  shift
  local port
  port="$(free_port)"
  rm -rf "target/browser/$name"
  target/debug/hashbuy-local serve --addr "127.0.0.1:$port" "$@" > "target/browser-$name-stack.log" 2>&1 &
  local stack_pid=$!
  if ! wait_for_http "http://127.0.0.1:$port/_local/health" 60; then
    kill "$stack_pid" 2> /dev/null || true
    cat "target/browser-$name-stack.log" >&2
    return 1
  fi
  local status=0
  HASHBUY_STACK_URL="http://127.0.0.1:$port" \
    HASHBUY_LOCAL_BIN="$PWD/target/debug/hashbuy-local" \
    HASHBUY_ARTIFACTS="$PWD/target/browser/$name" \
    CHROMIUM="$(command -v chromium)" \
    node tests/browser/account.mjs || status=$?
  kill "$stack_pid" 2> /dev/null || true
  wait "$stack_pid" 2> /dev/null || true
  if [[ "$status" != 0 ]]; then
    echo "the browser story ($name) failed; the stack's log:" >&2
    tail -50 "target/browser-$name-stack.log" >&2
  fi
  return "$status"
}
