// Exotel's detailed status codes of a delivered or failed SMS, each with a sentence a user can act
// on. Source: Exotel's "Glossary for SMS stats" (support article 3000112255) and the status codes of
// its SMS API reference (23005, 23010, 23020, 23072). Pure data and a lookup: no I/O.

export interface DetailedCode {
  /** Exotel's DetailedStatus for the code */
  name: string;
  reason: string;
}

const NOT_DELIVERED = 'Not delivered:';

export const DETAILED_STATUS_CODES: Readonly<Record<string, DetailedCode>> = {
  '20005': { name: 'DELIVERED_TO_HANDSET', reason: "Delivered to the customer's phone." },
  '20006': { name: 'DELIVERED_TO_OPERATOR', reason: "Delivered to the customer's mobile operator; the phone has not confirmed it yet." },
  '21010': { name: 'PENDING_TO_OPERATOR', reason: 'On its way: waiting to be handed to the mobile operator.' },
  '21015': { name: 'SENDING_TO_OPERATOR', reason: 'On its way: being handed to the mobile operator.' },
  '21020': { name: 'PENDING_ON_OPERATOR', reason: 'On its way: with the mobile operator, not yet on the phone.' },
  '23005': { name: 'FAILED_DND', reason: `${NOT_DELIVERED} the number is on India's Do Not Disturb list (DND, the NCPR), which blocks promotional SMS.` },
  '23010': { name: 'FAILED_INVALID_NUMBER', reason: `${NOT_DELIVERED} the number is invalid or does not exist.` },
  '23015': { name: 'FAILED_SPAM_DETECTED', reason: `${NOT_DELIVERED} the operator flagged the message as spam.` },
  '23020': { name: 'FAILED_BLACKLISTED', reason: `${NOT_DELIVERED} the number is blacklisted.` },
  '23030': { name: 'FAILED_UNAVAILABLE_ROUTE', reason: `${NOT_DELIVERED} there was no route to the customer's operator.` },
  '23035': { name: 'FAILED_SUBSCRIBER_UNAVAILABLE', reason: `${NOT_DELIVERED} the customer's phone was unavailable (switched off or out of coverage) until the message expired.` },
  '23060': { name: 'FAILED_REJECTED', reason: `${NOT_DELIVERED} the operator rejected the message.` },
  '23072': { name: 'FAILED_INVALID_SENDER', reason: `${NOT_DELIVERED} the sender id (header) is not approved or not registered.` },
  '23080': { name: 'SENDER_BLOCKED_BY_DLT', reason: `${NOT_DELIVERED} the sender id (header) is blocked on the DLT platform.` },
  '23081': { name: 'ENTITY_BLOCKED_BY_DLT', reason: `${NOT_DELIVERED} your DLT entity is blocked on the DLT platform.` },
  '23082': { name: 'TEMPLATE_BLOCKED_BY_DLT', reason: `${NOT_DELIVERED} the DLT template is blocked on the DLT platform.` },
  '23083': { name: 'FAILED_DLT_SCRUBBING_ERROR', reason: `${NOT_DELIVERED} the operator's DLT check refused the message (header, template or consent).` },
  '23084': { name: 'FAILED_DLT_CONSENT_ERROR', reason: `${NOT_DELIVERED} the DLT platform holds no consent of this customer for this message.` },
  '23181': { name: 'DLT_TEMPLATE_ID_INVALID', reason: `${NOT_DELIVERED} the DLT template id is invalid.` },
  '23182': { name: 'DLT_TEMPLATE_NOT_FOUND', reason: `${NOT_DELIVERED} the DLT template id is not registered.` },
  '23183': { name: 'DLT_TEMPLATE_ID_INACTIVE', reason: `${NOT_DELIVERED} the DLT template is inactive.` },
  '23184': { name: 'DLT_TEMPLATE_ID_BLACKLISTED', reason: `${NOT_DELIVERED} the DLT template is blacklisted.` },
  '23185': { name: 'DLT_TEMPLATE_DOES_NOT_MATCH', reason: `${NOT_DELIVERED} the text does not match its registered DLT template.` },
  '23186': { name: 'DLT_LENGTH_EXCEEDED', reason: `${NOT_DELIVERED} a variable of the DLT template is longer than the template allows.` },
  '23281': { name: 'DLT_ENTITY_NOT_FOUND', reason: `${NOT_DELIVERED} the DLT entity id is not registered.` },
  '24010': { name: 'FAILED_SYSTEM_ERROR', reason: `${NOT_DELIVERED} a system error at the operator.` },
  '24105': { name: 'FAILED_HANDSET_ERROR', reason: `${NOT_DELIVERED} the customer's phone could not take the message (memory full, barred or faulty).` },
  '24110': { name: 'FAILED_OPERATOR_ERROR', reason: `${NOT_DELIVERED} an error at the customer's operator.` },
  '24120': { name: 'FAILED_SUBSCRIBER_ERROR', reason: `${NOT_DELIVERED} the number is invalid, inactive or out of service.` },
  '24990': { name: 'FAILED_UNKNOWN_ERROR', reason: `${NOT_DELIVERED} the operator gave no reason.` },
};

const BY_NAME: ReadonlyMap<string, DetailedCode> = new Map(Object.values(DETAILED_STATUS_CODES).map((code) => [code.name, code]));

/** What the delivery reports say of an SMS: still on its way, on the handset, or not delivered. */
export type DeliveryStatus = 'pending' | 'delivered' | 'failed';

/** Exotel's Status of a report (also the newer API's), as our three. */
const DELIVERY_OF_STATUS: Readonly<Record<string, DeliveryStatus>> = {
  queued: 'pending',
  sending: 'pending',
  submitted: 'pending',
  sent: 'delivered',
  delivered: 'delivered',
  failed: 'failed',
  failed_dnd: 'failed',
  undelivered: 'failed',
  expired: 'failed',
};

export const REPORT_STATUSES = Object.keys(DELIVERY_OF_STATUS);

/** Exotel's Status written as we keep it (lower case, `failed-dnd` as `failed_dnd`), or null when it is not one. */
export function normaliseStatus(status: string): string | null {
  const normalised = status.trim().toLowerCase().replace(/-/g, '_');
  return Object.hasOwn(DELIVERY_OF_STATUS, normalised) ? normalised : null;
}

export function deliveryOf(status: string): DeliveryStatus {
  return DELIVERY_OF_STATUS[status] ?? 'failed';
}

/**
 * A readable sentence for a report: the code's, else the DetailedStatus name's, else one made from
 * the Status (and the DetailedStatus as Exotel wrote it).
 */
export function deliveryReason(status: string, detailedStatusCode: string, detailedStatus: string): string {
  const known = DETAILED_STATUS_CODES[detailedStatusCode.trim()] ?? BY_NAME.get(detailedStatus.trim().toUpperCase());
  if (known) return known.reason;
  if (status === 'failed_dnd') return DETAILED_STATUS_CODES['23005'].reason;
  const detail = detailedStatus.trim() ? ` (${detailedStatus.trim()})` : '';
  switch (deliveryOf(status)) {
    case 'delivered':
      return `Delivered${detail}.`;
    case 'pending':
      return `On its way: Exotel has it as ${status}${detail}.`;
    default:
      return status === 'expired' ? `${NOT_DELIVERED} it expired before the phone could take it${detail}.` : `${NOT_DELIVERED} Exotel gave no known reason${detail}.`;
  }
}
