// Loaded with `node --import` by test/fuzz/cli-mutations.test.ts: simulates a bug in the
// parser (an exception no input should cause) at the seam $RESUMESCOPE_INJECT names:
//   packet  FlowTable.onPacket throws on the 5th TCP packet (while a file is being read)
//   finish  FlowTable.finishAll throws (after every file was read)
import { FlowTable } from '../../../dist/parser/tcp/flow-table.js';
const where = process.env.RESUMESCOPE_INJECT;
if (where === 'packet') {
  const original = FlowTable.prototype.onPacket;
  let packets = 0;
  FlowTable.prototype.onPacket = function (...args) {
    if (++packets === 5) throw new TypeError('injected: cannot read properties of undefined (reading \'sequence\')');
    return original.apply(this, args);
  };
} else if (where === 'finish') {
  FlowTable.prototype.finishAll = function () {
    throw new RangeError('injected: invalid array length');
  };
}
