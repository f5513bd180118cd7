// This host's address as others reach it, for registering in Consul when a
// listener is bound to every interface.
import { networkInterfaces } from 'node:os';

export function isUnspecified(address: string): boolean {
  return address === '0.0.0.0' || address === '::' || address === '[::]' || address === '';
}

export function primaryAddress(): string {
  return Object.values(networkInterfaces()).flat().find((i) => i && i.family === 'IPv4' && !i.internal)?.address ?? '127.0.0.1';
}
