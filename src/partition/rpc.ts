import Comlink from 'comlink';
import nodeAdapter from 'comlink/dist/umd/node-adapter.js';

// The UMD adapter's default export is the function itself at run time.
const nodeEndpoint = nodeAdapter as unknown as (ep: unknown) => Comlink.Endpoint;
import { errorFromWire, errorToWire, type WireError } from '../errors.js';

/**
 * comlink is the typed RPC of the control plane (queries, purge, clear,
 * stop): never the append path. A thrown Error loses its class and `.code`
 * between threads on Node 20, so worker methods return errors as
 * `{ __rsError: { code, message, details } }` records ({@link guarded}) and
 * the caller rethrows them as typed errors ({@link unwrap}).
 */
/** Wraps a worker-side function so thrown errors cross as wire records. */
export function guarded<A extends unknown[], R>(fn: (...args: A) => R): (...args: A) => R | { __rsError: WireError } {
  return (...args: A) => {
    try {
      return fn(...args);
    } catch (err) {
      return { __rsError: errorToWire(err) };
    }
  };
}

/** Unwraps a guarded result on the calling side, rethrowing typed errors. */
export function unwrap<R>(result: R | { __rsError: WireError }): R {
  if (typeof result === 'object' && result !== null && '__rsError' in result) {
    throw errorFromWire((result as { __rsError: WireError }).__rsError);
  }
  return result as R;
}

export { Comlink, nodeEndpoint };
