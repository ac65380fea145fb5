#!/usr/bin/env node
/**
 * The `tagverse` command. Every verb is a thin shell over a typed library function
 * (see src/index.ts); this file only wires verbs, global behaviour and exit codes.
 */
import { Command, CommanderError } from 'commander';
import { VERSION } from '../version.js';
import { registerBuild } from './commands/build.js';
import { registerCheck } from './commands/check.js';
import { registerDemo } from './commands/demo.js';
import { registerEvaluate } from './commands/evaluate.js';
import { registerExplain } from './commands/explain.js';
import { registerGenerate } from './commands/generate.js';
import { registerIngest } from './commands/ingest.js';
import { registerInit } from './commands/init.js';
import { registerKeys } from './commands/keys.js';
import { registerModels } from './commands/models.js';
import { registerProfile } from './commands/profile.js';
import { registerRecs } from './commands/recs.js';
import { registerSegment } from './commands/segment.js';
import { registerServe } from './commands/serve.js';
import { registerTags } from './commands/tags.js';
import { registerTrain } from './commands/train.js';
import { reportError } from './output.js';

export function buildProgram(): Command {
  const program = new Command('tagverse')
    .description('Turn customer event data into typed, explainable tags, predictions and actions.')
    .version(VERSION)
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride();
  registerInit(program);
  registerCheck(program);
  registerIngest(program);
  registerBuild(program);
  registerProfile(program);
  registerExplain(program);
  registerTags(program);
  registerSegment(program);
  registerTrain(program);
  registerEvaluate(program);
  registerModels(program);
  registerRecs(program);
  registerServe(program);
  registerKeys(program);
  registerGenerate(program);
  registerDemo(program);
  return program;
}

export async function main(args: readonly string[]): Promise<number> {
  const program = buildProgram();
  // `evaluate recs [name]` evaluates recommenders (commands/recs.ts), not a model named 'recs'.
  const argv = args[0] === 'evaluate' && args[1] === 'recs' ? ['evaluate-recs', ...args.slice(2)] : args;
  const json = argv.includes('--json');
  try {
    await program.parseAsync([...argv], { from: 'user' });
    return typeof process.exitCode === 'number' ? process.exitCode : 0;
  } catch (e) {
    if (e instanceof CommanderError) {
      // Help and version exit with 0; usage errors were already printed by commander.
      return e.exitCode;
    }
    return reportError(e, json);
  }
}

// `tagverse tags | head` closes the pipe early: that is not an error.
process.stdout.on('error', (e: NodeJS.ErrnoException) => {
  if (e.code === 'EPIPE') process.exit(0);
  throw e;
});

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (e: unknown) => {
    process.exitCode = reportError(e, false);
  },
);
