// node dist/deploy/dev/certs.js DIR [HOSTNAME...]: writes a development CA and
// a certificate for the names given (default localhost) unless already there.
import { ensureDevCertificates } from '../../shared/tls/dev-certs.js';

const [dir = '.gatehouse/certs', ...names] = process.argv.slice(2);
const files = await ensureDevCertificates(dir, names.length > 0 ? names : ['localhost']);
process.stdout.write(`${JSON.stringify(files)}\n`);
