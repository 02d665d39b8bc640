// A failed send, in the shape flows see on msg.error.

export interface SendErrorInfo {
  /** ours (`invalid_number`, `opted_out`, `queue_full`, `timeout`, …) or Exotel's RestException code */
  code: string | number;
  message: string;
  retryable: boolean;
  httpStatus?: number;
  /** an attempt reached Exotel but its answer did not reach us: Exotel may have sent the SMS */
  maybeSent?: boolean;
}

export class SendError extends Error implements SendErrorInfo {
  readonly code: string | number;
  readonly retryable: boolean;
  readonly httpStatus?: number;
  /** how long Exotel asked us to wait, from Retry-After */
  readonly retryAfterMs?: number;
  readonly maybeSent?: boolean;

  constructor(info: SendErrorInfo & { retryAfterMs?: number }) {
    super(info.message);
    this.name = 'SendError';
    this.code = info.code;
    this.retryable = info.retryable;
    // Stryker disable next-line ConditionalExpression: equivalent; the class field is already undefined
    if (info.httpStatus !== undefined) this.httpStatus = info.httpStatus;
    // Stryker disable next-line ConditionalExpression: equivalent; the class field is already undefined
    if (info.retryAfterMs !== undefined) this.retryAfterMs = info.retryAfterMs;
    if (info.maybeSent) this.maybeSent = true;
  }

  toJSON(): SendErrorInfo {
    const info: SendErrorInfo = { code: this.code, message: this.message, retryable: this.retryable };
    if (this.httpStatus !== undefined) info.httpStatus = this.httpStatus;
    if (this.maybeSent) info.maybeSent = true;
    return info;
  }
}
