import { readFileSync } from 'node:fs';
import { UsageError } from '../errors.js';

/**
 * How a JDBC URL asks for TLS, in the terms both wire protocols share: none, encrypted without
 * checking the certificate, checked against the CA only, or checked against the CA and the host name.
 */
export type TlsMode = 'disable' | 'trust' | 'verify-ca' | 'verify-full';

/** The part of Node's TLS socket options both clients pass through. */
export interface TlsOptions {
  rejectUnauthorized: boolean;
  ca?: string;
  checkServerIdentity?: () => undefined;
}

/**
 * The options for Node's TLS socket. `caFile` is a PEM file with the CA certificates to trust
 * instead of Node's built-in ones. Returns undefined for no TLS.
 */
export function tlsOptionsOf(mode: TlsMode, caFile: string | undefined): TlsOptions | undefined {
  if (mode === 'disable') return undefined;
  if (mode === 'trust') return { rejectUnauthorized: false };
  let ca: string | undefined;
  if (caFile !== undefined) {
    try {
      ca = readFileSync(caFile, 'utf8');
    } catch (error) {
      throw new UsageError(`Cannot read the CA certificate file ${caFile} named in the JDBC URL: ${(error as Error).message}.`);
    }
  }
  return {
    rejectUnauthorized: true,
    ...(ca === undefined ? {} : { ca }),
    // verify-ca: the chain must lead to a trusted CA, whatever name the certificate carries.
    ...(mode === 'verify-ca' ? { checkServerIdentity: () => undefined } : {}),
  };
}
