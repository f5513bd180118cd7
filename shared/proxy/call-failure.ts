// What a failed upstream call means: the GatewayError a client gets (502 unreachable, 504 timeout), and
// for retries and health the kind of failure and whether the instance is to blame. Used by the call itself
// (proxy/upstream-call.ts) when no response head came.
import { GatewayError, type ErrorCode } from '../errors.js';

/** The state of the call that failed, as far as blame goes. */
export interface CallProgress {
  readonly cut: boolean;
  readonly connected: boolean;
  readonly requestSent: boolean;
}

export function callFailure(err: unknown, call: CallProgress): GatewayError {
  const error = new GatewayError(classify(err), `${(err as { code?: string }).code ?? 'ERROR'} ${(err as Error).message}`);
  error.failure = failureKind(err);
  error.instanceFailed = instanceFailed(error.failure, call);
  return error;
}

/**
 * Whether the failure is the instance's own. A connection it refused, reset or never accepted is. A
 * reset or a timeout on a connection is only once the instance had the whole request: until then a
 * body that stalled or broke off is as likely the client's doing (a slow upload, an abort), and a client
 * must never be able to open a circuit or eject an instance that serves everyone else. The price: an
 * instance that stops reading request bodies is caught by its bodiless requests only. A call the
 * gateway cut itself (a total timeout, the client gone) never is, whatever error undici reports for it.
 */
function instanceFailed(kind: GatewayError['failure'], call: CallProgress): boolean {
  if (kind === undefined || call.cut) return false;
  return kind === 'connect-failure' || !call.connected || call.requestSent;
}

/** What kind of failure, for a retry: undefined when it was ours or the client's (a body we could not send). */
function failureKind(err: unknown): GatewayError['failure'] {
  switch ((err as { code?: string }).code) {
    case 'ECONNREFUSED': case 'EHOSTUNREACH': case 'ENETUNREACH': case 'ENOTFOUND': case 'EAI_AGAIN': case 'UND_ERR_CONNECT_TIMEOUT':
      return 'connect-failure';
    case 'ECONNRESET': case 'EPIPE': case 'UND_ERR_SOCKET': case 'UND_ERR_CLOSED':
      return 'reset';
    case 'UND_ERR_HEADERS_TIMEOUT':
      return 'status-504';
    default:
      return undefined;
  }
}

function classify(err: unknown): ErrorCode {
  if ((err as Error).name === 'TimeoutError' || (err as Error).name === 'AbortError') return 'upstream_timeout';
  switch ((err as { code?: string | number }).code) {
    case 'UND_ERR_HEADERS_TIMEOUT':
    case 'UND_ERR_CONNECT_TIMEOUT':
    case 'UND_ERR_ABORTED': // only our total-timeout signal aborts a request
    case 23: // DOMException TIMEOUT_ERR from AbortSignal.timeout
      return 'upstream_timeout';
    case 'UND_ERR_REQ_CONTENT_LENGTH_MISMATCH':
      return 'bad_request';
    case 'GATEHOUSE_BODY_TOO_LARGE':
      return 'payload_too_large';
    default:
      return 'upstream_unreachable';
  }
}

