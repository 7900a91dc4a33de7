/**
 * Mutations of encapsulated pixel data (PS3.5 section A.4): the Basic Offset Table, fragment
 * lengths, fragments dropped, duplicated, swapped, emptied or shortened, and codestream header
 * bytes.
 */

import { UNDEFINED_LENGTH, type DicomIndex } from './dicom-elements.js';
import {
  binaryWords,
  presentLength,
  replaceValue,
  spliceBytes,
  writeLength,
  type Mutated,
} from './mutation-primitives.js';
import type { Random } from './random.js';

/** Applies one randomly chosen fragment mutation; returns null when the file has no fragments. */
export function corruptFragment(bytes: Uint8Array, index: DicomIndex, random: Random): Mutated | null {
  const items = index.records.filter((record) => record.kind === 'fragment');
  if (items.length === 0) return null;
  const offsetTable = items[0]!;
  const fragments = items.slice(1);
  const operation = random.pick([
    'offset-table',
    'fragment-length',
    'drop',
    'duplicate',
    'swap',
    'empty',
    'codestream-header',
    'shorten',
  ] as const);

  switch (operation) {
    case 'offset-table': {
      const entries = Math.max(1, Math.floor(presentLength(bytes, offsetTable) / 4));
      const words = Array.from({ length: entries }, () =>
        random.pick([0, 1, 3, 0xffffffff, 0x7fffffff, bytes.length, random.below(bytes.length)]),
      );
      const keepLength = presentLength(bytes, offsetTable) > 0 && random.chance(0.6);
      const value = binaryWords(offsetTable, keepLength ? words : words.concat(random.below(1000)), 4);
      const odd = random.chance(0.2) ? value.subarray(0, value.length - 1) : value;
      return {
        bytes: replaceValue(bytes, offsetTable, odd),
        description: `fragment offset-table → [${words.slice(0, 4).join(', ')}] (${odd.length} bytes)`,
      };
    }
    case 'fragment-length': {
      const fragment = random.pick(items);
      const length = random.pick([
        0,
        1,
        3,
        fragment.valueLength + 1,
        fragment.valueLength - 2,
        0xfffffffe,
        UNDEFINED_LENGTH,
      ]);
      return {
        bytes: writeLength(bytes, fragment, length),
        description: `fragment length ${fragment.valueLength} → ${length >>> 0}`,
      };
    }
    case 'drop': {
      if (fragments.length === 0) return null;
      const fragment = random.pick(fragments);
      return {
        bytes: spliceBytes(bytes, fragment.offset, fragment.end! - fragment.offset, new Uint8Array(0)),
        description: `fragment drop of ${fragments.length} (${fragment.valueLength} bytes)`,
      };
    }
    case 'duplicate': {
      if (fragments.length === 0) return null;
      const fragment = random.pick(fragments);
      return {
        bytes: spliceBytes(bytes, fragment.end!, 0, bytes.slice(fragment.offset, fragment.end!)),
        description: `fragment duplicate (${fragment.valueLength} bytes)`,
      };
    }
    case 'swap': {
      if (fragments.length < 2) return null;
      const first = fragments[0]!;
      const last = fragments[fragments.length - 1]!;
      const swapped = spliceBytes(
        bytes,
        last.offset,
        last.end! - last.offset,
        bytes.slice(first.offset, first.end!),
      );
      return {
        bytes: spliceBytes(
          swapped,
          first.offset,
          first.end! - first.offset,
          bytes.slice(last.offset, last.end!),
        ),
        description: `fragment swap first and last of ${fragments.length}`,
      };
    }
    case 'empty': {
      const at = random.pick(items).end!;
      const emptyItem = new Uint8Array(8);
      const view = new DataView(emptyItem.buffer);
      view.setUint16(0, 0xfffe, offsetTable.littleEndian);
      view.setUint16(2, 0xe000, offsetTable.littleEndian);
      return {
        bytes: spliceBytes(bytes, at, 0, emptyItem),
        description: `fragment empty item inserted at ${at}`,
      };
    }
    case 'codestream-header': {
      if (fragments.length === 0) return null;
      const fragment = random.pick(fragments);
      const result = bytes.slice();
      const span = Math.min(fragment.valueLength, 96);
      const changes = random.between(1, 6);
      for (let i = 0; i < changes; i++) {
        const at = fragment.valueOffset + random.below(span);
        if (at < result.length) result[at] = random.pick([0x00, 0xff, random.below(256), result[at]! ^ 0x80]);
      }
      return { bytes: result, description: `fragment codestream header ×${changes} bytes changed` };
    }
    case 'shorten': {
      if (fragments.length === 0) return null;
      const fragment = random.pick(fragments);
      const keep = random.below(fragment.valueLength) & ~1;
      const cut = spliceBytes(
        bytes,
        fragment.valueOffset + keep,
        fragment.valueLength - keep,
        new Uint8Array(0),
      );
      return {
        bytes: writeLength(cut, fragment, keep),
        description: `fragment shorten ${fragment.valueLength} → ${keep}`,
      };
    }
  }
}
