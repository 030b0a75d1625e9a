#!/usr/bin/env bash
# Installs what the end-to-end suite (test/e2e/) needs: Debian's Chromium, ripgrep and the
# Kerberos headers code-server's native modules build against, and code-server 4.100.3 (real
# VS Code in a browser) in its own folder, outside the project's dependencies.
# Idempotent: a second run only checks. Nothing is downloaded except from npm and Debian.
set -euo pipefail

E2E_DIR="${CODE_INSIGHTS_E2E_DIR:-/opt/code-insights-e2e}"
CODE_SERVER_VERSION=4.100.3
# @vscode/ripgrep (a dependency of VS Code) downloads rg from GitHub in its postinstall unless a
# tarball of that exact name is already in its cache folder; we fill the cache with Debian's rg.
RG_CACHE="${TMPDIR:-/tmp}/vscode-ripgrep-cache-1.15.11"
RG_TARBALL="$RG_CACHE/ripgrep-v13.0.0-10-x86_64-unknown-linux-musl.tar.gz"

need_apt=()
command -v chromium >/dev/null 2>&1 || need_apt+=(chromium)
command -v rg >/dev/null 2>&1 || need_apt+=(ripgrep)
dpkg -s libkrb5-dev >/dev/null 2>&1 || need_apt+=(libkrb5-dev)
if [ ${#need_apt[@]} -gt 0 ]; then
  echo "e2e-setup: apt-get install ${need_apt[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_apt[@]}" >/dev/null
fi

if [ ! -f "$RG_TARBALL" ]; then
  mkdir -p "$RG_CACHE"
  tmp=$(mktemp -d)
  cp "$(command -v rg)" "$tmp/rg"
  tar -czf "$RG_TARBALL" -C "$tmp" rg
  rm -rf "$tmp"
fi

cs_pkg="$E2E_DIR/node_modules/code-server"
installed_version() { node -p "require('$cs_pkg/package.json').version" 2>/dev/null || true; }
# code-server's postinstall installs VS Code's own node_modules (lib/vscode/node_modules); without
# it the server starts but cannot serve the workbench. npm 11 may skip install scripts, so check.
postinstall_done() { [ -d "$cs_pkg/lib/vscode/node_modules" ] && [ -n "$(ls -A "$cs_pkg/lib/vscode/node_modules" 2>/dev/null)" ]; }

if [ "$(installed_version)" != "$CODE_SERVER_VERSION" ]; then
  mkdir -p "$E2E_DIR"
  [ -f "$E2E_DIR/package.json" ] || echo '{"name":"code-insights-e2e","private":true}' > "$E2E_DIR/package.json"
  echo "e2e-setup: npm install code-server@$CODE_SERVER_VERSION into $E2E_DIR (builds native modules; takes minutes)"
  (cd "$E2E_DIR" && npm_config_ignore_scripts=false npm_config_unsafe_perm=true npm_config_yes=true \
    npm install --no-audit --no-fund --foreground-scripts "code-server@$CODE_SERVER_VERSION" >"$E2E_DIR/install.log" 2>&1) \
    || { echo "e2e-setup: npm install failed; see $E2E_DIR/install.log" >&2; tail -30 "$E2E_DIR/install.log" >&2; exit 1; }
fi
if ! postinstall_done; then
  echo "e2e-setup: running code-server's postinstall (npm skipped it)"
  (cd "$cs_pkg" && npm_config_ignore_scripts=false npm_config_unsafe_perm=true bash ./postinstall.sh >>"$E2E_DIR/install.log" 2>&1) \
    || { echo "e2e-setup: code-server postinstall failed; see $E2E_DIR/install.log" >&2; tail -30 "$E2E_DIR/install.log" >&2; exit 1; }
fi
postinstall_done || { echo "e2e-setup: code-server's VS Code modules are missing after install" >&2; exit 1; }
"$cs_pkg/out/node/entry.js" --version >/dev/null 2>&1 || node "$cs_pkg/out/node/entry.js" --version >/dev/null
echo "e2e-setup: ok (code-server $(installed_version) in $E2E_DIR, $(chromium --version 2>/dev/null | head -1))"
