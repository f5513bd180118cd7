// The edge's certificates: picked per handshake by SNI, and swapped when their
// files change on disk. A reload never restarts the listener or touches open
// connections, and a bad file never replaces a certificate that works.
import { readFileSync, statSync, type Stats } from 'node:fs';
import { stat } from 'node:fs/promises';
import { X509Certificate, createPrivateKey } from 'node:crypto';
import { createSecureContext, type SecureContext, type SecureContextOptions } from 'node:tls';
import type { Logger } from 'pino';
import type { CertificateConfig, EdgeTlsConfig } from './schema.js';
import { subjectAltNames } from './client-certificate.js';

const FIELD = 'edge.tls';

/** What one certificate entry serves now; `names` are lower-case, exact or `*.suffix`. */
interface Loaded { readonly cert: Buffer; readonly key: Buffer; readonly names: readonly string[]; readonly context: SecureContext }

interface Slot { readonly field: string; readonly source: CertificateConfig; loaded: Loaded }

/** A listener whose own context (served to clients that send no SNI) can be replaced in place. */
export interface SecureContextTarget { setSecureContext(options: SecureContextOptions): void }

export class CertificateStore {
  private readonly slots: readonly Slot[];
  private ca: Buffer | undefined;
  private exact = new Map<string, Slot>();
  private wildcard = new Map<string, Slot>(); // keyed by the suffix after `*.`
  private readonly targets: SecureContextTarget[] = [];
  /** Each file's stat as of its last read, so a change made at any time after it is seen. */
  private readonly seen = new Map<string, string>();
  private readonly changed = new Set<string>();
  private pollTimer: NodeJS.Timeout | undefined;
  private settleTimer: NodeJS.Timeout | undefined;

  /** Throws an Error naming the config field when a file is missing or wrong. */
  constructor(private readonly config: Readonly<EdgeTlsConfig>, private readonly log: Logger) {
    if (config.ciphers) guard(`${FIELD}.ciphers`, `"${config.ciphers}" is not a usable OpenSSL cipher list`, () => createSecureContext({ ciphers: config.ciphers }));
    this.ca = config.clientCertificates && this.readCa(config.clientCertificates.ca);
    this.slots = config.certificates.map((source, i) => {
      const field = `${FIELD}.certificates[${i}]`;
      return { field, source, loaded: this.load(field, source, i === 0) };
    });
    this.index();
  }

  /** fastify's `https` options: HTTP/1.1 fallback, the default certificate, SNI, and mTLS when configured. */
  serverOptions(): Record<string, unknown> {
    const mtls = this.config.clientCertificates;
    return {
      allowHTTP1: true,
      // Node 24's HTTP/1.1 fallback would answer a missing Host with its own bare 400; our framing
      // check answers it instead, with the JSON error and a request id, as on the router.
      requireHostHeader: false,
      // Checked on Node 24 with allowHTTP1: the handshake bytes never reach JS, so this socket timeout
      // is a deadline from accept, not an idle timer a client can keep alive by trickling its ClientHello.
      handshakeTimeout: this.config.handshakeTimeoutMs,
      ...this.defaultContextOptions(),
      SNICallback: (servername: string, done: (err: Error | null, ctx?: SecureContext) => void) => done(null, this.contextFor(servername)),
      ...(mtls && { requestCert: true, rejectUnauthorized: mtls.required }),
    };
  }

  /** Exact name first, then the longest wildcard suffix, else the default certificate. */
  contextFor(servername: string | undefined): SecureContext {
    return this.slotFor(servername).loaded.context;
  }

  /**
   * Whether a certificate of the edge names this host (exact, or a wildcard over its first label), so
   * HTTPS there would reach the edge with a valid certificate. Unlike SNI selection, no fallback.
   */
  serves(hostname: string): boolean {
    const name = hostname.toLowerCase().replace(/\.$/, '');
    if (this.exact.has(name)) return true;
    const dot = name.indexOf('.');
    return dot > 0 && this.wildcard.has(name.slice(dot + 1));
  }

  /** The listener's own context is the only one SNICallback cannot replace, so reloads push it here. */
  attach(server: SecureContextTarget): void {
    this.targets.push(server);
  }

  /** Polls stat(): fs.watch loses a file replaced by rename; fs.watchFile's late first stat misses early changes. */
  startWatching(): void {
    let polling = false;
    this.pollTimer ??= setInterval(() => {
      if (polling) return;
      polling = true;
      void Promise.all([...this.seen].map(async ([file, before]) => {
        const now = await stat(file).then(signature, () => 'missing');
        if (now !== before) this.noteChange(file, now);
      }))
        .catch((err: Error) => this.log.warn({ event: 'tls-reload-failed', err: err.message }, 'checking certificate files failed; the current certificates keep serving'))
        .finally(() => { polling = false; });
    }, this.config.reloadIntervalMs).unref();
  }

  close(): void {
    clearInterval(this.pollTimer);
    clearTimeout(this.settleTimer);
  }

