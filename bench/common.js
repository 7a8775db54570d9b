/** Helpers shared by the bench scripts' Node sides. */
'use strict';

/** Runs `phases[name]()`, exiting 2 on an unknown phase and 1 (with the stack) on a failure. */
function runPhase(phases, name) {
  if (!phases[name]) {
    process.stderr.write(`unknown phase '${name}' (one of ${Object.keys(phases).join(', ')})\n`);
    process.exit(2);
  }
  phases[name]().catch((e) => {
    process.stderr.write(`${e.stack ?? e}\n`);
    process.exit(1);
  });
}

module.exports = { runPhase };
