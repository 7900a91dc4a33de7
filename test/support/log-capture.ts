/**
 * A pino logger whose JSON lines are collected in memory, so tests can assert what was logged and,
 * as important, what never was (tokens, patient names).
 */
import { Writable } from 'node:stream';

import { createLogger, type Logger } from '../../src/server/logger.js';

export interface CapturedLogs {
  readonly logger: Logger;
  /** Raw lines, exactly as a log shipper would receive them. */
  text(): string;
  /** Parsed lines. */
  entries(): Record<string, unknown>[];
  /** Parsed lines with the given `msg`. */
  withMessage(msg: string): Record<string, unknown>[];
}

export function captureLogs(): CapturedLogs {
  const lines: string[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      lines.push(
        ...chunk
          .toString('utf8')
          .split('\n')
          .filter((line) => line !== ''),
      );
      callback();
    },
  });
  // pino writes synchronously to a plain Writable, so lines are available right after each call.
  const logger = createLogger({ destination, level: 'debug' });

  const entries = (): Record<string, unknown>[] =>
    lines.map((line) => JSON.parse(line) as Record<string, unknown>);
  return {
    logger,
    text: () => lines.join('\n'),
    entries,
    withMessage: (msg) => entries().filter((entry) => entry.msg === msg),
  };
}
