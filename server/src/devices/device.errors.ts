/** Errors the API layer maps to HTTP and CoAP codes (api/http-exception.filter.ts, coap/coap.service.ts). */
export class NotFoundError extends Error {
  override name = 'NotFoundError';
}

export class ReadOnlyEntityError extends Error {
  override name = 'ReadOnlyEntityError';
}
