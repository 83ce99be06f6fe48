// CNI error objects (CNI spec 1.0, "Error"): the well-known codes, and an error class the plugin
// prints as `{cniVersion, code, msg, details}` on stdout with a non-zero exit.

/** Codes 1-99 are the spec's; 100+ are this plugin's own. */
export const CniCode = {
  IncompatibleVersion: 1,
  UnsupportedField: 2,
  UnknownContainer: 3,
  InvalidEnv: 4,
  IoFailure: 5,
  DecodeFailure: 6,
  InvalidConfig: 7,
  TryAgainLater: 11,
  /** The mesh refused or failed the request (the message says why). */
  RequestFailed: 100,
  /** CHECK: the daemon holds no such attachment. */
  UnknownAttachment: 101,
  /** CHECK: an interface or address of the attachment is missing in the namespace. */
  InterfaceMissing: 102,
} as const;

export type CniCodeValue = (typeof CniCode)[keyof typeof CniCode];

export class CniError extends Error {
  constructor(
    readonly code: number,
    message: string,
    readonly details = '',
  ) {
    super(message);
    this.name = 'CniError';
  }

  toJSON(cniVersion: string): { cniVersion: string; code: number; msg: string; details?: string } {
    return { cniVersion, code: this.code, msg: this.message, ...(this.details ? { details: this.details } : {}) };
  }
}

/** Any thrown value as a CniError (unknown failures become code 100 with the message kept). */
export function asCniError(err: unknown): CniError {
  if (err instanceof CniError) return err;
  return new CniError(CniCode.RequestFailed, err instanceof Error ? err.message : String(err));
}
