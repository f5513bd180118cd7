#!/bin/sh
# The official consul image's entrypoint, with setpriv (util-linux) in place of su-exec.
set -e
# CONSUL_BIND_INTERFACE / CONSUL_CLIENT_INTERFACE: bind or serve clients on that interface's address.
interface_address() {
  addr="$(ip -o -4 addr list "$1" | head -n 1 | awk '{print $4}' | cut -d/ -f1)"
  if [ -z "$addr" ]; then
    echo "Could not find IP for interface '$1', exiting" >&2
    exit 1
  fi
  echo "$addr"
}
CONSUL_BIND=
if [ -n "$CONSUL_BIND_INTERFACE" ]; then
  CONSUL_BIND="-bind=$(interface_address "$CONSUL_BIND_INTERFACE")"
fi
CONSUL_CLIENT=
if [ -n "$CONSUL_CLIENT_INTERFACE" ]; then
  CONSUL_CLIENT="-client=$(interface_address "$CONSUL_CLIENT_INTERFACE")"
fi
CONSUL_DATA_DIR=/consul/data
CONSUL_CONFIG_DIR=/consul/config
if [ -n "$CONSUL_LOCAL_CONFIG" ]; then
  echo "$CONSUL_LOCAL_CONFIG" > "$CONSUL_CONFIG_DIR/local.json"
fi
# options alone are consul's
if [ "${1#-}" != "$1" ]; then
  set -- consul "$@"
fi
if [ "$1" = 'agent' ]; then
  shift
  # shellcheck disable=SC2086 # CONSUL_BIND and CONSUL_CLIENT are one word or none
  set -- consul agent -data-dir="$CONSUL_DATA_DIR" -config-dir="$CONSUL_CONFIG_DIR" $CONSUL_BIND $CONSUL_CLIENT "$@"
elif [ "$1" = 'version' ]; then
  set -- consul "$@"
elif consul --help "$1" 2>&1 | grep -q "consul $1"; then
  set -- consul "$@"
fi
# consul runs as the consul user, owning its data and config folders
if [ "$1" = 'consul' ] && [ -z "${CONSUL_DISABLE_PERM_MGMT+x}" ]; then
  if [ "$(stat -c %u "$CONSUL_DATA_DIR")" != "$(id -u consul)" ]; then
    chown consul:consul "$CONSUL_DATA_DIR"
  fi
  if [ "$(stat -c %u "$CONSUL_CONFIG_DIR")" != "$(id -u consul)" ]; then
    chown consul:consul "$CONSUL_CONFIG_DIR"
  fi
  if [ "$(id -u)" = '0' ]; then
    set -- setpriv --reuid=consul --regid=consul --init-groups "$@"
  fi
fi
exec "$@"
