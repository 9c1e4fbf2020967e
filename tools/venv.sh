# Sourced by the project's scripts: Python tools live in project-local virtual
# environments (.venv-NAME, ignored by git), installed from pinned requirement files.

# ensure_venv NAME REQUIREMENTS_FILE: prints the venv's path, installing or updating it
# when the requirements changed since the last install.
ensure_venv() {
  local name="$1" requirements="$2"
  local venv="$PWD/.venv-$name"
  local stamp="$venv/.requirements.sha256"
  local want
  want="$(sha256sum "$requirements" | cut -d' ' -f1)"
  if [[ ! -f "$stamp" || "$(cat "$stamp")" != "$want" ]]; then
    echo "installing $name from $requirements into $venv" >&2
    rm -rf "$venv"
    python3 -m venv "$venv" >&2
    "$venv/bin/pip" install --quiet --disable-pip-version-check -r "$requirements" >&2
    echo "$want" > "$stamp"
  fi
  echo "$venv"
}

# free_port: a TCP port on 127.0.0.1 that nothing listens on right now.
free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# wait_for_http URL SECONDS: returns once URL answers, fails after SECONDS.
wait_for_http() {
  python3 - "$1" "$2" <<'PY'
import sys, time, urllib.request
url, deadline = sys.argv[1], time.time() + float(sys.argv[2])
while time.time() < deadline:
    try:
        urllib.request.urlopen(url, timeout=1)
        sys.exit(0)
    except Exception:
        time.sleep(0.1)
sys.exit(f"{url} did not answer in time")
PY
}
