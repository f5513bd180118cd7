#!/bin/sh
# The official redis image's entrypoint, with setpriv (util-linux) in place of gosu.
set -e
# first arg is `-f` or `--some-option`, or a config file
if [ "${1#-}" != "$1" ] || [ "${1%.conf}" != "$1" ]; then
  set -- redis-server "$@"
fi
# as root, own /data and run again as redis
if [ "$1" = 'redis-server' ] && [ "$(id -u)" = '0' ]; then
  find . \! -user redis -exec chown redis '{}' +
  exec setpriv --reuid=redis --regid=redis --init-groups "$0" "$@"
fi
um="$(umask)"
if [ "$um" = '0022' ]; then umask 0077; fi
# reachable from other containers unless a config file decides: protected mode off
if [ "$1" = 'redis-server' ]; then
  doProtectedMode=1
  configFile=
  if [ -f "${2:-}" ]; then
    configFile="$2"
    if grep -q '^protected-mode' "$configFile"; then doProtectedMode=; fi
  fi
  if [ "$doProtectedMode" ]; then
    shift
    if [ "$configFile" ]; then shift; fi
    set -- --protected-mode no "$@"
    if [ "$configFile" ]; then set -- "$configFile" "$@"; fi
    set -- redis-server "$@"
  fi
fi
exec "$@"
