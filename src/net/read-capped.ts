/**
 * Reading an HTTP response body with a byte cap, so that a slow or hostile server cannot make the
 * service buffer an unbounded body.
 */

/** Thrown by {@link readCapped} when the body exceeds the cap; the caller names the server. */
export class ResponseTooLargeError extends Error {
  override readonly name = 'ResponseTooLargeError';
}

/**
 * Reads the body as UTF-8 and cancels the stream once it exceeds `maxBytes`.
 *
 * @throws ResponseTooLargeError when the declared Content-Length or the bytes read exceed `maxBytes`.
 */
export async function readCapped(response: Response, maxBytes: number): Promise<string> {
  const declared = Number(response.headers.get('content-length') ?? Number.NaN);
  if (declared > maxBytes) {
    await response.body?.cancel();
    throw new ResponseTooLargeError();
  }
  if (response.body === null) return '';

  const chunks: Uint8Array[] = [];
  let total = 0;
  const reader = response.body.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.byteLength;
    if (total > maxBytes) {
      await reader.cancel();
      throw new ResponseTooLargeError();
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks).toString('utf8');
}
