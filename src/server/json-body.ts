/**
 * Validation of a JSON request body against a zod schema, with one error format for every route:
 * each invalid field by its path, then the shape the route expects.
 */
import type * as z from 'zod';

import { Nqo1Error } from '../errors.js';

/**
 * Returns the body parsed by `schema`.
 *
 * @param what Name of the request in the message, e.g. `chart record`.
 * @param expected The body the route expects, e.g. `{ "clinician": "Practitioner/<id>" }`; omitted when
 *   the field paths are enough.
 * @throws Nqo1Error `ERR_REQUEST_INVALID` naming each invalid field by its path, e.g.
 *   `feedback.0.outcome`. The message never quotes a value from the body.
 */
export function parseJsonBody<T extends z.ZodType>(
  schema: T,
  body: unknown,
  what: string,
  expected?: string,
): z.infer<T> {
  const parsed = schema.safeParse(body);
  if (parsed.success) return parsed.data;

  const problems = parsed.error.issues.map(
    (issue) => `${issue.path.join('.') || '(body)'}: ${issue.message}`,
  );
  const shape = expected === undefined ? '' : `. Send JSON ${expected}.`;
  throw new Nqo1Error('ERR_REQUEST_INVALID', `Invalid ${what}: ${problems.join('; ')}${shape}`);
}
