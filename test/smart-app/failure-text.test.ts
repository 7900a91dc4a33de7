import { describe, expect, test } from 'vitest';

import { ERROR_CODES } from '../../src/errors.js';
import { explainedFailureCodes, failureText } from '../../smart-app/src/failure-text.js';

/** Codes that the analysis pipeline stores as a failure and that a clinician or radiology can act on. */
const PIPELINE_CODES = [
  'ERR_SEGMENTATION_MISSING',
  'ERR_MASK_EMPTY',
  'ERR_SERIES_GEOMETRY',
  'ERR_ROI_TOO_SMALL',
  'ERR_DICOMWEB_FAILED',
];

describe('failureText', () => {
  test('both languages explain the same codes', () => {
    expect([...explainedFailureCodes('zh-CN')].sort()).toEqual([...explainedFailureCodes('en')].sort());
  });

  test('every explained code is a service code', () => {
    const unknown = explainedFailureCodes('en').filter((code) => !Object.hasOwn(ERROR_CODES, code));
    expect(unknown).toEqual([]);
  });

  test.each(PIPELINE_CODES)('%s has its own text in each language', (code) => {
    const english = failureText(code, 'en');
    const chinese = failureText(code, 'zh-CN');

    expect(english).not.toEqual(failureText('ERR_NO_SUCH_CODE', 'en'));
    expect(chinese).not.toEqual(failureText('ERR_NO_SUCH_CODE', 'zh-CN'));
    expect(chinese.explanation).toMatch(/[\u4e00-\u9fff]/);
    expect(chinese.action).toMatch(/[\u4e00-\u9fff]/);
    expect(english.explanation).not.toMatch(/[\u4e00-\u9fff]/);
  });

  test.each([['ERR_INTERNAL'], ['constructor'], ['toString'], ['']])('%s gets the generic text', (code) => {
    expect(failureText(code, 'en').action).toBe('Tell hospital IT, and quote the technical details below.');
    expect(failureText(code, 'zh-CN').action).toBe('请联系医院信息科，并提供下方的技术细节。');
  });
});
