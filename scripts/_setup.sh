# Sourced by scripts/demo and scripts/test: make ./.venv with the package and the
# requested extra installed, once (idempotent: re-runs only when pyproject.toml changes).
# Usage: . scripts/_setup.sh EXTRA     (EXTRA is "lab" or "test")
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
EXTRA="${1:-lab}"
VENV="$ROOT/.venv"
PY="${PYTHON:-python3}"

if ! "$PY" -c 'import sys; sys.exit(sys.version_info < (3, 10))'; then
  echo "seedream-widgets needs Python >= 3.10 (found $("$PY" --version 2>&1))" >&2; exit 1
fi
if [ ! -x "$VENV/bin/python" ]; then
  echo "==> creating $VENV"
  "$PY" -m venv "$VENV"
  "$VENV/bin/python" -m pip install --quiet --upgrade pip
fi
stamp="$VENV/.installed-$EXTRA"
want="$( { cat "$ROOT/pyproject.toml"; cat "$ROOT/binder/requirements.txt" 2>/dev/null || true; } | sha256sum | cut -c1-16)"
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  echo "==> installing seedream-widgets[$EXTRA] into $VENV"
  "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check -e "$ROOT[$EXTRA]"
  echo "$want" > "$stamp"
fi
export PATH="$VENV/bin:$PATH"
