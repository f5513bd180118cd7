// The config of the PROXY protocol on the edge's HTTPS listener (edge.listen.proxyProtocol):
// which peers may send a header, whether they must, and how long they get. Types come from
// here through Static<>; nothing else declares them.
import { Type, type Static } from '@sinclair/typebox';
import { CidrSchema } from '../../shared/http/cidr-schema.js';

export const ProxyProtocolSchema = Type.Object({
  trustedPeers: Type.Array(CidrSchema, {
    minItems: 1,
    description: 'the L4 balancers whose PROXY header is believed (IPs or CIDR ranges); from any other peer no header is read, so one sent fails the TLS handshake',
  }),
  required: Type.Boolean({
    default: true,
    description: 'true: a trusted peer\'s connection without a header is closed; false: it may speak TLS directly and is its own client',
  }),
  timeoutMs: Type.Integer({
    minimum: 1, maximum: 60_000, default: 3_000,
    description: 'time a trusted peer has for the whole header; past it the connection is closed',
  }),
}, { additionalProperties: false, description: 'accept the PROXY protocol (v1 and v2) from these peers: the client address it carries is the one logs, rate limits and X-Forwarded-For see' });

export type ProxyProtocolConfig = Static<typeof ProxyProtocolSchema>;
