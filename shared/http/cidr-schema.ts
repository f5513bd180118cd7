// The config form of a trusted address: an IP, a CIDR range or one of proxy-addr's named ranges. Schema
// only: compiling the trust function is shared/http/forwarded.ts's.
import { Type } from '@sinclair/typebox';

export const CidrSchema = Type.String({ pattern: '^([0-9a-fA-F:.]+(/[0-9]{1,3})?|loopback|linklocal|uniquelocal)$', description: 'an IP address, a CIDR range, or loopback/linklocal/uniquelocal' });
