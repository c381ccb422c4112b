#!/bin/sh
# Makes the CURVE keys docker-compose.yml mounts as secrets, with `feedcrawl keygen`:
#   coordinator.key_secret, coordinator.key   the coordinator's keypair
#   worker.key_secret, worker.key             the keypair every compose worker replica shares
#   allowed_workers                           the allow-list: the workers' public keys
# Existing keys are kept (replacing one locks out whoever holds the old one), and a worker key
# already in the allow-list is not added twice, so running it again is harmless.
#
# Usage: deploy/make-curve-keys.sh [DIR]    (default: deploy/secrets, or FEEDCRAWL_SECRETS_DIR)
# FEEDCRAWL_BIN names the feedcrawl program (default: feedcrawl on PATH, else the image
# FEEDCRAWL_IMAGE, default feedcrawl:latest, through `docker run`).
set -eu

here=$(cd "$(dirname "$0")" && pwd)
dir=${1:-${FEEDCRAWL_SECRETS_DIR:-$here/secrets}}
mkdir -p "$dir"
dir=$(cd "$dir" && pwd)

keygen() {  # keygen NAME: writes $dir/NAME.key_secret and $dir/NAME.key
  if [ -n "${FEEDCRAWL_BIN:-}" ]; then
    "$FEEDCRAWL_BIN" keygen --out "$dir/$1"
  elif command -v feedcrawl >/dev/null 2>&1; then
    feedcrawl keygen --out "$dir/$1"
  else
    docker run --rm --user "$(id -u):$(id -g)" -v "$dir:/keys" \
      "${FEEDCRAWL_IMAGE:-feedcrawl:latest}" feedcrawl keygen --out "/keys/$1"
  fi
}

for name in coordinator worker; do
  if [ -e "$dir/$name.key_secret" ]; then
    echo "keeping $dir/$name.key_secret"
  else
    keygen "$name"
  fi
done

allow="$dir/allowed_workers"
if [ ! -e "$allow" ]; then
  printf '# Public keys of the workers the coordinator admits: one per line, # comments.\n' > "$allow"
fi
worker_key=$(tail -n 1 "$dir/worker.key")  # keygen writes the key last; a key may start with #
if ! grep -qF -- "$worker_key" "$allow"; then
  cat "$dir/worker.key" >> "$allow"
  echo "added the compose workers' key to $allow"
fi

# Compose mounts the files as they are, and the containers run as uid 10001.
if [ "$(id -u)" = 0 ]; then
  chown 10001 "$dir/coordinator.key_secret" "$dir/worker.key_secret"
else
  echo "note: the containers run as uid 10001 and must read the secret keys:"
  echo "  sudo chown 10001 $dir/coordinator.key_secret $dir/worker.key_secret"
fi
