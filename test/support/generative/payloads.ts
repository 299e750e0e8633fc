import type { ContentKind } from './partition-shape.js';
import type { SeededRandom } from './seeded-random.js';

/** What every serialized Zeebe record starts with, more or less: the same keys in every entry. */
const RECORD_HEADER = Buffer.from(
  '\x8a\xa8position\xcf\xa9recordType\xa5EVENT\xa9valueType\xb0PROCESS_INSTANCE\xa6intent\xb1ELEMENT_ACTIVATED' +
    '\xabpartitionId\x01\xa8brokerVersion\xa58.5.4\xaerecordVersion\x01\xa5value\x8b\xadbpmnProcessId\xa5order' +
    '\xa7version\x03\xb4processDefinitionKey\xcf\xa9elementId\xabTask_Charge\xb2processInstanceKey\xcf',
  'latin1',
);

/**
 * `length` bytes of the given kind. `records` repeats the header for up to 60% of the entry and
 * fills the rest with random bytes (variables): data that compresses somewhat, neither all nor nothing.
 */
export function contentOf(kind: ContentKind, length: number, random: SeededRandom): Buffer {
  switch (kind) {
    case 'random':
      return random.bytes(length);
    case 'zeros':
      return Buffer.alloc(length);
    case 'records': {
      const headerLength = Math.min(RECORD_HEADER.length, Math.floor(length * 0.6));
      return Buffer.concat([RECORD_HEADER.subarray(0, headerLength), random.bytes(length - headerLength)]);
    }
  }
}
