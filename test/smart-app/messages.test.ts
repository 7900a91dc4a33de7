import { describe, expect, test } from 'vitest';

import { messagesFor, resolveLocale } from '../../smart-app/src/messages.js';

describe('resolveLocale', () => {
  test.each([
    ['zh', 'zh-CN'],
    ['zh-CN', 'zh-CN'],
    ['zh_CN', 'zh-CN'],
    ['zh-SG', 'zh-CN'],
    ['zh-Hans', 'zh-CN'],
    ['zh-Hans-HK', 'zh-CN'],
    ['zh-TW', 'en'],
    ['zh-Hant', 'en'],
    ['zh-HK', 'en'],
    ['en-US', 'en'],
    ['de', 'en'],
    [undefined, 'en'],
  ] as const)('%s gives %s', (tag, expected) => {
    expect(resolveLocale(tag)).toBe(expected);
  });
});

describe('messagesFor', () => {
  test('both languages fill every message', () => {
    const english = messagesFor('en');
    const chinese = messagesFor('zh-CN');
    expect(Object.keys(chinese).sort()).toEqual(Object.keys(english).sort());
    for (const key of Object.keys(english) as (keyof typeof english)[]) {
      expect(chinese[key], key).not.toEqual(english[key]);
    }
  });

  test('screens differ by language', () => {
    expect(messagesFor('en').missingPatient.title).toBe('No patient selected');
    expect(messagesFor('zh-CN').missingPatient.title).toBe('未选择患者');
    expect(messagesFor('zh-CN').serviceError(501).body).toContain('HTTP 501');
  });
});
