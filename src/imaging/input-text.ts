/**
 * Truncation of input values quoted in error messages. A header field, UID or label read from a
 * file can be megabytes long, and an error message repeats it on stderr, in logs and in HTTP
 * responses, so every imaging message quotes input through {@link truncateInput}.
 */

/** Maximum number of characters of an input value kept in an error message. */
export const MAX_QUOTED_INPUT_CHARS = 80;

/**
 * Returns `value` unchanged when it has at most {@link MAX_QUOTED_INPUT_CHARS} characters, else its
 * first {@link MAX_QUOTED_INPUT_CHARS} characters followed by the full length, as in `…(10000 characters)`.
 */
export function truncateInput(value: string): string {
  if (value.length <= MAX_QUOTED_INPUT_CHARS) return value;
  return `${value.slice(0, MAX_QUOTED_INPUT_CHARS)}…(${value.length} characters)`;
}

/** Returns a count with its noun in the singular or plural, such as "1 file" or "3 files". */
export function countOf(count: number, singular: string, plural = `${singular}s`): string {
  return `${count} ${count === 1 ? singular : plural}`;
}