  private slotFor(servername: string | undefined): Slot {
    const fallback = this.slots[0]!;
    if (!servername) return fallback;
    const name = servername.toLowerCase().replace(/\.$/, '');
    const exact = this.exact.get(name);
    if (exact) return exact;
    // Suffixes from the longest down: a.eu.example.com tries eu.example.com, then example.com.
    for (let dot = name.indexOf('.'); dot !== -1; dot = name.indexOf('.', dot + 1)) {
      const hit = this.wildcard.get(name.slice(dot + 1));
      if (hit) return hit;
    }
    return fallback;
  }

  /** Rebuilt after every reload because names read from a certificate can change with it. */
  private index(): void {
    const exact = new Map<string, Slot>();
    const wildcard = new Map<string, Slot>();
    for (const slot of this.slots) {
      for (const name of slot.loaded.names) {
        const [map, key] = name.startsWith('*.') ? [wildcard, name.slice(2)] : [exact, name];
        // A name listed twice goes to the first certificate, as in the config file.
        if (!map.has(key)) map.set(key, slot);
      }
    }
    this.exact = exact;
    this.wildcard = wildcard;
  }

  /** Waits one interval after the last change, so a cert and key rotated together load as a pair. */
  private noteChange(file: string, now: string): void {
    this.seen.set(file, now);
    this.changed.add(file);
    clearTimeout(this.settleTimer);
    this.settleTimer = setTimeout(() => this.reload(), this.config.reloadIntervalMs);
    this.settleTimer.unref();
  }

  private reload(): void {
    const files = [...this.changed];
    this.changed.clear();
    const failed = new Map<string, unknown>();
    const caFile = this.config.clientCertificates?.ca;
    let caChanged = caFile !== undefined && files.includes(caFile);
    try { if (caChanged) this.ca = this.readCa(caFile!); } catch (err) { failed.set(caFile!, err); caChanged = false; }
    for (const [i, slot] of this.slots.entries()) {
      const own = files.filter((f) => f === slot.source.cert || f === slot.source.key);
      if (own.length === 0 && !caChanged) continue;
      try { slot.loaded = this.load(slot.field, slot.source, i === 0); } catch (err) { for (const f of own.length > 0 ? own : [caFile!]) failed.set(f, err); }
    }
    this.index();
    try {
      // Cheap next to a handshake, and covers both a new default certificate and a new client CA.
      for (const target of this.targets) target.setSecureContext(this.defaultContextOptions());
    } catch (err) {
      failed.set(files[0]!, err);
    }
    for (const file of files) {
      const err = failed.get(file);
      if (err) this.log.error({ event: 'tls-reload-failed', file, err }, 'certificate reload failed; the previous certificate keeps serving');
      else this.log.info({ event: 'tls-reload', file }, 'certificate reloaded');
    }
  }

  private defaultContextOptions(): SecureContextOptions {
    const { cert, key } = this.slots[0]!.loaded;
    return this.contextOptions(cert, key);
  }

  private contextOptions(cert: Buffer, key: Buffer): SecureContextOptions {
    const { config: { minVersion, ciphers }, ca } = this;
    return { cert, key, minVersion, ...(ciphers && { ciphers }), ...(ca && { ca }) };
  }

  private load(field: string, source: CertificateConfig, isDefault: boolean): Loaded {
    const cert = this.read(source.cert, `${field}.cert`);
    const key = this.read(source.key, `${field}.key`);
    const x509 = guard(`${field}.cert`, `${source.cert} is not a PEM certificate`, () => new X509Certificate(cert));
    const privateKey = guard(`${field}.key`, `${source.key} is not a PEM private key`, () => createPrivateKey(key));
    if (!x509.checkPrivateKey(privateKey)) throw new Error(`${field}.key: ${source.key} is not the private key of ${source.cert}`);
    const names = (source.hosts ?? subjectAltNames(x509.subjectAltName, 'DNS')).map((n) => n.toLowerCase());
    if (names.length === 0 && !isDefault) throw new Error(`${field}.hosts: ${source.cert} names no DNS host, so no client could reach it; list its names in hosts`);
    // The client CA goes into every context: node verifies client certificates with the one SNI picked.
    const context = guard(field, 'cannot build a TLS context', () => createSecureContext(this.contextOptions(cert, key)));
    return { cert, key, names, context };
  }

  private readCa(path: string): Buffer {
    const field = `${FIELD}.clientCertificates.ca`;
    const pem = this.read(path, field);
    // OpenSSL silently ignores a CA bundle that is not PEM, which would refuse every client.
    guard(field, `${path} is not a PEM certificate bundle`, () => new X509Certificate(pem));
    return pem;
  }

  /** Stats before reading: a change racing the read is then seen by the next poll, never lost. */
  private read(path: string, field: string): Buffer {
    try {
      this.seen.set(path, signature(statSync(path)));
      return readFileSync(path);
    } catch (err) {
      throw new Error(`${field}: cannot read ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
    }
  }
}

/** Rename-replace changes the inode; an in-place write changes the times or size. */
function signature(s: Stats): string {
  return `${s.ino}:${s.size}:${s.mtimeMs}:${s.ctimeMs}`;
}

function guard<T>(field: string, problem: string, build: () => T): T {
  try { return build(); } catch (err) { throw new Error(`${field}: ${problem} (${(err as Error).message})`); }
}
