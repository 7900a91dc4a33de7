/** An unexpected error in a command is reported as ERR_INTERNAL on one line, without a stack trace. */

import { describe, expect, it, vi } from 'vitest';

vi.mock('../../src/cli/commands/score.js', () => ({
  scoreCommand: () => Promise.reject(new TypeError('values is not iterable')),
}));

const { runCli } = await import('../../src/cli/main.js');

describe('runCli on a defect', () => {
  it('prints ERR_INTERNAL without a stack and returns 1', async () => {
    const stderr = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
    try {
      const code = await runCli(['score', '--image', 'a', '--mask', 'b']);
      const printed = stderr.mock.calls.map(([chunk]) => String(chunk)).join('');

      expect(code).toBe(1);
      expect(printed).toContain('Error ERR_INTERNAL: TypeError: values is not iterable');
      expect(printed).toContain('please report it');
      expect(printed).not.toContain('    at ');
    } finally {
      stderr.mockRestore();
    }
  });
});
