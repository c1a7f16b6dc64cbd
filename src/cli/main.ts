#!/usr/bin/env node
/**
 * The `ringstore` command: a table of subcommands, each in its own module
 * (loaded on demand, so `ringstore demo` does not load the HTTP server).
 */
import { packageJson } from './package-info.js';

const COMMANDS: Record<string, { summary: string; load: () => Promise<{ run: (argv: string[]) => Promise<number> }> }> = {
  serve: { summary: 'run the HTTP daemon (see ringstore serve --help)', load: () => import('./serve.js') },
  demo: { summary: 'drive the embedded store for a few seconds and print a summary (see ringstore demo --help)', load: () => import('./demo.js') },
  bench: { summary: 'run benchmark scenarios (see ringstore bench --help)', load: () => import('./bench.js') },
  profile: { summary: 'profile a scenario with clinic or Node (see ringstore profile --help)', load: () => import('./profile.js') },
};

function help(): string {
  const lines = Object.entries(COMMANDS).map(([name, c]) => `  ${name.padEnd(9)} ${c.summary}`);
  return `usage: ringstore <command> [options]\n\ncommands:\n${lines.join('\n')}\n  help      show this help\n\n  --version print the version\n`;
}

async function main(argv: string[]): Promise<number> {
  const [command = 'help', ...rest] = argv;
  if (command === 'help' || command === '--help' || command === '-h') {
    process.stdout.write(help());
    return 0;
  }
  if (command === '--version' || command === '-v' || command === 'version') {
    process.stdout.write(`${packageJson().version}\n`);
    return 0;
  }
  const entry = COMMANDS[command];
  if (entry === undefined) {
    process.stderr.write(`ringstore: unknown command "${command}"\n\n${help()}`);
    return 2;
  }
  return (await entry.load()).run(rest);
}

process.exitCode = await main(process.argv.slice(2));
